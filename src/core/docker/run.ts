/**
 * Running a pipeline, in its image or with a local interpreter. Both pass the same runner
 * arguments, read the same run.json back, and return everything a lineage `run` record needs.
 * One process or container runs the whole pipeline; with `jobs`, one runs each step
 * (parallel.ts), through the same Launcher.
 *
 * Artifacts: the host directory is bind-mounted at the image's artifacts directory. The
 * container runs as the host user's uid:gid, so files land owned by whoever ran nb2prod and
 * can be deleted without sudo. As root we keep the image's unprivileged user instead, hand it
 * the run directory (but not the read-only hard links to stored objects in it), and give the
 * files back to root afterwards.
 *
 * Objects: with `objects`, the runtime writes outputs into that store itself (store-mount.ts for
 * containers), and a marker keeps gc from the run's objects until its lineage record is appended
 * (store/active; recordRun releases it).
 */
import { spawn } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { CancelledError, Nb2prodError } from '../errors';
import { CONTAINER_ARTIFACTS, PIPELINE_UID } from '../generate/dockerfile';
import { hasIndependentSteps, StepGraph, stepGraph } from '../run/graph';
import type { StepState } from '../run/scheduler';
import { holdActive, releaseEnded } from '../store/active';
import { openObjectStore, OBJECTS_ENV } from '../store/objects';
import { ContainerEngine, OutputStream } from './engine';
import { runParallel } from './parallel';
import { newRunId, PipelineManifest, readManifest, readRunRecord, RunRecord, runnerArgs } from './pipeline-dir';
import { reclaimStore, shareStore, storeMount } from './store-mount';

export interface RunOptions {
  dir: string;
  params?: string[];
  only?: string;
  from?: string;
  /** Host artifacts directory; default `<dir>/artifacts`. */
  artifactsDir?: string;
  runId?: string;
  /**
   * Steps at a time, each its own process or container (`--only STEP`). 1 (the default): the
   * whole pipeline in one process, values passed in memory. 'auto': as many as there are CPUs
   * when some steps are independent of each other, else 1. Ignored with `only`.
   */
  jobs?: number | 'auto';
  onOutput?: (text: string, stream: OutputStream) => void;
  /** With jobs, when each step starts and how it ends (output lines alone cannot say for steps running together). */
  onStep?: (step: string, state: StepState) => void;
  signal?: AbortSignal;
  /** The object store the pipeline writes its outputs into (mounted into containers). */
  objects?: string;
}

export type RunStatus = 'succeeded' | 'failed' | 'cancelled';

export interface RunOutcome {
  status: RunStatus;
  runId: string;
  manifest: PipelineManifest;
  /** Image ref for container runs, `local:<python>` for local ones. */
  image: string;
  exitCode: number | null;
  runDir: string;
  runJson: string;
  /** run.json as the pipeline wrote it; absent when it crashed before writing one. */
  record?: RunRecord;
  seconds: number;
  error?: Nb2prodError;
  /** The marker keeping gc from this run's objects (with `objects`): removed once the run is recorded. */
  activeMarker?: string;
}

export async function runInContainer(opts: RunOptions & { engine: ContainerEngine; image: string }): Promise<RunOutcome> {
  return execute(opts, containerLauncher(opts.engine, opts.image, opts.objects));
}

export async function runLocal(opts: RunOptions & { python: string; env?: NodeJS.ProcessEnv }): Promise<RunOutcome> {
  const env = opts.env ?? process.env;
  return execute(opts, localLauncher(opts.dir, opts.python, opts.objects ? { ...env, [OBJECTS_ENV]: path.resolve(opts.objects) } : env));
}

/** How one runner invocation (the whole pipeline, or one step) starts: a local process or a container. */
export interface Launcher {
  /** What the run records as its image: the image ref, or `local:<python>`. */
  image: string;
  /** Where the runner sees the host artifacts directory. */
  artifactsPath(hostArtifacts: string): string;
  /** Once before the first launch of a run, and once after the last. */
  prepare(runDir: string): Promise<void>;
  finish(runDir: string): Promise<void>;
  /** Resolves with the exit code; rejects with CancelledError on abort, or when it cannot start. */
  launch(args: string[], context: LaunchContext): Promise<number | null>;
}

export interface LaunchContext {
  manifest: PipelineManifest;
  /** The host artifacts directory. */
  artifactsDir: string;
  runId: string;
  onOutput: (text: string, stream: OutputStream) => void;
  signal?: AbortSignal;
  /** Extra container labels (the step), beside the run id. */
  labels?: Record<string, string>;
}

/** A container label: the containers of a run can be found (and removed) by its id. */
export const RUN_ID_LABEL = 'nb2prod.run.id';

