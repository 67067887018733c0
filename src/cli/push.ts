/**
 * `nb2prod push NB|PIPELINE_DIR --registry HOST[:PORT][/NAMESPACE]`: pushes the image built from the
 * pipeline as it is now. Stdout is one line, the pushed reference by digest; progress goes to stderr.
 */
import { createDockerEngine } from '../core/docker/dockerode-engine';
import { parseRegistry, pushPipeline, RegistryArgumentError, RegistryTarget } from '../core/docker/push';
import { CommandSpec, ParsedArgs, PRODUCTIONIZE_OPTIONS, stringFlag } from './args';
import { PIPELINE_ARGUMENT, pipelineDir } from './build';
import { CliContext, EXIT, UsageError } from './context';
import { recordPushOutcome } from './recording';

export const pushSpec: CommandSpec = {
  name: 'push',
  arguments: PIPELINE_ARGUMENT,
  summary: 'push the built image to a registry (prints it by digest)',
  options: [
    { flags: '--registry <host[:port][/namespace]>', help: "where to push (required); credentials as the docker CLI finds them" },
    ...PRODUCTIONIZE_OPTIONS,
  ],
  handler: pushCommand,
};

async function pushCommand(args: ParsedArgs, ctx: CliContext): Promise<number> {
  // Checked before anything is productionized or contacted: a typo costs nothing.
  const registry = registryOf(args);
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
