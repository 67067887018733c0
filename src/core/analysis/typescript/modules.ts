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
  const parsed = parseRegistrySpecifier(specifier);
  if (!parsed) return {};
  const full = parsed.registry === 'jsr' ? `jsr:${parsed.name}` : parsed.name;
  return { name: full, pin: parsed.version ? `${full}@${parsed.version}` : undefined };
}

export interface RegistrySpecifier {
  registry: 'npm' | 'jsr';
  name: string;
  version?: string;
  /** `/sub/path` after the package, or ''. */
  subpath: string;
}

/** Deno's `npm:` / `jsr:` specifiers: `npm:@scope/pkg@^1.2/sub`. */
export function parseRegistrySpecifier(specifier: string): RegistrySpecifier | undefined {
  const registry = specifier.startsWith('npm:') ? 'npm' : specifier.startsWith('jsr:') ? 'jsr' : undefined;
  if (!registry) return undefined;
  const match = /^((?:@[^/@]+\/)?[^/@]+)(?:@([^/]+))?(\/.*)?$/.exec(specifier.slice(4).replace(/^\//, ''));
  if (!match) return undefined;
  return { registry, name: match[1], version: match[2], subpath: match[3] ?? '' };
}

/** `lodash/fp` -> `lodash`; `@scope/pkg/sub` -> `@scope/pkg`. */
function packageName(specifier: string): string {
  const parts = specifier.split('/');
  return specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0];
}
