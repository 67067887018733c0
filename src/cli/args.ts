import { UsageError } from './context';

export interface ParsedArgs {
  positionals: string[];
  flags: Map<string, string | true>;
  /** Repeatable options such as `--param k=v`. */
  lists: Map<string, string[]>;
}

/**
 * Small, strict argument parser: unknown flags are usage errors (exit 2), never ignored.
 * `spec` maps flag name -> 'bool' | 'value' | 'list'.
 */
export function parseArgs(argv: string[], spec: Record<string, 'bool' | 'value' | 'list'>): ParsedArgs {
  const parsed: ParsedArgs = { positionals: [], flags: new Map(), lists: new Map() };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--') {
      parsed.positionals.push(...argv.slice(i + 1));
      break;
    }
    if (!arg.startsWith('--') || arg === '-') {
      parsed.positionals.push(arg);
      continue;
    }
    const eq = arg.indexOf('=');
    const name = arg.slice(2, eq === -1 ? undefined : eq);
    const kind = spec[name];
    if (!kind) throw new UsageError(`unknown option --${name}`);
    if (kind === 'bool') {
      if (eq !== -1) throw new UsageError(`--${name} takes no value`);
      parsed.flags.set(name, true);
      continue;
    }
    let value: string | undefined = eq === -1 ? argv[++i] : arg.slice(eq + 1);
    if (value === undefined) throw new UsageError(`--${name} needs a value`);
    if (kind === 'value') parsed.flags.set(name, value);
    else parsed.lists.set(name, [...(parsed.lists.get(name) ?? []), value]);
  }
  return parsed;
}

export function stringFlag(args: ParsedArgs, name: string): string | undefined {
  const v = args.flags.get(name);
  return typeof v === 'string' ? v : undefined;
}
