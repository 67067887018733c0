/**
 * The command line as commander parses it: every command and subcommand answers `--help`,
 * unknown options and missing arguments are usage errors (exit 2), and handlers get the
 * parsed values (src/cli/args.ts) without knowing commander.
 */
import { Command, CommanderError, Option } from 'commander';
import type { CommandSpec, ParsedArgs } from './args';
import { CliContext, EXIT } from './context';

export const HELP_WIDTH = 100;

export interface Program {
  command: Command;
  /** Set by the action that ran; undefined when commander stopped first (help, usage error). */
  result?: { spec: CommandSpec; args: ParsedArgs };
}

export function buildProgram(specs: CommandSpec[], ctx: CliContext): Program {
  const program: Program = { command: new Command('nb2prod') };
  const root = program.command;
  root
    .description('Turn a tagged Jupyter notebook into a modular, containerized pipeline with experiment lineage.')
    // Answered in main() before parsing; declared here so the help lists it.
    .option('-V, --version', 'print the version')
    .helpOption('-h, --help', 'show help for a command')
    .addHelpCommand(false)
    .configureHelp({ helpWidth: HELP_WIDTH })
    .configureOutput({
      writeOut: (text) => ctx.out(text.replace(/\n$/, '')),
      writeErr: (text) => ctx.err(text.replace(/\n$/, '')),
      getOutHelpWidth: () => HELP_WIDTH,
      getErrHelpWidth: () => HELP_WIDTH,
    })
    .showHelpAfterError('(run with --help for usage)')
    // `lineage verify --json`: the subcommand's own --json, not the parent's.
    .enablePositionalOptions()
    .exitOverride();
  for (const spec of specs) addCommand(root, spec, program);
  root.addHelpText('after', "\nRun 'nb2prod <command> --help' for a command's options.\nExit codes: 0 ok, 1 the input cannot be processed, 2 usage, 130 cancelled.");
  return program;
}

function addCommand(parent: Command, spec: CommandSpec, program: Program): void {
  const command = parent.command(spec.name).description(spec.summary).allowExcessArguments(false);
  if (spec.arguments) command.arguments(spec.arguments);
  const lists = new Set<string>();
  for (const option of spec.options ?? []) {
    const made = new Option(option.flags, option.help);
    if (option.choices) made.choices(option.choices);
    if (option.repeat) {
      lists.add(made.attributeName());
      made.argParser((value: string, previous: string[] | undefined) => [...(previous ?? []), value]);
    }
    command.addOption(made);
  }
  if (spec.subcommands) command.enablePositionalOptions();
  for (const sub of spec.subcommands ?? []) addCommand(command, sub, program);
  if (!spec.handler) return;
  command.action(() => {
    const args = parsedArgs(command, lists);
    // `lineage --json verify` as well as `lineage verify --json`.
    if (command.parent && command.parent !== program.command) {
      for (const [name, value] of parsedArgs(command.parent, new Set()).flags) if (!args.flags.has(name)) args.flags.set(name, value);
    }
    program.result = { spec, args };
  });
}

/** Commander's camelCased option values, back under the names users type. */
function parsedArgs(command: Command, lists: Set<string>): ParsedArgs {
  const args: ParsedArgs = { positionals: command.processedArgs.filter((a) => a !== undefined).flat(), flags: new Map(), lists: new Map() };
  const values = command.opts();
  for (const option of command.options) {
    const key = option.attributeName();
    const value = values[key];
    if (value === undefined) continue;
    const name = option.long!.replace(/^--/, '');
    if (option.negate) {
      // `--no-cache` sets cache=false; handlers ask for the flag as typed.
      if (value === false) args.flags.set(name, true);
    } else if (lists.has(key)) args.lists.set(name, value as string[]);
    else args.flags.set(name, value === true ? true : String(value));
  }
  return args;
}

/** The exit code for commander stopping by itself: help and version are fine, anything else is usage. */
export function commanderExit(error: CommanderError): number {
  return error.exitCode === 0 ? EXIT.ok : EXIT.usage;
}
