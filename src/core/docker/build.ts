/**
 * Building a pipeline's image. The outcome carries everything a lineage `build` record needs,
 * whether the build succeeded, was up to date, failed or was cancelled.
 *
 * Context hash: computed over every file sent (Dockerfile and .dockerignore included) and set
 * as the `nb2prod.context.hash` label through the build API's `labels` option, because a label
 * written inside the Dockerfile cannot hash the context that contains it. The daemon applies
 * API labels as a last step, so they never invalidate cached layers.
 */
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import { CancelledError, Nb2prodError } from '../errors';
import { LABELS, validateBaseImage } from '../generate/dockerfile';
import { BuildContext, collectContext, packContext } from './context';
import { BuildError, ContainerEngine, EngineStreamError } from './engine';
import { BuildEvent, BuildStep, BuildTracker } from './progress';
import { imageRepository, PipelineManifest, readManifest } from './pipeline-dir';

export interface BuildOptions {
  dir: string;
  engine: ContainerEngine;
  /** Build on another base than the Dockerfile on disk names (its FROM is replaced in memory). */
  baseImage?: string;
  /** Image repository; defaults to `nb2prod/<slug>`. */
  repository?: string;
  buildArgs?: Record<string, string>;
  /** Build every layer again and skip the up-to-date check (cold builds, benchmarks). */
  noCache?: boolean;
  onProgress?: (event: BuildEvent) => void;
  signal?: AbortSignal;
}

export type BuildStatus = 'succeeded' | 'up-to-date' | 'failed' | 'cancelled';

export interface BuildOutcome {
  status: BuildStatus;
  manifest: PipelineManifest;
  imageId?: string;
  tags: string[];
  contextHash: string;
  dockerfileHash: string;
  baseImage: string;
  seconds: number;
  /** Bytes of the files in the context. */
  contextBytes: number;
  contextFiles: number;
  /** Tar bytes actually sent to the engine (0 when up to date). */
  sentBytes: number;
  steps: BuildStep[];
  cacheHits: number;
  logTail: string[];
  error?: Nb2prodError;
}

export async function buildPipeline(opts: BuildOptions): Promise<BuildOutcome> {
  const started = Date.now();
  const dir = path.resolve(opts.dir);
  const manifest = await readManifest(dir);
  const { context, dockerfile } = await pipelineContext(dir, opts.baseImage);
  const contextHash = context.hash;
  const repository = opts.repository ?? imageRepository(manifest.slug);
  const tags = [`${repository}:${contextHash.slice(0, 12)}`, `${repository}:latest`];
  const tracker = new BuildTracker();
  const outcome = (status: BuildStatus, extra: Partial<BuildOutcome> = {}): BuildOutcome => ({
    status,
    manifest,
    tags,
    contextHash,
    dockerfileHash: sha256(dockerfile),
    baseImage: baseImageOf(dockerfile),
    seconds: (Date.now() - started) / 1000,
    contextBytes: context.bytes,
    contextFiles: context.files.length,
    sentBytes: 0,
    steps: tracker.steps,
    cacheHits: tracker.cacheHits,
    logTail: tracker.tail,
    ...extra,
  });

  await opts.engine.info(opts.signal);
  // Same context hash = same inputs: no build at all, only make sure the tags point at it.
  const existing = opts.noCache ? [] : await opts.engine.findImages({ [LABELS.contextHash]: contextHash });
  if (existing.length > 0) {
    const image = existing[0];
    const missing = tags.filter((t) => !image.tags.includes(t));
    if (missing.length) await opts.engine.tag(image.id, missing);
    return outcome('up-to-date', { imageId: image.id });
  }

  let sentBytes = 0;
  const tar = packContext(context, (n) => (sentBytes += n));
  try {
    const imageId = await opts.engine.build(
      tar,
      // One label: the classic builder adds a step per build-time label.
      { tags, labels: { [LABELS.contextHash]: contextHash }, buildArgs: opts.buildArgs, noCache: opts.noCache },
      (message) => {
        for (const event of tracker.push(message)) opts.onProgress?.(event);
      },
      opts.signal,
    );
    for (const event of tracker.end()) opts.onProgress?.(event);
    return outcome('succeeded', { imageId, sentBytes });
  } catch (err) {
    tar.destroy();
    await removeLeftovers(opts.engine, tracker.containers);
    if (err instanceof CancelledError) return outcome('cancelled', { sentBytes, error: err });
    if (err instanceof EngineStreamError) {
      const error = new BuildError(err.message, tracker.describeCurrent(), [...tracker.tail]);
      return outcome('failed', { sentBytes, error });
    }
    throw err;
  }
}

/**
 * What a build of `dir` sends, and so its context hash: the files on disk, with the Dockerfile's
 * base replaced in memory when `baseImage` is given. Push finds the image built from it by that hash.
 */
export async function pipelineContext(dir: string, baseImage?: string): Promise<{ context: BuildContext; dockerfile: string }> {
  const onDisk = await readDockerfile(dir);
  const dockerfile = baseImage ? withBaseImage(onDisk, baseImage) : onDisk;
  const context = await collectContext(dir, dockerfile !== onDisk ? { Dockerfile: dockerfile } : {});
  return { context, dockerfile };
}

/**
 * After an abort the daemon stops the build and removes the step's container on its own, but
 * asynchronously; make sure it is gone before we report, so nothing is left behind.
 */
export async function removeLeftovers(engine: ContainerEngine, started: string[]): Promise<void> {
  if (!started.length) return;
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    const existing = new Set(await engine.listContainers().catch(() => [] as string[]));
    const left = started.filter((prefix) => [...existing].some((id) => id.startsWith(prefix)));
    if (!left.length) return;
    await Promise.all(left.map((id) => engine.removeContainer(id).catch(() => undefined)));
    await new Promise((r) => setTimeout(r, 200));
  }
}

async function readDockerfile(dir: string): Promise<string> {
  try {
    return await fs.promises.readFile(path.join(dir, 'Dockerfile'), 'utf8');
  } catch {
    throw new Nb2prodError(`${dir} has no Dockerfile; regenerate the pipeline with nb2prod productionize`);
  }
}

/** The Dockerfile with its first FROM (and the base-name label) naming `ref` instead. */
function withBaseImage(dockerfile: string, ref: string): string {
  const base = validateBaseImage(ref);
  const current = baseImageOf(dockerfile);
  if (!current) throw new Nb2prodError('the Dockerfile has no FROM line to replace');
  return dockerfile
    .replace(/^(\s*FROM\s+(?:--\S+\s+)*)(\S+)/im, (_, from: string) => from + base)
    .replace(/(org\.opencontainers\.image\.base\.name=)"[^"\n]*"/, (_, key: string) => `${key}"${base}"`);
}

function baseImageOf(dockerfile: string): string {
  const from = /^\s*FROM\s+(?:--\S+\s+)*(\S+)/im.exec(dockerfile);
  return from ? from[1] : '';
}

function sha256(text: string): string {
  return crypto.createHash('sha256').update(text).digest('hex');
}
