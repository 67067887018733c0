/**
 * Deno's `npm:` and `jsr:` specifiers under Node: the package is installed from package.json
 * and imported by its bare name. jsr packages install through jsr's npm compatibility
 * registry, where `@std/path` is published as `@jsr/std__path`.
 */
import { parseRegistrySpecifier } from '../../analysis/typescript/modules';

export type Runtime = 'node' | 'deno';

export function specifierFor(specifier: string, runtime: Runtime): string {
  if (runtime === 'deno') return specifier;
  const parsed = parseRegistrySpecifier(specifier);
  return parsed ? parsed.name + parsed.subpath : specifier;
}

/** package.json `dependencies` entry for a module name from the plan (`lodash`, `jsr:@std/path`) and its pin, if any. */
export function dependencyEntry(module: string, pinnedRange: string | undefined): [string, string] {
  if (!module.startsWith('jsr:')) return [module, pinnedRange ?? '*'];
  const name = module.slice(4);
  const npmName = `@jsr/${name.slice(1).replace('/', '__')}`;
  return [name, `npm:${npmName}@${pinnedRange ?? '*'}`];
}

export function usesJsr(modules: string[]): boolean {
  return modules.some((m) => m.startsWith('jsr:'));
}
