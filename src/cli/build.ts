/**
 * `nb2prod build NB|PIPELINE_DIR [--base-image REF] [--out DIR] [--force] [--verbose] [--json]`
 * A notebook is productionized first; the image is built only when its context changed.
 */
import * as fs from 'fs';
import * as path from 'path';
import { buildPipeline, BuildOutcome } from '../core/docker/build';
import { createDockerEngine } from '../core/docker/dockerode-engine';
import type { ContainerEngine } from '../core/docker/engine';
import type { BuildEvent } from '../core/docker/progress';
import type { ProductionizeResult } from '../core/pipeline';
import { CommandSpec, OPTIONS, ParsedArgs, PRODUCTIONIZE_OPTIONS, stringFlag } from './args';
import { CliContext, EXIT, UsageError } from './context';
import { productionizeForCli } from './productionize';
import { recordBuildOutcome } from './recording';

/** A notebook or a pipeline directory: what build, run, push and export take. */
export const PIPELINE_ARGUMENT = '<notebook|dir>';

export const buildSpec: CommandSpec = {
  name: 'build',
  arguments: PIPELINE_ARGUMENT,
  summary: 'build the container image through the Docker Engine API (only when its context changed)',
  options: [...PRODUCTIONIZE_OPTIONS, OPTIONS.verbose, OPTIONS.json],
  handler: buildCommand,
};

async function buildCommand(args: ParsedArgs, ctx: CliContext): Promise<number> {
  const target = await pipelineDir(args, ctx);
  const outcome = await buildForCli(target, args, ctx, createDockerEngine(ctx.env));
  await recordBuildOutcome(ctx, stringFlag(args, 'workspace'), target.dir, outcome);
  if (args.flags.has('json')) ctx.out(JSON.stringify(buildJson(outcome), null, 2));
  else if (outcome.status === 'succeeded' || outcome.status === 'up-to-date') {
    ctx.out(`${outcome.status === 'up-to-date' ? 'up to date' : 'built'} ${outcome.imageId}`);
    for (const tag of outcome.tags) ctx.out(tag);
  }
  return buildExitCode(outcome);
}

/** A notebook (`.ipynb` file) is productionized first; a directory is used as it is. */
export async function pipelineDir(args: ParsedArgs, ctx: CliContext): Promise<{ dir: string; productionized?: ProductionizeResult }> {
  const target = path.resolve(ctx.cwd, args.positionals[0]);
  const stat = await fs.promises.stat(target).catch(() => undefined);
  if (!stat) throw new UsageError(`${args.positionals[0]} does not exist`);
  if (stat.isDirectory()) return { dir: target };
  const result = await productionizeForCli(target, args, ctx);
  ctx.err(`pipeline: ${result.outDir}`);
  return { dir: result.outDir, productionized: result };
}

/** Builds with progress on stderr; failures are reported here, the outcome is returned for lineage. */
export async function buildForCli(
  target: { dir: string; productionized?: ProductionizeResult },
  args: ParsedArgs,
  ctx: CliContext,
  engine: ContainerEngine,
): Promise<BuildOutcome> {
  const verbose = args.flags.has('verbose');
  const outcome = await buildPipeline({
    dir: target.dir,
    engine,
    // A productionized notebook's Dockerfile already names this base; a directory's is overridden.
    baseImage: target.productionized ? undefined : stringFlag(args, 'base-image'),
    signal: ctx.signal,
    onProgress: (event) => printProgress(event, verbose, ctx),
  });
  if (outcome.status === 'up-to-date') ctx.err(`image up to date (context ${outcome.contextHash.slice(0, 12)}): nothing to build`);
  if (outcome.status === 'succeeded') {
    ctx.err(`built in ${outcome.seconds.toFixed(1)}s, ${outcome.cacheHits}/${outcome.steps.length} steps from cache, context ${formatBytes(outcome.sentBytes)}`);
  }
  if (outcome.status === 'failed' && outcome.error) ctx.err(`error: ${outcome.error.describe()}`);
  return outcome;
}

export function buildExitCode(outcome: BuildOutcome): number {
  if (outcome.status === 'cancelled') return EXIT.cancelled;
  return outcome.status === 'failed' ? EXIT.failed : EXIT.ok;
}

function printProgress(event: BuildEvent, verbose: boolean, ctx: CliContext): void {
  if (event.kind === 'step') ctx.err(`step ${event.step.index}/${event.step.total}: ${event.step.instruction}`);
  else if (event.kind === 'cached') ctx.err('  (cached)');
  else if (event.kind === 'pull') ctx.err(`  ${event.id ? `${event.id}: ` : ''}${event.status}`);
  else if (verbose) ctx.err(`  ${event.line}`);
}

function buildJson(o: BuildOutcome) {
  return {
    status: o.status,
    imageId: o.imageId,
    tags: o.tags,
    contextHash: o.contextHash,
    dockerfileHash: o.dockerfileHash,
    baseImage: o.baseImage,
    seconds: o.seconds,
    contextBytes: o.contextBytes,
    sentBytes: o.sentBytes,
    cacheHits: o.cacheHits,
    steps: o.steps.length,
    error: o.error?.describe(),
  };
}

function formatBytes(n: number): string {
  return n < 1024 * 1024 ? `${(n / 1024).toFixed(1)} KB` : `${(n / 1024 / 1024).toFixed(1)} MB`;
}
