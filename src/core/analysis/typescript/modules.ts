/**
 * Module specifiers -> npm package names. Node builtins and relative/URL specifiers name no
 * package; `npm:` specifiers (Deno) carry a version that becomes a requirement pin.
 */
import { builtinModules } from 'module';

const NODE_BUILTINS = new Set(builtinModules);

export interface PackageRef {
  /** npm package name (`lodash`, `@scope/pkg`); undefined when the specifier names no package. */
  name?: string;
  /** `name@range` when the specifier pins one (`npm:zod@3` -> `zod@3`). */
  pin?: string;
}

export function packageOf(specifier: string): PackageRef {
  if (specifier.startsWith('node:')) return {};
  if (specifier.startsWith('npm:') || specifier.startsWith('jsr:')) return registryPackage(specifier);
  // Relative paths, absolute paths and URLs (`https://deno.land/...`) are files, not packages.
  if (/^[./]/.test(specifier) || /^[a-z][a-z0-9+.-]*:/i.test(specifier)) return {};
  const name = packageName(specifier);
  if (NODE_BUILTINS.has(name) || NODE_BUILTINS.has(specifier)) return {};
  return { name };
}

/**
 * `npm:@scope/pkg@^1.2/sub` -> `@scope/pkg` pinned `@scope/pkg@^1.2`. jsr packages keep their
 * `jsr:` prefix in name and pin: they are not npm names, and the generator maps them.
 */
function registryPackage(specifier: string): PackageRef {
  const registry = specifier.slice(0, 4);
  const rest = specifier.slice(4).replace(/^\//, '');
  const match = /^((?:@[^/@]+\/)?[^/@]+)(?:@([^/]+))?/.exec(rest);
  if (!match) return {};
  const [, name, version] = match;
  const full = registry === 'jsr:' ? `jsr:${name}` : name;
  return { name: full, pin: version ? `${full}@${version}` : undefined };
}

/** `lodash/fp` -> `lodash`; `@scope/pkg/sub` -> `@scope/pkg`. */
function packageName(specifier: string): string {
  const parts = specifier.split('/');
  return specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0];
}
