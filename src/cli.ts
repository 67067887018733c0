/** `nb2prod`: a thin shell over src/core. Each subcommand lives in src/cli/<name>.ts. */
import { CliContext, CommandHandler, EXIT, UsageError } from './cli/context';
import { Nb2prodError, CancelledError } from './core/errors';
import { PlanError } from './core/pipeline';
import { planCommand } from './cli/plan';
import { productionizeCommand } from './cli/productionize';
import { buildCommand } from './cli/build';
import { runCommand } from './cli/run';
import { lineageCommand } from './cli/lineage';
import { exportCommand } from './cli/export';

const COMMANDS: Record<string, { handler: CommandHandler; summary: string }> = {
  plan: { handler: planCommand, summary: 'plan NB [--json]                      show the steps, their inputs and outputs' },
  productionize: {
    handler: productionizeCommand,
    summary: 'productionize NB [--out DIR] [--force] write the pipeline package',
  },
  build: { handler: buildCommand, summary: 'build NB|DIR [--base-image REF]       build the container image' },
  run: { handler: runCommand, summary: 'run NB|DIR [--param k=v] [--local]    run the pipeline' },
  export: { handler: exportCommand, summary: 'export kfp|argo NB|DIR [--image REF] [--out FILE] [--volume CLAIM] write a KFP or Argo pipeline' },
  lineage: { handler: lineageCommand, summary: 'lineage [NB] [--json] | diff | trace | verify' },
};

export function usage(): string {
  return ['usage: nb2prod <command> [options]', '', ...Object.values(COMMANDS).map((c) => `  ${c.summary}`)].join('\n');
}

export async function main(argv: string[], ctx: CliContext): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    (name ? ctx.out : ctx.err)(usage());
    return name ? EXIT.ok : EXIT.usage;
  }
  if (name === '--version') {
    ctx.out(require('../package.json').version);
    return EXIT.ok;
  }
  const command = COMMANDS[name];
  if (!command) {
    ctx.err(`nb2prod: unknown command '${name}'\n${usage()}`);
    return EXIT.usage;
  }
  try {
    return await command.handler(rest, ctx);
  } catch (e) {
    return reportError(e, name, ctx);
  }
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
    if (++interrupted > 1) process.exit(EXIT.cancelled);
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
