/**
 * `nb2prod serve` as a core API the CLI and the extension share: pick the run, assemble its
 * bundle, build (or reuse) the serving image and run it with its port published on this machine
 * only, or (`local`) run the server with a local interpreter after the skew guard. The session
 * resolves once the server listens and the lineage records it; `stop()` shuts it down gracefully
 * and removes its container (or process) and temporary files.
 */
import { ChildProcess, spawn } from 'child_process';
import { randomBytes } from 'crypto';
import * as net from 'net';
import * as os from 'os';
import * as path from 'path';
import { createDockerEngine } from '../docker/dockerode-engine';
import type { ContainerEngine, OutputStream } from '../docker/engine';
import { lineSplitter } from '../docker/lines';
import { collectContext } from '../docker/context';
import { resolveBaseImage, validateBaseImage } from '../generate/dockerfile';
import { CancelledError, Nb2prodError } from '../errors';
import { loadModel, openStore, recordServe } from '../lineage';
import { objectStoreDir, openObjectStore } from '../store/objects';
import { assembleBundle, Bundle, CONTAINER_BUNDLE, ServeJson } from './bundle';
import { ensureServeImage, SERVE_PORT, SkewError } from './image';
import { notebookOfTarget, selectRun } from './select';

export interface ServeOptions {
  workspaceDir: string;
  /** A notebook or its pipeline directory (relative paths: from the workspace). */
  target: string;
  /** A run id or lineage record id (prefix); default: the notebook's latest run that succeeded. */
  runId?: string;
  /** Host port; default 8080; 0 picks a free one. */
  port?: number;
  /** Interface to listen on (publish on, for a container); default 127.0.0.1. */
  host?: string;
  local?: boolean;
  /** Interpreter for `local`; default NB2PROD_PYTHON, else python3. */
  python?: string;
  /** Base of the serving image; default the pipeline's (its Dockerfile's), else NB2PROD_BASE_IMAGE. */
  baseImage?: string;
  engine?: ContainerEngine;
  signal?: AbortSignal;
  /** Progress, build steps and the server's log lines. */
  log?: (line: string) => void;
  env?: NodeJS.ProcessEnv;
  /** The object store; default NB2PROD_OBJECTS, else `<workspace>/.nb2prod/objects`. */
  objectsDir?: string;
}

export interface ServeSession {
  url: string;
  model: string;
  runId: string;
  /** The serving image's tag; undefined for a local server. */
  image?: string;
  docsUrl: string;
  curlExample: string;
  stop(): Promise<void>;
  /** Settles when the server has exited and everything it used is removed; `code` is its exit code. */
  done: Promise<{ code: number }>;
}

export const DEFAULT_SERVE_PORT = 8080;
/** A container label, so a session's container can be found (and stopped) by it. */
export const SERVE_SESSION_LABEL = 'nb2prod.serve.session';
export const SERVE_RUN_LABEL = 'nb2prod.serve.run';
const STARTUP_TIMEOUT_MS = 120_000;
/** Seconds a server gets to finish the requests it is answering before it is killed. */
const STOP_GRACE_SECONDS = 10;
const TAIL_LINES = 30;

