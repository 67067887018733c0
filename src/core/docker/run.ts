/**
 * Running a pipeline, in its image or with a local interpreter. Both pass the same runner
 * arguments, read the same run.json back, and return everything a lineage `run` record needs.
 *
 * Artifacts: the host directory is bind-mounted at the image's artifacts directory. The
 * container runs as the host user's uid:gid, so files land owned by whoever ran nb2prod and
 * can be deleted without sudo. As root we keep the image's unprivileged user instead, hand it
 * the run directory, and give the files back to root afterwards.
 */
import { spawn } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { CancelledError, Nb2prodError } from '../errors';
import { CONTAINER_ARTIFACTS, PIPELINE_UID } from '../generate/dockerfile';
import { ContainerEngine, OutputStream } from './engine';
import { newRunId, PipelineManifest, readManifest, readRunRecord, RunRecord, runnerArgs } from './pipeline-dir';

export interface RunOptions {
  dir: string;
  params?: string[];
  only?: string;
  from?: string;
  /** Host artifacts directory; default `<dir>/artifacts`. */
  artifactsDir?: string;
  runId?: string;
  onOutput?: (text: string, stream: OutputStream) => void;
  signal?: AbortSignal;
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
}

export async function runInContainer(opts: RunOptions & { engine: ContainerEngine; image: string }): Promise<RunOutcome> {
  return execute(opts, opts.image, async (args, artifactsDir, runDir) => {
    const uid = process.getuid?.() ?? PIPELINE_UID;
    const gid = process.getgid?.() ?? PIPELINE_UID;
    const asRoot = uid === 0;
    if (asRoot) await fs.promises.chown(runDir, PIPELINE_UID, PIPELINE_UID);
    try {
      const { exitCode } = await opts.engine.run(
        {
          image: opts.image,
          args,
          user: asRoot ? undefined : `${uid}:${gid}`,
          env: { HOME: '/tmp' },
          mounts: [{ source: artifactsDir, target: CONTAINER_ARTIFACTS }],
          labels: { 'nb2prod.run.id': path.basename(runDir) },
        },
        (text, stream) => opts.onOutput?.(text, stream),
        opts.signal,
      );
      return exitCode;
    } finally {
      if (asRoot) await chownTree(runDir, 0, 0);
    }
  }, CONTAINER_ARTIFACTS);
}

export async function runLocal(opts: RunOptions & { python: string; env?: NodeJS.ProcessEnv }): Promise<RunOutcome> {
  return execute(opts, `local:${opts.python}`, async (args, _artifactsDir, _runDir, manifest) => {
    const [command, ...entry] = localCommand(manifest, opts.python, opts.env ?? process.env);
    const child = spawn(command, [...entry, ...args], {
      cwd: path.resolve(opts.dir),
      env: { ...(opts.env ?? process.env), PYTHONUNBUFFERED: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout.on('data', (b: Buffer) => opts.onOutput?.(b.toString('utf8'), 'stdout'));
    child.stderr.on('data', (b: Buffer) => opts.onOutput?.(b.toString('utf8'), 'stderr'));
    const onAbort = () => {
      child.kill('SIGTERM');
      // A step that ignores SIGTERM must not keep Ctrl-C waiting forever.
      setTimeout(() => child.kill('SIGKILL'), 3000).unref();
    };
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    try {
      const code = await new Promise<number | null>((resolve, reject) => {
        child.on('error', (err) =>
          reject(new Nb2prodError(`cannot start ${command}: ${err.message} (set --python or NB2PROD_PYTHON; NB2PROD_NODE for node)`)),
        );
        child.on('close', (code) => resolve(code));
      });
      if (opts.signal?.aborted) throw new CancelledError('Run');
      return code;
    } finally {
      opts.signal?.removeEventListener('abort', onAbort);
    }
  });
}

type Launch = (args: string[], artifactsDir: string, runDir: string, manifest: PipelineManifest) => Promise<number | null>;

async function execute(opts: RunOptions, image: string, launch: Launch, runnerArtifactsDir?: string): Promise<RunOutcome> {
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
    artifactsDir: runnerArtifactsDir ?? artifactsDir,
  });
  const runJson = path.join(runDir, 'run.json');
  const base = { runId, manifest, image, runDir, runJson };
  let exitCode: number | null;
  try {
    exitCode = await launch(args, artifactsDir, runDir, manifest);
  } catch (err) {
    if (err instanceof CancelledError) {
      return { ...base, status: 'cancelled', exitCode: null, seconds: seconds(started), error: err };
    }
    throw err;
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
    error = new Nb2prodError(
      failed
        ? `step ${failed.name} failed${failed.error ? `: ${failed.error}` : ''}`
        : record
          ? `the pipeline exited with code ${exitCode}`
          : `the pipeline exited with code ${exitCode} and wrote no run.json`,
      undefined,
      'RUN_FAILED',
    );
  }
  return { ...base, status, exitCode, record, seconds: seconds(started), error };
}

async function chownTree(dir: string, uid: number, gid: number): Promise<void> {
  await fs.promises.lchown(dir, uid, gid).catch(() => undefined);
  const entries = await fs.promises.readdir(dir, { withFileTypes: true }).catch(() => []);
  for (const e of entries) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) await chownTree(p, uid, gid);
    else await fs.promises.lchown(p, uid, gid).catch(() => undefined);
  }
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
