/** ContainerEngine over the Docker Engine API (dockerode), loaded on first use. */
import type Dockerode from 'dockerode';
import { requireBeside } from '../beside';
import { CancelledError } from '../errors';
import { EngineConnection, resolveConnection } from './connection';
import {
  BuildStreamMessage,
  ContainerEngine,
  EngineBuildOptions,
  EngineInfo,
  EngineRunOptions,
  EngineStreamError,
  EngineUnreachableError,
  ImageSummary,
  OutputStream,
  PushStreamMessage,
  RegistryAuth,
} from './engine';

/** The API we are written against. A newer daemon still speaks it; an older one sets the pace. */
export const MAX_API_VERSION = '1.41';
// The CLI must give up within 5 s, node start-up included.
const CONNECT_TIMEOUT_MS = 3000;

export function createDockerEngine(env: NodeJS.ProcessEnv): ContainerEngine {
  return new DockerodeEngine(resolveConnection(env));
}

class DockerodeEngine implements ContainerEngine {
  private readonly docker: Dockerode;
  private connected: Promise<EngineInfo> | undefined;

  constructor(readonly connection: EngineConnection) {
    const DockerCtor = loadDockerode();
    this.docker = new DockerCtor(connection.options);
  }

  info(signal?: AbortSignal): Promise<EngineInfo> {
    // Remembered per engine (not module-wide): a failed attempt is retried next time.
    this.connected ??= this.connect(signal).catch((err) => {
      this.connected = undefined;
      throw err;
    });
    return this.connected;
  }

  private async connect(signal?: AbortSignal): Promise<EngineInfo> {
    const deadline = AbortSignal.timeout(CONNECT_TIMEOUT_MS);
    const abortSignal = signal ? AbortSignal.any([signal, deadline]) : deadline;
    // Some failures (ssh handshakes) ignore the signal; the race keeps the 5 s promise anyway.
    const timeout = new Promise<never>((_, reject) =>
      abortSignal.addEventListener('abort', () => reject(abortSignal.reason), { once: true }),
    );
    // dockerode accepts abortSignal on these calls; its type definitions lag behind.
    const api = this.docker as unknown as {
      ping(o: { abortSignal: AbortSignal }): Promise<unknown>;
      version(o: { abortSignal: AbortSignal }): Promise<Dockerode.DockerVersion>;
    };
    try {
      await Promise.race([api.ping({ abortSignal }), timeout]);
      // Unversioned request: the daemon answers with the newest API it speaks.
      const version = await Promise.race([api.version({ abortSignal }), timeout]);
      const apiVersion = olderVersion(version.ApiVersion, MAX_API_VERSION);
      (this.docker.modem as { version?: string }).version = `v${apiVersion}`;
      return { address: this.connection.address, apiVersion, serverVersion: version.Version };
    } catch (err) {
      if (signal?.aborted) throw new CancelledError('Connecting to the Docker engine');
      throw new EngineUnreachableError(this.connection, describeConnectError(err, deadline.aborted));
    }
  }

  async findImages(labels: Record<string, string>): Promise<ImageSummary[]> {
    await this.info();
    const label = Object.entries(labels).map(([k, v]) => `${k}=${v}`);
    const images = await this.docker.listImages(label.length ? { filters: { label } } : {});
    return images.map((i) => ({
      id: i.Id,
      tags: (i.RepoTags ?? []).filter((t) => t !== '<none>:<none>'),
      labels: i.Labels ?? {},
    }));
  }

  async build(
    context: NodeJS.ReadableStream,
    options: EngineBuildOptions,
    onMessage: (message: BuildStreamMessage) => void,
    signal?: AbortSignal,
  ): Promise<string> {
    await this.info(signal);
    if (signal?.aborted) throw new CancelledError('Build');
    let response: NodeJS.ReadableStream;
    try {
      response = await this.docker.buildImage(context, {
        t: options.tags,
        labels: options.labels,
        buildargs: options.buildArgs,
        nocache: options.noCache,
        // Intermediate containers go away also when a step fails.
        rm: true,
        forcerm: true,
        abortSignal: signal,
      } as unknown as Dockerode.ImageBuildOptions); // t may repeat (dockerode sends arrays as repeated params); abortSignal is untyped
    } catch (err) {
      if (signal?.aborted) throw new CancelledError('Build');
      throw err;
    }
    let failure: string | undefined;
    let imageId: string | undefined;
    await followJsonLines<BuildStreamMessage>(
      response,
      (message) => {
        if (message.error || message.errorDetail) failure = message.errorDetail?.message || message.error;
        if (message.aux?.ID) imageId = message.aux.ID;
        onMessage(message);
      },
      () => (context as NodeJS.ReadableStream & { destroy?(): void }).destroy?.(),
      'Build',
      signal,
    );
    if (failure !== undefined) throw new EngineStreamError(failure);
    if (!imageId) throw new EngineStreamError('the engine reported no image id');
    return imageId;
  }