export async function startServe(options: ServeOptions): Promise<ServeSession> {
  const ws = path.resolve(options.workspaceDir);
  const env = options.env ?? process.env;
  const log = options.log ?? (() => undefined);
  const signal = options.signal;
  const host = options.host ?? '127.0.0.1';
  const port = options.port ?? DEFAULT_SERVE_PORT;
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Nb2prodError(`port ${port} is not a TCP port (0 to 65535; 0 picks a free one)`, undefined, 'USAGE');

  const store = openStore(ws);
  const { model, problems } = loadModel(store, { strict: true });
  for (const p of problems) log(`warning: lineage store: ${p.message}`);
  const notebook = await notebookOfTarget(ws, options.target);
  const run = selectRun(model, notebook, options.runId);
  const objects = openObjectStore(objectStoreDir(ws, env, options.objectsDir));
  const bundle = await assembleBundle({ run, objects, workspaceDir: ws, records: () => store.read().records });
  try {
    if (signal?.aborted) throw new CancelledError('Serve');
    log(`serving ${bundle.serve.function} of run ${run.record.runId} (${run.id}), version ${bundle.version.id}`);
    const server = options.local
      ? await startLocal(bundle, { python: options.python ?? env.NB2PROD_PYTHON ?? 'python3', env, host, port, log, signal })
      : await startContainer(bundle, { engine: options.engine ?? createDockerEngine(env), baseImage: baseImageOf(options.baseImage, bundle, env), host, port, log, signal });
    const record = await recordServe({
      workspaceDir: ws,
      versionId: bundle.version.id,
      notebook: run.record.notebook,
      run: run.id,
      runId: run.record.runId,
      model: bundle.serve.model,
      ...(server.image ? { image: server.image.tag, imageId: server.image.id, baseImage: server.image.base } : {}),
      hash: server.hash,
      local: options.local === true,
      function: bundle.serve.function,
      cell: bundle.section.cell,
      artifacts: [
        ...bundle.serve.artifacts.map((a) => ({ name: a.name, step: a.step, sha256: a.sha256 })),
        ...(bundle.serve.calls && bundle.section.calls ? [{ name: bundle.section.calls.artifact, step: bundle.section.calls.step, sha256: bundle.serve.calls.sha256 }] : []),
      ],
    }).catch((e: Error) => {
      // The server runs all the same; say that this serving is not in the lineage.
      log(`warning: could not record the serving in the lineage: ${e.message}`);
      return undefined;
    });
    if (record) log(`lineage: serve ${record.id}`);
    const url = `http://${urlHost(host)}:${server.port}`;
    return {
      url,
      model: bundle.serve.model,
      runId: run.record.runId,
      image: server.image?.tag,
      docsUrl: `${url}/docs`,
      curlExample: curlExample(url, bundle.serve),
      stop: server.stop,
      done: server.done,
    };
  } catch (e) {
    await bundle.dispose();
    throw e;
  }
}

interface Started {
  port: number;
  hash: string;
  image?: { tag: string; id: string; base: string };
  stop(): Promise<void>;
  done: Promise<{ code: number }>;
}

interface StartOptions {
  host: string;
  port: number;
  log: (line: string) => void;
  signal?: AbortSignal;
}

function baseImageOf(option: string | undefined, bundle: Bundle, env: NodeJS.ProcessEnv): string {
  if (option) return validateBaseImage(option);
  // The pipeline's own base (its Dockerfile's), so the server runs on what the steps ran on.
  return bundle.baseImage ? validateBaseImage(bundle.baseImage) : resolveBaseImage({ env });
}

async function startContainer(bundle: Bundle, opts: StartOptions & { engine: ContainerEngine; baseImage: string }): Promise<Started> {
  const { engine, log, signal } = opts;
  const image = await ensureServeImage({
    root: bundle.root,
    serve: bundle.serve,
    baseImage: opts.baseImage,
    engine,
    signal,
    onProgress: (event) => {
      if (event.kind === 'step') log(`step ${event.step.index}/${event.step.total}: ${event.step.instruction}`);
      else if (event.kind === 'log' && /skew guard/.test(event.line)) log(`  ${event.line}`);
    },
  });
  log(image.reused ? `image ${image.tag} up to date (${image.imageId.replace(/^sha256:/, '').slice(0, 12)})` : `built ${image.tag}`);
  // The image holds everything now.
  await bundle.dispose();
  const port = opts.port === 0 ? await freePort(opts.host) : opts.port;
  const session = randomBytes(8).toString('hex');
  const stopping = new AbortController();
  const started = watchStartup(log);
  const running = engine.run(
    {
      image: image.tag,
      args: ['python3', '-m', `${bundle.serve.package}._serve`, '--bundle', CONTAINER_BUNDLE, '--host', '0.0.0.0', '--port', String(SERVE_PORT)],
      mounts: [],
      labels: { [SERVE_SESSION_LABEL]: session, [SERVE_RUN_LABEL]: bundle.serve.runId },
      ports: [{ container: SERVE_PORT, host: port, hostIp: opts.host }],
    },
    started.output,
    stopping.signal,
  ).catch((e: unknown) => {
    if (e instanceof CancelledError || e instanceof Nb2prodError) throw e;
    // The engine refuses before the server runs: most often the port.
    const message = (e as { json?: { message?: string }; message?: string }).json?.message ?? (e as Error).message ?? String(e);
    if (/port is already allocated|address already in use/i.test(message)) {
      throw new Nb2prodError(`port ${port} on ${opts.host} is in use: pass another --port (0 picks a free one)`, undefined, 'PORT_IN_USE');
    }
    throw new Nb2prodError(`the engine cannot start the serving container from ${image.tag}: ${message}`, undefined, 'SERVE_FAILED');
  });
  let stopped: Promise<void> | undefined;
  const stop = () =>
    (stopped ??= (async () => {
      // Graceful first (SIGTERM: requests in flight are answered); the run's abort kills and removes it.
      const ids = await engine.listContainers(`${SERVE_SESSION_LABEL}=${session}`).catch(() => [] as string[]);
      await Promise.all(ids.map((id) => engine.stopContainer(id, STOP_GRACE_SECONDS).catch(() => undefined)));
      stopping.abort();
      await done.catch(() => undefined);
    })());
  const done = running.then(
    ({ exitCode }) => ({ code: exitCode }),
    (e) => {
      if (e instanceof CancelledError) return { code: 0 };
      throw e;
    },
  );
  // Whoever awaits `done` gets its error; until someone does, it is not an unhandled rejection.
  done.catch(() => undefined);
  await started.wait(running, stop, signal, `the server in ${image.tag}`);
  return { port, hash: image.hash, image: { tag: image.tag, id: image.imageId, base: image.baseImage }, stop, done };
}

