/**
 * What nb2prod needs from a container engine. The dockerode implementation lives in
 * dockerode-engine.ts; pipeline build and run logic (build.ts, run.ts) only use this interface.
 */
import { Nb2prodError } from '../errors';
import type { EngineConnection } from './connection';

export interface EngineInfo {
  address: string;
  /** The API version we talk (never newer than the daemon's). */
  apiVersion: string;
  serverVersion: string;
}

export interface ImageSummary {
  id: string;
  tags: string[];
  labels: Record<string, string>;
}

/** One JSON message of the build stream, as the daemon sends it. */
export interface BuildStreamMessage {
  stream?: string;
  status?: string;
  progress?: string;
  id?: string;
  aux?: { ID?: string };
  error?: string;
  errorDetail?: { code?: number; message?: string };
}

/** One JSON message of the push stream: layer statuses, then the pushed manifest's digest in `aux`. */
export interface PushStreamMessage {
  status?: string;
  progress?: string;
  id?: string;
  aux?: { Tag?: string; Digest?: string; Size?: number };
  error?: string;
  errorDetail?: { code?: number; message?: string };
}

/**
 * What the engine sends a registry (the Engine API's X-Registry-Auth). Empty for an anonymous
 * push: the daemon wants the header even then. Holds secrets: never log, print or record it.
 */
export interface RegistryAuth {
  username?: string;
  password?: string;
  /** An OAuth refresh token (`docker login` with a token, or a helper's `<token>` user). */
  identitytoken?: string;
  serveraddress?: string;
}

export interface EngineBuildOptions {
  /** All tags are applied by the daemon together, only when the build succeeds. */
  tags: string[];
  /** Labels added to the final image (after every cached layer, so they never bust the cache). */
  labels: Record<string, string>;
  /** Build arguments, e.g. proxies. */
  buildArgs?: Record<string, string>;
  /** Ignore the layer cache (cold builds, benchmarks). */
  noCache?: boolean;
}

export interface Mount {
  source: string;
  target: string;
  readOnly?: boolean;
}

export interface EngineRunOptions {
  image: string;
  /** Arguments after the image's ENTRYPOINT. */
  args: string[];
  /** Replaces the image's ENTRYPOINT (inspecting an image's files, debugging). */
  entrypoint?: string[];
  /** `uid:gid`; the image's user when absent. */
  user?: string;
  env?: Record<string, string>;
  mounts: Mount[];
  labels?: Record<string, string>;
  /** Container TCP ports published on the host (a server: `nb2prod serve`). */
  ports?: PublishedPort[];
}

export interface PublishedPort {
  container: number;
  host: number;
  /** The host interface, e.g. 127.0.0.1 so only this machine can connect. */
  hostIp: string;
}

export type OutputStream = 'stdout' | 'stderr';

export interface ContainerEngine {
  readonly connection: EngineConnection;
  /** Pings the daemon and settles the API version; fails with EngineUnreachableError within 5 s. */
  info(signal?: AbortSignal): Promise<EngineInfo>;
  /** Images carrying all of these labels. */
  findImages(labels: Record<string, string>, signal?: AbortSignal): Promise<ImageSummary[]>;
  /**
   * Builds from a tar stream of the context. Resolves with the image id; a stream error rejects
   * with EngineStreamError; an abort destroys the request (the daemon stops) and rejects with
   * CancelledError.
   */
  build(
    context: NodeJS.ReadableStream,
    options: EngineBuildOptions,
    onMessage: (message: BuildStreamMessage) => void,
    signal?: AbortSignal,
  ): Promise<string>;
  tag(imageId: string, tags: string[]): Promise<void>;
  /**
   * Pushes `ref` (`host[:port]/repo:tag`) and resolves with the digest of the manifest the registry
   * stored. A stream error rejects with EngineStreamError; an abort closes the request (the daemon
   * stops the push) and rejects with CancelledError.
   */
  push(ref: string, auth: RegistryAuth, onMessage: (message: PushStreamMessage) => void, signal?: AbortSignal): Promise<{ digest: string }>;
  /** Removes a tag (the image goes when its last tag does). */
  removeImage(ref: string): Promise<void>;
  /**
   * Creates, starts and waits for a container, streaming its output. The container is removed
   * afterwards whatever happens; an abort kills it and rejects with CancelledError.
   */
  run(options: EngineRunOptions, onOutput: (text: string, stream: OutputStream) => void, signal?: AbortSignal): Promise<{ exitCode: number }>;
  /** Ids of containers (running or not), optionally only those with this label. */
  listContainers(label?: string): Promise<string[]>;
  /** Force-removes a container; one that is already gone is not an error. */
  removeContainer(id: string): Promise<void>;
  /**
   * Asks a running container to stop (SIGTERM, then SIGKILL after `seconds`), so a server finishes
   * what it is answering; one that is already stopped or gone is not an error.
   */
  stopContainer(id: string, seconds: number): Promise<void>;
}

/** The engine cannot be reached: one message that names the address and how to point elsewhere. */
export class EngineUnreachableError extends Nb2prodError {
  constructor(
    readonly connection: EngineConnection,
    reason: string,
  ) {
    const where =
      connection.source === 'DOCKER_HOST'
        ? `DOCKER_HOST=${connection.address}`
        : connection.source === 'docker context'
          ? `${connection.address} (from the current docker context)`
          : `${connection.address} (DOCKER_HOST is not set)`;
    super(
      `cannot reach the Docker engine at ${where}: ${reason}. ` +
        'Start Docker, or point DOCKER_HOST at a running engine (e.g. DOCKER_HOST=unix:///path/docker.sock, tcp://host:2375 or ssh://user@host).',
      undefined,
      'ENGINE_UNREACHABLE',
    );
    this.name = 'EngineUnreachableError';
  }
}

/** An `error` message in the build stream, before it is placed at a Dockerfile step. */
export class EngineStreamError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'EngineStreamError';
  }
}

/** A failed image build: which Dockerfile step failed and the last lines of its log. */
export class BuildError extends Nb2prodError {
  constructor(
    message: string,
    /** `Step 5/9 : RUN pip install ...`, when the failure happened inside a step. */
    readonly step: string | undefined,
    readonly logTail: string[],
  ) {
    super(message, undefined, 'BUILD_FAILED');
    this.name = 'BuildError';
  }

  override describe(): string {
    const where = this.step ? ` at ${this.step}` : '';
    const tail = this.logTail.length ? `\n${this.logTail.map((l) => `  | ${l}`).join('\n')}` : '';
    return `image build failed${where}: ${this.message}${tail}`;
  }
}