  async tag(imageId: string, tags: string[]): Promise<void> {
    for (const ref of tags) {
      const { repo, tag } = splitTag(ref);
      await this.docker.getImage(imageId).tag({ repo, tag });
    }
  }

  async push(ref: string, auth: RegistryAuth, onMessage: (message: PushStreamMessage) => void, signal?: AbortSignal): Promise<{ digest: string }> {
    await this.info(signal);
    if (signal?.aborted) throw new CancelledError('Push');
    const { repo, tag } = splitTag(ref);
    let response: NodeJS.ReadableStream;
    try {
      // authconfig goes into the X-Registry-Auth header (dockerode keeps it out of the URL).
      response = await this.docker.getImage(repo).push({ tag, authconfig: auth, abortSignal: signal } as unknown as Dockerode.ImagePushOptions);
    } catch (err) {
      if (signal?.aborted) throw new CancelledError('Push');
      // 404 before the stream starts: no image has this name locally.
      const e = err as { statusCode?: number; json?: { message?: string }; message?: string };
      throw new EngineStreamError(e.json?.message ?? e.message ?? String(err));
    }
    let failure: string | undefined;
    let digest: string | undefined;
    await followJsonLines<PushStreamMessage>(
      response,
      (message) => {
        if (message.error || message.errorDetail) failure = message.errorDetail?.message || message.error;
        if (message.aux?.Digest) digest = message.aux.Digest;
        onMessage(message);
      },
      () => undefined,
      'Push',
      signal,
    );
    if (failure !== undefined) throw new EngineStreamError(failure);
    if (!digest) throw new EngineStreamError('the engine reported no digest for the pushed image');
    return { digest };
  }

  async removeImage(ref: string): Promise<void> {
    // Not forced: removing one tag of an image that has others only untags it.
    await this.docker.getImage(ref).remove();
  }

  async run(
    options: EngineRunOptions,
    onOutput: (text: string, stream: OutputStream) => void,
    signal?: AbortSignal,
  ): Promise<{ exitCode: number }> {
    await this.info(signal);
    if (signal?.aborted) throw new CancelledError('Run');
    const container = await this.docker.createContainer({
      Image: options.image,
      Cmd: options.args,
      Entrypoint: options.entrypoint,
      User: options.user,
      Env: Object.entries(options.env ?? {}).map(([k, v]) => `${k}=${v}`),
      Labels: options.labels,
      AttachStdout: true,
      AttachStderr: true,
      Tty: false,
      ...(options.ports?.length ? { ExposedPorts: Object.fromEntries(options.ports.map((p) => [`${p.container}/tcp`, {}])) } : {}),
      HostConfig: {
        Mounts: options.mounts.map((m) => ({ Type: 'bind', Source: m.source, Target: m.target, ReadOnly: !!m.readOnly })),
        ...(options.ports?.length
          ? { PortBindings: Object.fromEntries(options.ports.map((p) => [`${p.container}/tcp`, [{ HostIp: p.hostIp, HostPort: String(p.host) }]])) }
          : {}),
      },
    });
    try {
      // Attach before start so no early output is lost.
      const stream = await container.attach({ stream: true, stdout: true, stderr: true });
      const ended = new Promise<void>((resolve) => {
        stream.on('end', resolve);
        stream.on('close', resolve);
        stream.on('error', () => resolve());
      });
      demux(stream, onOutput);
      await container.start();
      const aborted = new Promise<never>((_, reject) => {
        if (!signal) return;
        const onAbort = () => reject(new CancelledError('Run'));
        if (signal.aborted) onAbort();
        signal.addEventListener('abort', onAbort, { once: true });
      });
      const result = (await Promise.race([container.wait(), aborted])) as { StatusCode: number };
      // Let the last output arrive, but never hang on it.
      await Promise.race([ended, new Promise((r) => setTimeout(r, 2000).unref())]);
      return { exitCode: result.StatusCode };
    } finally {
      // Removed whatever happened: success, failure or abort (force kills it first).
      await container.remove({ force: true, v: true }).catch(() => undefined);
    }
  }