async function startLocal(bundle: Bundle, opts: StartOptions & { python: string; env: NodeJS.ProcessEnv }): Promise<Started> {
  const { log, signal } = opts;
  const module = `${bundle.serve.package}._serve`;
  const env = { ...opts.env, PYTHONUNBUFFERED: '1', PYTHONDONTWRITEBYTECODE: '1' };
  // The skew guard first, as the image build runs it.
  const check = spawnPython(opts.python, ['-m', module, '--bundle', bundle.dir, '--check'], bundle.dir, env);
  // Kept back until it ends: a refusal carries the whole report, said once.
  const checkLines: string[] = [];
  const checkOut = lineSplitter((line) => checkLines.push(line));
  check.stdout!.on('data', (b: Buffer) => checkOut.write(b.toString('utf8'), 'stdout'));
  check.stderr!.on('data', (b: Buffer) => checkOut.write(b.toString('utf8'), 'stderr'));
  const checked = await exited(check, opts.python, signal);
  checkOut.flush();
  if (checked !== 0) throw startupError(checked, checkLines, bundle.serve, `the skew guard (${opts.python} -m ${module} --check)`);
  checkLines.forEach((line) => log(line));

  const child = spawnPython(opts.python, ['-m', module, '--bundle', bundle.dir, '--host', opts.host, '--port', String(opts.port)], bundle.dir, env);
  const started = watchStartup(log);
  child.stdout!.on('data', (b: Buffer) => started.output(b.toString('utf8'), 'stdout'));
  child.stderr!.on('data', (b: Buffer) => started.output(b.toString('utf8'), 'stderr'));
  const running = exited(child, opts.python).then((code) => ({ exitCode: code }));
  const done = running.then(
    async ({ exitCode }) => {
      await bundle.dispose();
      return { code: exitCode };
    },
    async (e) => {
      await bundle.dispose();
      throw e;
    },
  );
  done.catch(() => undefined);
  let stopped: Promise<void> | undefined;
  const stop = () =>
    (stopped ??= (async () => {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        const kill = setTimeout(() => child.kill('SIGKILL'), STOP_GRACE_SECONDS * 1000);
        kill.unref();
        await done.catch(() => undefined);
        clearTimeout(kill);
      }
      await done.catch(() => undefined);
    })());
  const url = await started.wait(running, stop, signal, `the server (${opts.python} -m ${module})`);
  const port = Number(/:(\d+)\/?$/.exec(url)?.[1] ?? opts.port);
  return { port, hash: (await collectContext(bundle.dir)).hash, stop, done };
}

/**
 * Follows a starting server's output (every line goes to the log) until it prints its one
 * `listening on URL` line; `wait` rejects with what it printed when it exits first, times out,
 * or the caller cancels (and then stops it).
 */
