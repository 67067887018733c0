/** `nb2prod`: a thin shell over src/core. Each command lives in src/cli/<name>.ts; commander parses (src/cli/program.ts). */
import { CommanderError } from 'commander';
import type { CommandSpec } from './cli/args';
import { CliContext, EXIT, UsageError } from './cli/context';
import { buildProgram, commanderExit } from './cli/program';
import { Nb2prodError, CancelledError } from './core/errors';
import { PlanError } from './core/pipeline';
import { planSpec } from './cli/plan';
import { productionizeSpec } from './cli/productionize';
import { buildSpec } from './cli/build';
import { runSpec } from './cli/run';
import { lineageSpec } from './cli/lineage';
import { exportSpec } from './cli/export';
import { pushSpec } from './cli/push';
import { reproduceSpec } from './cli/reproduce';
import { checkoutSpec, gcSpec } from './cli/store';
import { serveSpec } from './cli/serve';

export const COMMANDS: CommandSpec[] = [planSpec, productionizeSpec, buildSpec, runSpec, reproduceSpec, pushSpec, serveSpec, exportSpec, lineageSpec, checkoutSpec, gcSpec];

export async function main(argv: string[], ctx: CliContext): Promise<number> {
  if (argv.length === 1 && (argv[0] === '--version' || argv[0] === '-V')) {
    // Read only when asked: the manifest is not bundled, and tests run this file from out/.
    ctx.out(require('../package.json').version);
    return EXIT.ok;
  }
  const program = buildProgram(COMMANDS, ctx);
  if (argv.length === 0) {
    program.command.outputHelp({ error: true });
    return EXIT.usage;
  }
  try {
    await program.command.parseAsync(argv, { from: 'user' });
  } catch (e) {
    if (e instanceof CommanderError) return commanderExit(e);
    throw e;
  }
  if (!program.result?.spec.handler) return EXIT.usage;
  const { spec, args } = program.result;
  try {
    return await spec.handler!(args, ctx);
  } catch (e) {
    return reportError(e, commandName(argv, spec), ctx);
  }
}

/** `lineage trace` for a subcommand, as typed. */
function commandName(argv: string[], spec: CommandSpec): string {
  const top = COMMANDS.find((c) => c.name === argv[0]);
  return top && top !== spec ? `${top.name} ${spec.name}` : spec.name;
}

function reportError(e: unknown, command: string, ctx: CliContext): number {
  if (e instanceof UsageError) {
    ctx.err(`nb2prod ${command}: ${e.message}`);
    return EXIT.usage;
  }
  if (e instanceof CancelledError || ctx.signal.aborted) {
    ctx.err(`nb2prod ${command}: cancelled`);
    return EXIT.cancelled;
  }
  if (e instanceof PlanError) {
    for (const line of e.lines()) ctx.err(line);
    return EXIT.failed;
  }
  if (e instanceof Nb2prodError) {
    ctx.err(`error: ${e.describe()}`);
    return EXIT.failed;
  }
  // Unexpected: keep the stack, it is a bug.
  ctx.err(`nb2prod ${command}: internal error: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
  return EXIT.failed;
}

if (require.main === module) {
  const controller = new AbortController();
  let interrupted = 0;
  process.on('SIGINT', () => {
    // The first Ctrl-C stops every step and removes its container; quitting before that is done
    // would leave them running, so only a third one quits at once.
    interrupted++;
    if (interrupted === 2) process.stderr.write('nb2prod: stopping the running steps; press Ctrl-C again to quit without waiting\n');
    if (interrupted > 2) process.exit(EXIT.cancelled);
    controller.abort();
  });
  process.on('SIGTERM', () => controller.abort());
  const ctx: CliContext = {
    cwd: process.cwd(),
    env: process.env,
    out: (line) => process.stdout.write(line + '\n'),
    err: (line) => process.stderr.write(line + '\n'),
    signal: controller.signal,
  };
  main(process.argv.slice(2), ctx).then(
    (code) => {
      process.exitCode = controller.signal.aborted ? EXIT.cancelled : code;
    },
    (e) => {
      process.stderr.write(String(e) + '\n');
      process.exitCode = EXIT.failed;
    },
  );
}