  async listContainers(label?: string): Promise<string[]> {
    await this.info();
    const containers = await this.docker.listContainers({ all: true, filters: label ? { label: [label] } : {} });
    return containers.map((c) => c.Id);
  }

  async removeContainer(id: string): Promise<void> {
    try {
      await this.docker.getContainer(id).remove({ force: true, v: true });
    } catch (err) {
      // 404: already gone; 409: the daemon is removing it itself.
      const status = (err as { statusCode?: number }).statusCode;
      if (status !== 404 && status !== 409) throw err;
    }
  }

  async stopContainer(id: string, seconds: number): Promise<void> {
    try {
      await this.docker.getContainer(id).stop({ t: seconds });
    } catch (err) {
      // 304: already stopped; 404: gone.
      const status = (err as { statusCode?: number }).statusCode;
      if (status !== 304 && status !== 404) throw err;
    }
  }
}

/**
 * Reads a daemon stream of JSON lines (build, push), handing each message on; resolves at its end.
 * An abort closes the response, which is what makes the daemon stop, and rejects with CancelledError.
 */
function followJsonLines<M>(
  response: NodeJS.ReadableStream,
  onMessage: (message: M) => void,
  onAbort: () => void,
  what: string,
  signal?: AbortSignal,
): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    let buffered = '';
    const abort = () => {
      (response as NodeJS.ReadableStream & { destroy(): void }).destroy();
      onAbort();
      reject(new CancelledError(what));
    };
    signal?.addEventListener('abort', abort, { once: true });
    const handle = (line: string) => {
      if (!line.trim()) return;
      let message: M;
      try {
        message = JSON.parse(line);
      } catch {
        // Not JSON (a proxy's text, an old daemon): keep it as log text.
        message = { stream: line + '\n' } as M;
      }
      onMessage(message);
    };
    response.on('data', (chunk: Buffer) => {
      const lines = (buffered + chunk.toString('utf8')).split('\n');
      buffered = lines.pop() ?? '';
      lines.forEach(handle);
    });
    response.on('error', (err: Error) => {
      signal?.removeEventListener('abort', abort);
      reject(signal?.aborted ? new CancelledError(what) : err);
    });
    response.on('end', () => {
      signal?.removeEventListener('abort', abort);
      handle(buffered);
      if (signal?.aborted) reject(new CancelledError(what));
      else resolve();
    });
  });
}

/** Demultiplexes the attach stream (8-byte frame headers when there is no TTY). */
function demux(stream: NodeJS.ReadableStream, onOutput: (text: string, stream: OutputStream) => void): void {
  let pending = Buffer.alloc(0);
  stream.on('data', (chunk: Buffer) => {
    pending = Buffer.concat([pending, chunk]);
    while (pending.length >= 8) {
      const size = pending.readUInt32BE(4);
      if (pending.length < 8 + size) break;
      const kind: OutputStream = pending[0] === 2 ? 'stderr' : 'stdout';
      onOutput(pending.subarray(8, 8 + size).toString('utf8'), kind);
      pending = pending.subarray(8 + size);
    }
  });
}

export function olderVersion(a: string, b: string): string {
  const pa = a.split('.').map(Number);
  const pb = b.split('.').map(Number);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return d < 0 ? a : b;
  }
  return a;
}

function splitTag(ref: string): { repo: string; tag: string } {
  const colon = ref.lastIndexOf(':');
  return colon > ref.lastIndexOf('/') ? { repo: ref.slice(0, colon), tag: ref.slice(colon + 1) } : { repo: ref, tag: 'latest' };
}

function describeConnectError(err: unknown, timedOut: boolean): string {
  if (timedOut) return `no answer within ${CONNECT_TIMEOUT_MS / 1000} s`;
  const e = err as { code?: string; message?: string; statusCode?: number };
  if (e?.statusCode) return `something answered with HTTP ${e.statusCode}, but not a Docker engine`;
  switch (e?.code) {
    case 'ENOENT':
      return 'the socket does not exist';
    case 'ECONNREFUSED':
      return 'connection refused';
    case 'EACCES':
      return 'permission denied (is your user in the docker group?)';
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return 'host name not found';
    case 'ETIMEDOUT':
      return 'connection timed out';
  }
  return (e?.message ?? String(err)).split('\n')[0];
}

/** dockerode (with ssh2 and grpc, about 1.7 MB) from dist/dockerode.js or node_modules. */
function loadDockerode(): typeof Dockerode {
  const loaded = requireBeside<{ default?: typeof Dockerode } & typeof Dockerode>('dockerode.js', 'dockerode');
  return loaded.default ?? loaded;
}
