/**
 * `push --serve`: a run's serving image, built the way `nb2prod serve` builds it (skew guard
 * included) or reused, pushed as `HOST[:PORT][/NAMESPACE]/<slug>-serve:<hash>` and recorded as a
 * push under the serve record that describes the image. No server is started: when no serving of
 * this image is recorded, a serve record marked `served: false` describes it instead, so that
 * `lineage trace <pushed reference>` leads to the run, its version and the cells all the same.
 */
import * as path from 'path';
import { createDockerEngine } from '../docker/dockerode-engine';
import type { ContainerEngine } from '../docker/engine';
import { pushImage, RegistryTarget } from '../docker/push';
import { CancelledError } from '../errors';
import { latestServe, recordPush, recordServe } from '../lineage';
import { serveImageName, ServeImage } from './image';
import { buildServeImage, openRunBundle, serveBaseImage, serveFacts } from './prepare';

export interface ServePushOptions {
  workspaceDir: string;
  /** A notebook or its pipeline directory. */
  target: string;
  /** A run id or lineage record id (prefix); default: the notebook's latest run that succeeded. */
  runId?: string;
  registry: RegistryTarget;
  /** Base of the serving image; default the pipeline's. */
  baseImage?: string;
  engine?: ContainerEngine;
  env?: NodeJS.ProcessEnv;
  objectsDir?: string;
  /** Build steps and push progress. */
  log?: (line: string) => void;
  signal?: AbortSignal;
  retryBudgetMs?: number;
}

export interface ServePushOutcome {
  model: string;
  runId: string;
  image: ServeImage;
  /** `HOST/.../<slug>-serve:<hash>` */
  reference: string;
  digest: string;
  /** `HOST/.../<slug>-serve@sha256:...`: what to deploy. */
  digestReference: string;
  credentials: string;
  seconds: number;
  /** Lineage ids: the serve record the push hangs under (reused or new) and the push. */
  serveId: string;
  pushId: string;
}

export async function pushServeImage(opts: ServePushOptions): Promise<ServePushOutcome> {
  const started = Date.now();
  const ws = path.resolve(opts.workspaceDir);
  const env = opts.env ?? process.env;
  const log = opts.log ?? (() => undefined);
  const engine = opts.engine ?? createDockerEngine(env);
  const { store, run, bundle } = await openRunBundle({ workspaceDir: ws, target: opts.target, runId: opts.runId, env, objectsDir: opts.objectsDir, log });
  let image: ServeImage;
  try {
    if (opts.signal?.aborted) throw new CancelledError('Push');
    log(`serving image of ${bundle.serve.function}, run ${run.record.runId} (${run.id}), version ${bundle.version.id}`);
    image = await buildServeImage(bundle, { engine, baseImage: serveBaseImage(opts.baseImage, bundle, env), log, signal: opts.signal });
  } finally {
    await bundle.dispose();
  }
  const reference = `${opts.registry.prefix}/${serveImageName(bundle.serve.model)}:${image.hash.slice(0, 12)}`;
  const pushed = await pushImage({ engine, registry: opts.registry, env, onProgress: log, signal: opts.signal, retryBudgetMs: opts.retryBudgetMs, imageId: image.imageId, reference });
  const seconds = (Date.now() - started) / 1000;

  // The serving that ran this very image describes it best; an image only built gets its own record.
  const described =
    latestServe(store, (r) => r.run === run.id && r.hash === image.hash && r.imageId === image.imageId) ??
    (await recordServe(serveFacts(ws, bundle, { hash: image.hash, local: false, image: { tag: image.tag, id: image.imageId, base: image.baseImage }, served: false }), { store }));
  const push = await recordPush(
    {
      workspaceDir: ws,
      notebookPath: run.record.notebook,
      versionId: bundle.version.id,
      serveId: described.id,
      registry: opts.registry.prefix,
      reference,
      digest: pushed.digest,
      imageId: image.imageId,
      contextHash: image.hash,
      seconds,
    },
    { store },
  );
  return {
    model: bundle.serve.model,
    runId: run.record.runId,
    image,
    reference,
    ...pushed,
    seconds,
    serveId: described.id,
    pushId: push.id,
  };
}