export function containerLauncher(engine: ContainerEngine, image: string, objectsDir?: string): Launcher {
  const uid = process.getuid?.() ?? PIPELINE_UID;
  const gid = process.getgid?.() ?? PIPELINE_UID;
  const asRoot = uid === 0;
  const store = objectsDir ? storeMount(objectsDir) : undefined;
  return {
    image,
    artifactsPath: () => CONTAINER_ARTIFACTS,
    prepare: async (runDir) => {
      // The whole tree: a step run alone (`--only`) writes into a run directory an earlier run made.
      if (asRoot) await chownTree(runDir, PIPELINE_UID, PIPELINE_UID);
      if (asRoot && objectsDir) await shareStore(objectsDir);
    },
    finish: async (runDir) => {
      if (asRoot) await chownTree(runDir, 0, 0);
      if (asRoot && objectsDir) await reclaimStore(objectsDir, PIPELINE_UID);
    },
    launch: async (args, { artifactsDir, runId, onOutput, signal, labels }) => {
      const { exitCode } = await engine.run(
        {
          image,
          args,
          user: asRoot ? undefined : `${uid}:${gid}`,
          // Root's group: what lets the image's user add objects to a root-owned store (store-mount.ts).
          ...(asRoot && store ? { groupAdd: ['0'] } : {}),
          env: { HOME: '/tmp', ...store?.env },
          mounts: [{ source: artifactsDir, target: CONTAINER_ARTIFACTS }, ...(store ? [store.mount] : [])],
          labels: { [RUN_ID_LABEL]: runId, ...labels },
        },
        onOutput,
        signal,
      );
      return exitCode;
    },
  };
}