function watchStartup(log: (line: string) => void) {
  // Held back until it listens: a server that fails to start is reported once, in the error.
  const lines: string[] = [];
  let up = false;
  let heard: ((url: string) => void) | undefined;
  const listening = new Promise<string>((resolve) => (heard = resolve));
  const splitter = lineSplitter((line, stream) => {
    if (up) return log(line);
    keep(lines, line);
    const m = stream === 'stdout' ? /^listening on (http:\/\/\S+)/.exec(line) : null;
    if (m) {
      up = true;
      lines.forEach((l) => log(l));
      heard!(m[1]);
    }
  });
  return {
    output: (text: string, stream: OutputStream) => splitter.write(text, stream),
    async wait(running: Promise<{ exitCode: number }>, stop: () => Promise<void>, signal: AbortSignal | undefined, what: string): Promise<string> {
      let timer: NodeJS.Timeout | undefined;
      let onAbort: (() => void) | undefined;
      const failed = new Promise<never>((_, reject) => {
        running.then(
          ({ exitCode }) =>
            reject(
              lines.some((l) => /address already in use/i.test(l))
                ? new Nb2prodError(`${what} cannot listen: the port is in use; pass another --port (0 picks a free one)${tailText(lines)}`, undefined, 'PORT_IN_USE')
                : new Nb2prodError(`${what} exited with code ${exitCode} before it listened${tailText(lines)}`, undefined, exitCode === 3 ? 'ARTIFACT_MISMATCH' : 'SERVE_FAILED'),
            ),
          reject,
        );
        timer = setTimeout(() => reject(new Nb2prodError(`${what} did not listen within ${STARTUP_TIMEOUT_MS / 1000} s${tailText(lines)}`)), STARTUP_TIMEOUT_MS);
        onAbort = () => reject(new CancelledError('Serve'));
        if (signal?.aborted) onAbort();
        signal?.addEventListener('abort', onAbort, { once: true });
      });
      // It may reject after the race is decided (the server exits when stopped): not an unhandled rejection.
      failed.catch(() => undefined);
      try {
        const url = await Promise.race([listening, failed]);
        // From now on a cancel stops the server (the caller's Ctrl-C).
        signal?.addEventListener('abort', () => void stop(), { once: true });
        return url;
      } catch (e) {
        await stop().catch(() => undefined);
        splitter.flush();
        throw e;
      } finally {
        clearTimeout(timer);
        if (onAbort) signal?.removeEventListener('abort', onAbort);
      }
    },
  };
}

function startupError(code: number | null, lines: string[], serve: ServeJson, what: string): Nb2prodError {
  // Exit 1 of --check: the answers differ; 3: an artifact is not what serve.json says.
  if (code === 1 && lines.some((l) => /differ|skew/i.test(l))) return new SkewError(serve, lines);
  return new Nb2prodError(`${what} exited with code ${code}${tailText(lines)}`, undefined, code === 3 ? 'ARTIFACT_MISMATCH' : 'SERVE_FAILED');
}

function spawnPython(python: string, args: string[], cwd: string, env: NodeJS.ProcessEnv): ChildProcess {
  // cwd is the bundle: `-m <pkg>._serve` imports the bundled package, never one installed elsewhere.
  return spawn(python, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
}

function exited(child: ChildProcess, python: string, signal?: AbortSignal): Promise<number> {
  return new Promise<number>((resolve, reject) => {
    const onAbort = () => child.kill('SIGTERM');
    signal?.addEventListener('abort', onAbort, { once: true });
    child.on('error', (err) => reject(new Nb2prodError(`cannot start ${python}: ${err.message} (set --python or NB2PROD_PYTHON)`)));
    child.on('close', (code, sig) => {
      signal?.removeEventListener('abort', onAbort);
      if (signal?.aborted) reject(new CancelledError('Serve'));
      // Killed by a signal (our SIGTERM on stop): 128 + its number, as a shell reports it.
      else resolve(code ?? 128 + (sig ? (os.constants.signals[sig] ?? 0) : 0));
    });
  });
}

function keep(lines: string[], line: string): void {
  lines.push(line);
  if (lines.length > TAIL_LINES) lines.shift();
}

function tailText(lines: string[]): string {
  return lines.length ? `:\n${lines.map((l) => `  | ${l}`).join('\n')}` : '';
}

async function freePort(host: string): Promise<number> {
  return new Promise<number>((resolve, reject) => {
    const probe = net.createServer();
    probe.once('error', reject);
    probe.listen(0, host, () => {
      const { port } = probe.address() as net.AddressInfo;
      probe.close(() => resolve(port));
    });
  });
}

function urlHost(host: string): string {
  if (host === '0.0.0.0' || host === '::') return '127.0.0.1';
  return host.includes(':') ? `[${host}]` : host;
}

/** A request the server accepts: each field with a placeholder of its type (a list of one such row for the `rows` form). */
export function curlExample(url: string, serve: Pick<ServeJson, 'fields' | 'form'>): string {
  const placeholder: Record<string, unknown> = { number: 0.0, integer: 0, string: '', boolean: false, array: [], object: {}, any: null };
  const row = Object.fromEntries(serve.fields.map((f) => [f.name, placeholder[f.type] ?? null]));
  const body = JSON.stringify(serve.form === 'rows' ? [row] : row);
  return `curl -s -X POST ${url}/predict -H 'Content-Type: application/json' -d '${body.replace(/'/g, `'\\''`)}'`;
}
