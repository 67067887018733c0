/**
 * `nb2prod push NB|PIPELINE_DIR --registry HOST[:PORT][/NAMESPACE]`: pushes the image built from the
 * pipeline as it is now. With `--serve [--run RUN]`: pushes a run's serving image instead, building
 * it as `nb2prod serve` does when it is not there. Stdout is one line, the pushed reference by
 * digest; progress goes to stderr.
 */
import * as path from 'path';
import { createDockerEngine } from '../core/docker/dockerode-engine';
import { parseRegistry, pushPipeline, RegistryArgumentError, RegistryTarget } from '../core/docker/push';
import { CommandSpec, ParsedArgs, PRODUCTIONIZE_OPTIONS, stringFlag } from './args';
import { PIPELINE_ARGUMENT, pipelineDir } from './build';
import { CliContext, EXIT, UsageError } from './context';
import { recordPushOutcome, workspaceDir } from './recording';

export const pushSpec: CommandSpec = {
  name: 'push',
  arguments: PIPELINE_ARGUMENT,
  summary: "push the built image, or with --serve a run's serving image, to a registry (prints it by digest)",
  options: [
    { flags: '--registry <host[:port][/namespace]>', help: "where to push (required); credentials as the docker CLI finds them" },
    { flags: '--serve', help: "push the run's serving image (built as nb2prod serve builds it when it is not there)" },
    { flags: '--run <run>', help: '--serve: run whose model to push: run id or lineage id (default: the latest run that succeeded)' },
    ...PRODUCTIONIZE_OPTIONS,
  ],
  handler: pushCommand,
};

async function pushCommand(args: ParsedArgs, ctx: CliContext): Promise<number> {
  // Checked before anything is productionized or contacted: a typo costs nothing.
  const registry = registryOf(args);
  if (args.flags.has('serve')) return pushServeCommand(args, ctx, registry);
  if (args.flags.has('run')) throw new UsageError('--run names the run whose serving image --serve pushes (add --serve)');
  const target = await pipelineDir(args, ctx);
  const outcome = await pushPipeline({
    dir: target.dir,
    engine: createDockerEngine(ctx.env),
    registry,
    env: ctx.env,
    // As build does: a productionized notebook's Dockerfile already names the base.
    baseImage: target.productionized ? undefined : stringFlag(args, 'base-image'),
    source: args.positionals[0],
    onProgress: ctx.err,
    signal: ctx.signal,
  });
  await recordPushOutcome(ctx, stringFlag(args, 'workspace'), target.dir, outcome);
  ctx.err(`pushed ${outcome.reference} in ${outcome.seconds.toFixed(1)}s`);
  ctx.out(outcome.digestReference);
  return EXIT.ok;
}

/** The serving image of a recorded run: nothing is productionized, the run's own version is what it serves. */
async function pushServeCommand(args: ParsedArgs, ctx: CliContext, registry: RegistryTarget): Promise<number> {
  for (const only of ['out', 'force', 'no-cache']) {
    if (args.flags.has(only)) throw new UsageError(`--${only} is for productionizing the pipeline; --serve pushes what a recorded run serves`);
  }
  const { pushServeImage } = await import('../core/serve/push');
  const objects = stringFlag(args, 'objects');
  const outcome = await pushServeImage({
    workspaceDir: workspaceDir(ctx, stringFlag(args, 'workspace')),
    target: path.resolve(ctx.cwd, args.positionals[0]),
    runId: stringFlag(args, 'run'),
    registry,
    baseImage: stringFlag(args, 'base-image'),
    objectsDir: objects === undefined ? undefined : path.resolve(ctx.cwd, objects),
    env: ctx.env,
    log: ctx.err,
    signal: ctx.signal,
  });
  ctx.err(`pushed ${outcome.reference} (model ${outcome.model}, run ${outcome.runId}) in ${outcome.seconds.toFixed(1)}s; lineage: push ${outcome.pushId}`);
  ctx.out(outcome.digestReference);
  return EXIT.ok;
}

function registryOf(args: ParsedArgs): RegistryTarget {
  const value = stringFlag(args, 'registry');
  if (value === undefined) throw new UsageError('--registry HOST[:PORT][/NAMESPACE] is required');
  try {
    return parseRegistry(value);
  } catch (e) {
    if (e instanceof RegistryArgumentError) throw new UsageError(e.message);
    throw e;
  }
}
