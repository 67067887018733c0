/**
 * What a command handler receives: the command line as parsed by commander (src/cli/program.ts),
 * keyed by the option names users type (`base-image`, not `baseImage`).
 */
export interface ParsedArgs {
  positionals: string[];
  flags: Map<string, string | true>;
  /** Repeatable options such as `--param k=v`. */
  lists: Map<string, string[]>;
}

export function stringFlag(args: ParsedArgs, name: string): string | undefined {
  const v = args.flags.get(name);
  return typeof v === 'string' ? v : undefined;
}

/** One option of a command: commander flag syntax (`--out <dir>`), help text, and whether it repeats. */
export interface OptionSpec {
  flags: string;
  help: string;
  repeat?: boolean;
  /** The only values the option accepts (anything else is a usage error). */
  choices?: readonly string[];
}

/** A command (or a subcommand of one): its argument syntax, options and handler. */
export interface CommandSpec {
  name: string;
  /** Commander argument syntax: `<notebook>`, `[notebook]`, `<v1> <v2>`. */
  arguments?: string;
  summary: string;
  options?: OptionSpec[];
  handler?: (args: ParsedArgs, ctx: import('./context').CliContext) => Promise<number>;
  subcommands?: CommandSpec[];
}

/** Options several commands share: one definition each, so their help reads the same everywhere. */
export const OPTIONS = {
  out: { flags: '--out <dir>', help: 'pipeline directory (default: pipelines/<notebook-slug>)' },
  force: { flags: '--force', help: 'overwrite generated files you edited' },
  baseImage: { flags: '--base-image <ref>', help: 'base image (default: NB2PROD_BASE_IMAGE, else the built-in one)' },
  noCache: { flags: '--no-cache', help: 'do not read or write the analysis cache' },
  workspace: { flags: '--workspace <dir>', help: 'workspace holding .nb2prod/lineage.jsonl (default: current directory)' },
  objects: { flags: '--objects <dir>', help: 'object store (default: NB2PROD_OBJECTS, else <workspace>/.nb2prod/objects)' },
  json: { flags: '--json', help: 'print JSON' },
  verbose: { flags: '--verbose', help: 'print the whole build log' },
  local: { flags: '--local', help: 'run with a local interpreter instead of the image' },
  python: { flags: '--python <path>', help: 'interpreter for --local (default: NB2PROD_PYTHON, else python3)' },
} satisfies Record<string, OptionSpec>;

/** What `productionize` and the commands that productionize a notebook first accept. */
export const PRODUCTIONIZE_OPTIONS: OptionSpec[] = [OPTIONS.out, OPTIONS.force, OPTIONS.baseImage, OPTIONS.noCache, OPTIONS.workspace, OPTIONS.objects];
