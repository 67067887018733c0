/**
 * What `serve`, `push --serve` and `export kserve` share: the run a target names and its serving
 * bundle, the serving image's base, the serving image built (skew guard inside the build) or
 * reused, and what a serve record says about it.
 */
import * as path from 'path';
import type { ContainerEngine } from '../docker/engine';
import { resolveBaseImage, validateBaseImage } from '../generate/dockerfile';
import { loadModel, openStore } from '../lineage';
import type { LineageStore, ServeFacts } from '../lineage';
import type { RunNode } from '../lineage/model';
import { objectStoreDir, openObjectStore } from '../store/objects';
import { assembleBundle, Bundle } from './bundle';
import { ensureServeImage, ServeImage } from './image';
import { notebookOfTarget, selectRun } from './select';

export interface RunBundleOptions {
  workspaceDir: string;
  /** A notebook or its pipeline directory (relative paths: from the workspace). */
  target: string;
  /** A run id or lineage record id (prefix); default: the notebook's latest run that succeeded. */
  runId?: string;
  env: NodeJS.ProcessEnv;
  /** The object store; default NB2PROD_OBJECTS, else `<workspace>/.nb2prod/objects`. */
  objectsDir?: string;
  log?: (line: string) => void;
}

export interface RunBundle {
  store: LineageStore;
  run: RunNode;
  /** The caller disposes of it. */
  bundle: Bundle;
}

/** The run the target names (or its latest that succeeded) and its bundle, restored from the object store. */
export async function openRunBundle(options: RunBundleOptions): Promise<RunBundle> {
  const ws = path.resolve(options.workspaceDir);
  const store = openStore(ws);
  const { model, problems } = loadModel(store, { strict: true });
  for (const p of problems) options.log?.(`warning: lineage store: ${p.message}`);
  const notebook = await notebookOfTarget(ws, options.target);
  const run = selectRun(model, notebook, options.runId);
  const objects = openObjectStore(objectStoreDir(ws, options.env, options.objectsDir));
  const bundle = await assembleBundle({ run, objects, workspaceDir: ws, records: () => store.read().records });
  return { store, run, bundle };
}

/** The serving image's base: the one given, else the pipeline's own (so the server runs on what the steps ran on), else the default. */
export function serveBaseImage(option: string | undefined, bundle: Bundle, env: NodeJS.ProcessEnv): string {
  if (option) return validateBaseImage(option);
  return bundle.baseImage ? validateBaseImage(bundle.baseImage) : resolveBaseImage({ env });
}

/** Builds the run's serving image (the skew guard runs inside the build) or reuses it, saying which. */
export async function buildServeImage(
  bundle: Bundle,
  opts: { engine: ContainerEngine; baseImage: string; log: (line: string) => void; signal?: AbortSignal },
): Promise<ServeImage> {
  const { log } = opts;
  const image = await ensureServeImage({
    root: bundle.root,
    serve: bundle.serve,
    baseImage: opts.baseImage,
    engine: opts.engine,
    signal: opts.signal,
    onProgress: (event) => {
      if (event.kind === 'step') log(`step ${event.step.index}/${event.step.total}: ${event.step.instruction}`);
      else if (event.kind === 'log' && /skew guard/.test(event.line)) log(`  ${event.line}`);
    },
  });
  log(image.reused ? `image ${image.tag} up to date (${image.imageId.replace(/^sha256:/, '').slice(0, 12)})` : `built ${image.tag}`);
  return image;
}

/** A serve record's facts: the run, the image (none for a local server) and the hash of every artifact the bundle carries. */
export function serveFacts(
  workspaceDir: string,
  bundle: Bundle,
  server: { hash: string; local: boolean; image?: { tag: string; id: string; base: string }; served?: false },
): ServeFacts {
  const { run, serve, section } = bundle;
  return {
    workspaceDir,
    versionId: bundle.version.id,
    notebook: run.record.notebook,
    run: run.id,
    runId: run.record.runId,
    model: serve.model,
    ...(server.image ? { image: server.image.tag, imageId: server.image.id, baseImage: server.image.base } : {}),
    hash: server.hash,
    local: server.local,
    function: serve.function,
    cell: section.cell,
    artifacts: [
      ...serve.artifacts.map((a) => ({ name: a.name, step: a.step, sha256: a.sha256 })),
      ...(serve.calls && section.calls ? [{ name: section.calls.artifact, step: section.calls.step, sha256: serve.calls.sha256 }] : []),
    ],
    ...(server.served === false ? { served: false as const } : {}),
  };
}