export function localLauncher(dir: string, python: string, env: NodeJS.ProcessEnv): Launcher {
  return {
    image: `local:${python}`,
    artifactsPath: (hostArtifacts) => hostArtifacts,
    prepare: async () => undefined,
    finish: async () => undefined,
    launch: async (args, { manifest, onOutput, signal }) => {
      const [command, ...entry] = localCommand(manifest, python, env);
      const child = spawn(command, [...entry, ...args], {
        cwd: path.resolve(dir),
        env: { ...env, PYTHONUNBUFFERED: '1' },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      child.stdout.on('data', (b: Buffer) => onOutput(b.toString('utf8'), 'stdout'));
      child.stderr.on('data', (b: Buffer) => onOutput(b.toString('utf8'), 'stderr'));
      const onAbort = () => {
        child.kill('SIGTERM');
        // A step that ignores SIGTERM must not keep Ctrl-C waiting forever.
        setTimeout(() => child.kill('SIGKILL'), 3000).unref();
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      try {
        const code = await new Promise<number | null>((resolve, reject) => {
          child.on('error', (err) =>
            reject(new Nb2prodError(`cannot start ${command}: ${err.message} (set --python or NB2PROD_PYTHON; NB2PROD_NODE for node)`)),
          );
          child.on('close', (code) => resolve(code));
        });
        if (signal?.aborted) throw new CancelledError('Run');
        return code;
      } finally {
        signal?.removeEventListener('abort', onAbort);
      }
    },
  };
}

async function execute(opts: RunOptions, launcher: Launcher): Promise<RunOutcome> {
  const started = Date.now();
  const dir = path.resolve(opts.dir);
  const manifest = await readManifest(dir);
  const runId = opts.runId ?? newRunId();
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(runId)) throw new Nb2prodError(`run id '${runId}' is not a safe name`);
  const artifactsDir = path.resolve(dir, opts.artifactsDir ?? 'artifacts');
  const runDir = path.join(artifactsDir, runId);
  await fs.promises.mkdir(runDir, { recursive: true });
  const args = runnerArgs({
    params: opts.params ?? [],
    only: opts.only,
    from: opts.from,
    runId,
    artifactsDir: launcher.artifactsPath(artifactsDir),
  });
  const runJson = path.join(runDir, 'run.json');
  const base = { runId, manifest, image: launcher.image, runDir, runJson };
  const onOutput = (text: string, stream: OutputStream) => opts.onOutput?.(text, stream);
  const wanted = opts.only ? 1 : await jobsThePackageTakes(dir, manifest, opts.jobs ?? 1);
  const graph = wanted === 1 ? undefined : stepGraph(manifest, opts.from);
  const jobs = graph ? parallelism(wanted, graph) : 1;
  const stepByStep = graph !== undefined && jobs > 1;
  let exitCode: number | null;
  if (opts.objects) await openObjectStore(opts.objects).prepare();
  await launcher.prepare(runDir);
  const marker = opts.objects ? await holdActive(opts.objects, runId) : undefined;
  const active = marker ? { activeMarker: marker.file } : {};
  try {
    exitCode = stepByStep
      ? await runParallel({ manifest, graph, jobs, launcher, artifactsDir, runId, params: opts.params ?? [], onOutput, onStep: opts.onStep, signal: opts.signal })
      : await launcher.launch(args, { manifest, artifactsDir, runId, onOutput, signal: opts.signal });
  } catch (err) {
    if (err instanceof CancelledError) {
      return { ...base, ...active, status: 'cancelled', exitCode: null, seconds: seconds(started), error: err };
    }
    await marker?.release();
    throw err;
  } finally {
    await launcher.finish(runDir);
    if (opts.objects) await releaseEnded(opts.objects, runId);
  }
  let record: RunRecord | undefined;
  try {
    record = await readRunRecord(runJson);
  } catch {
    record = undefined;
  }
  // `--only STEP` merges the run's step records: 'partial' while other steps of the run have not run.
  const status = exitCode === 0 && (record?.status === 'succeeded' || record?.status === 'partial') ? 'succeeded' : 'failed';
  let error: Nb2prodError | undefined;
  if (status === 'failed') {
    const failed = record?.steps.find((s) => s.status === 'failed');
    // A value that only travels in memory (a generator, a closure) is fine in one process.
    const inMemoryOnly = stepByStep && /cannot be saved/.test(failed?.error ?? '');
    error = new Nb2prodError(
      failed
        ? `step ${failed.name} failed${failed.error ? `: ${failed.error}` : ''}` +
            (inMemoryOnly ? ' Or run the pipeline in one process (--jobs 1; in VS Code the setting nb2prod.jobs: 1), where it passes in memory.' : '')
        : record
          ? `the pipeline exited with code ${exitCode}`
          : `the pipeline exited with code ${exitCode} and wrote no run.json`,
      undefined,
      'RUN_FAILED',
    );
  }
  return { ...base, ...active, status, exitCode, record, seconds: seconds(started), error };
}

/**
 * A package generated before the step contract rejects its flags: 'auto' runs it in one process
 * as before, an explicit number of jobs says how to get there.
 */
async function jobsThePackageTakes(dir: string, manifest: PipelineManifest, jobs: number | 'auto'): Promise<number | 'auto'> {
  if (jobs === 1) return 1;
  const runtime = Object.keys(manifest.files ?? {}).find((f) => /(^|\/)_runtime\.(py|mjs)$/.test(f));
  const text = runtime ? await fs.promises.readFile(path.join(dir, runtime), 'utf8').catch(() => '') : '';
  if (text.includes('--metrics-out')) return jobs;
  if (jobs === 'auto') return 1;
  throw new Nb2prodError(
    `this pipeline was generated by an nb2prod that ran every step in one process: productionize the notebook again to run steps side by side (--jobs ${jobs}), or use --jobs 1`,
    undefined,
    'USAGE',
  );
}

/** Steps at a time: 'auto' gains nothing on a chain of steps, which one process runs fastest. */
function parallelism(jobs: number | 'auto', graph: StepGraph): number {
  if (jobs !== 'auto') {
    if (!Number.isInteger(jobs) || jobs < 1) throw new Nb2prodError(`jobs must be a whole number of at least 1, not ${jobs}`);
    return jobs;
  }
  return hasIndependentSteps(graph) ? os.availableParallelism() : 1;
}

async function chownTree(dir: string, uid: number, gid: number): Promise<void> {
  await fs.promises.lchown(dir, uid, gid).catch(() => undefined);
  const entries = await fs.promises.readdir(dir, { withFileTypes: true }).catch(() => []);
  for (const e of entries) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) await chownTree(p, uid, gid);
    else if (!(await isSharedInode(p))) await fs.promises.lchown(p, uid, gid).catch(() => undefined);
  }
}

/**
 * An artifact an earlier run stored is a hard link to its object (store/ingest): chowning it would
 * hand the object itself to the container user, who could then chmod and rewrite the stored
 * bytes (and keep them if we died before chowning back). The container never needs to own such a
 * file: the runtime replaces an output by unlinking it, which only takes the directory.
 */
async function isSharedInode(file: string): Promise<boolean> {
  const st = await fs.promises.lstat(file).catch(() => undefined);
  return st !== undefined && st.isFile() && st.nlink > 1;
}

function seconds(started: number): number {
  return (Date.now() - started) / 1000;
}

/** How a pipeline starts on this machine: Python packages with -m, TypeScript ones with node or deno. */
function localCommand(manifest: PipelineManifest, python: string, env: NodeJS.ProcessEnv): string[] {
  if (manifest.runner === 'node') return [env.NB2PROD_NODE ?? 'node', 'main.mjs'];
  if (manifest.runner === 'deno') return [env.NB2PROD_DENO ?? 'deno', 'run', '--allow-read', '--allow-write', '--allow-env', 'main.mjs'];
  return [python, '-m', manifest.package];
}
