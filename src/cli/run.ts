/**
 * `nb2prod run NB|PIPELINE_DIR [--param k=v]... [--only STEP] [--from STEP] [--artifacts DIR]
 *  [--run-id ID] [--jobs N] [--local [--python PY]] [--base-image REF] [--json]`
 * In a container by default (built first when its context changed), or with a local
 * interpreter (--python, NB2PROD_PYTHON, else python3). Steps that do not depend on each other
 * run at the same time, each in its own container or process (--jobs). Prints the run id and
 * where run.json is.
 */
import { createDockerEngine } from '../core/docker/dockerode-engine';
import { lineSplitter } from '../core/docker/lines';
import { RunOptions, RunOutcome, runInContainer, runLocal } from '../core/docker/run';
import { CommandSpec, OPTIONS, ParsedArgs, PRODUCTIONIZE_OPTIONS, stringFlag } from './args';
import { buildExitCode, buildForCli, PIPELINE_ARGUMENT, pipelineDir } from './build';
import { CliContext, EXIT, UsageError } from './context';
import { objectsOf, recordBuildOutcome, recordRunOutcome } from './recording';

export const runSpec: CommandSpec = {
  name: 'run',
  arguments: PIPELINE_ARGUMENT,
  summary: 'run the pipeline in its image (built first when needed), or with a local interpreter',
  options: [
    { flags: '--param <name=value>', help: 'override a parameter (repeatable; JSON values accepted)', repeat: true },
    { flags: '--only <step>', help: 'run this step only' },
    { flags: '--from <step>', help: 'run from this step on' },
    { flags: '--artifacts <dir>', help: 'artifacts directory (default: <pipeline>/artifacts)' },
    { flags: '--run-id <id>', help: 'run id (default: generated)' },
    { flags: '--jobs <n>', help: 'steps at a time, each in its own container or process (default: CPUs; 1: all in one process)' },
    OPTIONS.local,
    OPTIONS.python,
    ...PRODUCTIONIZE_OPTIONS,
    OPTIONS.verbose,
    OPTIONS.json,
  ],
  handler: runCommand,
};

async function runCommand(args: ParsedArgs, ctx: CliContext): Promise<number> {
  if (args.flags.has('python') && !args.flags.has('local')) throw new UsageError('--python only applies with --local');
  const target = await pipelineDir(args, ctx);
  const output = lineWriter(ctx);
  const options: RunOptions = {
    dir: target.dir,
    params: args.lists.get('param') ?? [],
    only: stringFlag(args, 'only'),
    from: stringFlag(args, 'from'),
    artifactsDir: stringFlag(args, 'artifacts'),
    runId: stringFlag(args, 'run-id'),
    jobs: jobsOption(stringFlag(args, 'jobs')),
    onOutput: output.write,
    signal: ctx.signal,
    objects: objectsOf(ctx, args).dir,
  };

  const workspace = stringFlag(args, 'workspace');
  let outcome: RunOutcome;
  let built: { id: string; imageId?: string } | undefined;
  if (args.flags.has('local')) {
    const python = stringFlag(args, 'python') ?? ctx.env.NB2PROD_PYTHON ?? 'python3';
    outcome = await runLocal({ ...options, python, env: ctx.env });
  } else {
    const engine = createDockerEngine(ctx.env);
    const build = await buildForCli(target, args, ctx, engine);
    const buildId = await recordBuildOutcome(ctx, workspace, target.dir, build);
    if (build.status !== 'succeeded' && build.status !== 'up-to-date') return buildExitCode(build);
    outcome = await runInContainer({ ...options, engine, image: build.tags[0] });
    built = { id: buildId, imageId: build.imageId };
  }
  output.flush();
  await recordRunOutcome(ctx, args, target.dir, outcome, built);

  if (args.flags.has('json')) {
    ctx.out(JSON.stringify(runJson(outcome), null, 2));
  } else {
    ctx.out(`run ${outcome.runId} ${outcome.status}${outcome.record ? `; run.json: ${outcome.runJson}` : ''}`);
  }
  if (outcome.status === 'cancelled') return EXIT.cancelled;
  if (outcome.error) ctx.err(`error: ${outcome.error.describe()}`);
  if (outcome.status === 'succeeded') return EXIT.ok;
  // The package exits 2 before it starts a run when its arguments are wrong (`--param epochs=many`):
  // a usage error of this command too, not a failed run.
  return outcome.exitCode === EXIT.usage && !outcome.record ? EXIT.usage : EXIT.failed;
}

/** The pipeline's output, line by line on the matching stream. */
export function lineWriter(ctx: CliContext) {
  return lineSplitter((line, stream) => (stream === 'stdout' ? ctx.out(line) : ctx.err(line)));
}

function jobsOption(value: string | undefined): number | 'auto' {
  if (value === undefined) return 'auto';
  if (!/^[1-9][0-9]*$/.test(value)) throw new UsageError(`--jobs expects a whole number of at least 1, got '${value}'`);
  return Number(value);
}

function runJson(o: RunOutcome) {
  return {
    runId: o.runId,
    status: o.status,
    image: o.image,
    exitCode: o.exitCode,
    runJson: o.record ? o.runJson : undefined,
    seconds: o.seconds,
    steps: o.record?.steps ?? [],
    artifacts: o.record?.artifacts ?? [],
    metrics: o.record?.metrics ?? {},
    error: o.error?.describe(),
  };
}
