/**
 * Pushing a pipeline's image to a registry: the image built from the pipeline directory as it is
 * now (found by its context hash, as build's up-to-date check finds it) is tagged
 * `HOST[:PORT][/NAMESPACE]/<slug>:<context hash>` and pushed through the engine with the docker
 * CLI's credentials. The content-addressed tag means a reference names exactly one pipeline content.
 */
import * as path from 'path';
import { CancelledError, Nb2prodError } from '../errors';
import { LABELS } from '../generate/dockerfile';
import { latestPush, openStore } from '../lineage';
import { pipelineContext } from './build';
import { registryCredentials } from './credentials';
import { ContainerEngine, EngineStreamError, PushStreamMessage } from './engine';
import { imageName, PipelineManifest, readManifest } from './pipeline-dir';
import { digestReference } from './reference';

export interface RegistryTarget {
  /** `HOST[:PORT]`: where credentials are looked up. */
  host: string;
  namespace?: string;
  /** `HOST[:PORT][/NAMESPACE]`: what image references start with. */
  prefix: string;
}

/** A --registry value that is not `HOST[:PORT][/NAMESPACE]`; the CLI reports it as a usage error. */
export class RegistryArgumentError extends Nb2prodError {
  constructor(message: string) {
    super(message, undefined, 'BAD_REGISTRY');
    this.name = 'RegistryArgumentError';
  }
}

/** A push the registry or the engine refused; the message names the registry and what to do. */
export class PushError extends Nb2prodError {
  constructor(message: string) {
    super(message, undefined, 'PUSH_FAILED');
    this.name = 'PushError';
  }
}

const FORM = 'HOST[:PORT][/NAMESPACE], e.g. registry.example.com/team or 127.0.0.1:5000';
const HOST = /^(?:[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)*|\[[0-9a-f:]+\])(?::(\d+))?$/;
// Docker's grammar for one path component of a repository name.
const PATH_COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;

/**
 * Checks a --registry value. A scheme is an error rather than stripped: `http://` would suggest
 * plain HTTP, but whether the engine uses TLS is its own setting (insecure-registries), not ours.
 */
export function parseRegistry(value: string): RegistryTarget {
  const given = value.trim();
  if (!given) throw new RegistryArgumentError(`the registry is empty: give ${FORM}`);
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(given);
  if (scheme) {
    throw new RegistryArgumentError(
      `the registry '${given}' has a scheme; write it without one: '${given.slice(scheme[0].length).replace(/\/+$/, '')}' ` +
        '(the Docker engine uses HTTPS, or HTTP for the registries it lists as insecure)',
    );
  }
  const trimmed = given.replace(/\/+$/, '');
  if (trimmed !== trimmed.toLowerCase()) {
    throw new RegistryArgumentError(
      `the registry '${given}' has upper-case letters: Docker image references are lower case (write '${trimmed.toLowerCase()}')`,
    );
  }
  const [host, ...components] = trimmed.split('/');
  const match = HOST.exec(host);
  if (!match) throw new RegistryArgumentError(`'${host}' is not a registry host: give ${FORM}`);
  const port = match[1];
  if (port !== undefined && !(Number(port) >= 1 && Number(port) <= 65535)) throw new RegistryArgumentError(`the port in '${host}' is not 1-65535`);
  if (!host.includes('.') && !host.includes(':') && host !== 'localhost') {
    // Docker would read it as a Docker Hub namespace and push to docker.io: say so instead.
    throw new RegistryArgumentError(
      `'${host}' is not a registry host (Docker reads a first part without '.' or ':' as a Docker Hub namespace): give ${FORM}, or docker.io/${trimmed} for Docker Hub`,
    );
  }
  for (const c of components) {
    if (!PATH_COMPONENT.test(c)) {
      throw new RegistryArgumentError(
        `'${c}' in '${trimmed}' is not a repository path component: lower-case letters and digits, joined by '.', '_', '__' or '-' (nb2prod adds the image name and tag)`,
      );
    }
  }
  return { host, ...(components.length ? { namespace: components.join('/') } : {}), prefix: trimmed };
}

export interface PushOptions {
  dir: string;
  engine: ContainerEngine;
  registry: RegistryTarget;
  /** Where the docker config (DOCKER_CONFIG, HOME) and credential helpers (PATH) are found. */
  env: NodeJS.ProcessEnv;
  /** The base image the build used, when it replaced the Dockerfile's (it is part of the context hash). */
  baseImage?: string;
  /** What the user named (notebook or directory), for the "build it first" hint. */
  source?: string;
  onProgress?: (line: string) => void;
  signal?: AbortSignal;
  /** How long the engine may retry an upload before we give up; it would retry for about a minute. */
  retryBudgetMs?: number;
}

export interface PushOutcome {
  manifest: PipelineManifest;
  imageId: string;
  contextHash: string;
  /** `HOST[:PORT][/NAMESPACE]` */
  registry: string;
  /** `HOST/.../slug:tag` */
  reference: string;
  /** `sha256:...` of the manifest the registry stored. */
  digest: string;
  /** `HOST/.../slug@sha256:...`: what to deploy, immune to the tag moving. */
  digestReference: string;
  /** Where the credentials came from (never what they are). */
  credentials: string;
  seconds: number;
}

const RETRY_BUDGET_MS = 8000;

export async function pushPipeline(opts: PushOptions): Promise<PushOutcome> {
  const started = Date.now();
  const dir = path.resolve(opts.dir);
  const manifest = await readManifest(dir);
  const { context } = await pipelineContext(dir, opts.baseImage);
  await opts.engine.info(opts.signal);
  const [image] = await opts.engine.findImages({ [LABELS.contextHash]: context.hash });
  if (!image) {
    throw new Nb2prodError(
      `no image is built from ${dir} as it is now (context ${context.hash.slice(0, 12)}): run nb2prod build ${opts.source ?? dir} first`,
      undefined,
      'NOT_BUILT',
    );
  }
  const reference = `${opts.registry.prefix}/${imageName(manifest.slug)}:${context.hash.slice(0, 12)}`;
  const pushed = await pushImage({ ...opts, imageId: image.id, reference });
  return {
    manifest,
    imageId: image.id,
    contextHash: context.hash,
    registry: opts.registry.prefix,
    reference,
    ...pushed,
    seconds: (Date.now() - started) / 1000,
  };
}

/** What pushing one local image needs: the pipeline's image and the serving image go the same way. */
export interface ImagePushOptions extends Pick<PushOptions, 'engine' | 'registry' | 'env' | 'onProgress' | 'signal' | 'retryBudgetMs'> {
  imageId: string;
  /** `HOST[:PORT][/NAMESPACE]/name:tag`: the tag made for the push. */
  reference: string;
}

export interface ImagePushed {
  digest: string;
  digestReference: string;
  /** Where the credentials came from (never what they are). */
  credentials: string;
}

/** Tags the image as `reference` and pushes it with the docker CLI's credentials; a failed push removes the tag again. */
export async function pushImage(opts: ImagePushOptions): Promise<ImagePushed> {
  const credentials = await registryCredentials(opts.registry.host, opts.env, opts.signal);
  opts.onProgress?.(`pushing ${opts.reference} (credentials: ${credentials.source})`);
  await opts.engine.tag(opts.imageId, [opts.reference]);
  try {
    const digest = await pushBounded(opts, opts.reference, credentials.auth);
    return { digest, digestReference: digestReference(opts.reference, digest), credentials: credentials.source };
  } catch (err) {
    // The tag was made only for this push; a failed one should not leave it behind.
    await opts.engine.removeImage(opts.reference).catch(() => undefined);
    throw err;
  }
}

/**
 * The last digest pushed (by `nb2prod push`, recorded in the lineage of `workspaceDir`) for the
 * content `pipelineDir` has now, as `HOST/.../slug@sha256:...`; undefined when that content was
 * never pushed (or only to another registry, when `registry` is given).
 */
export async function lastPushedDigest(
  workspaceDir: string,
  pipelineDir: string,
  options: { registry?: string; baseImage?: string } = {},
): Promise<string | undefined> {
  const { context } = await pipelineContext(path.resolve(pipelineDir), options.baseImage);
  const push = latestPush(openStore(workspaceDir), (r) => r.contextHash === context.hash && (!options.registry || r.registry === options.registry));
  return push ? digestReference(push.reference, push.digest) : undefined;
}

/**
 * The engine's push, given up when it keeps retrying: a registry that went away mid-push makes
 * the daemon retry each layer for about a minute, announcing only "Retrying in N seconds".
 */
async function pushBounded(opts: ImagePushOptions, reference: string, auth: Parameters<ContainerEngine['push']>[1]): Promise<string> {
  const budget = opts.retryBudgetMs ?? RETRY_BUDGET_MS;
  const giveUp = new AbortController();
  const signal = opts.signal ? AbortSignal.any([opts.signal, giveUp.signal]) : giveUp.signal;
  const progress = new PushProgress((line) => opts.onProgress?.(line));
  let stalled: { layer?: string; timer: NodeJS.Timeout } | undefined;
  const onMessage = (m: PushStreamMessage) => {
    progress.push(m);
    if (/^Retrying in/.test(m.status ?? '')) {
      stalled ??= { layer: m.id, timer: setTimeout(() => giveUp.abort(), budget) };
    } else if (stalled && m.id === stalled.layer && (m.status === 'Pushing' || m.status === 'Pushed')) {
      // The upload moves again: the engine's retry worked.
      clearTimeout(stalled.timer);
      stalled = undefined;
    }
  };
  try {
    const { digest } = await opts.engine.push(reference, auth, onMessage, signal);
    return digest;
  } catch (err) {
    if (err instanceof CancelledError && giveUp.signal.aborted && !opts.signal?.aborted) {
      throw new PushError(
        `registry ${opts.registry.prefix} stopped answering while ${reference} was pushed: the Docker engine kept retrying ` +
          `the upload${stalled?.layer ? ` of layer ${stalled.layer}` : ''}; gave up after ${budget / 1000} s. Is the registry still running?`,
      );
    }
    if (err instanceof EngineStreamError) throw explainPushFailure(err.message, opts.registry, reference);
    throw err;
  } finally {
    if (stalled) clearTimeout(stalled.timer);
  }
}

/** The daemon's push error, as one message that names the registry and what to do about it. */
export function explainPushFailure(message: string, registry: RegistryTarget, reference: string): PushError {
  const said = message.trim();
  if (/connection refused|no such host|i\/o timeout|network is unreachable|no route to host|dial tcp|connection reset/i.test(said)) {
    return new PushError(`cannot push ${reference}: registry ${registry.host} does not answer the Docker engine (${said}). Is it running, and is ${registry.host} its address?`);
  }
  if (/denied|unauthorized|authentication required|forbidden|insufficient_scope/i.test(said)) {
    return new PushError(
      `registry ${registry.prefix} denied the push of ${reference} (${said}). Log in with docker login ${registry.host} ` +
        "(nb2prod uses the docker CLI's credentials), or check that you may push to this namespace",
    );
  }
  if (/does not exist locally|no such image|tag does not exist/i.test(said)) {
    return new PushError(`cannot push ${reference}: the Docker engine has no image by that name (${said}); run nb2prod build first`);
  }
  if (/HTTP response to HTTPS client/i.test(said)) {
    return new PushError(
      `registry ${registry.host} speaks plain HTTP, but the Docker engine only talks HTTPS to it: list it in the engine's insecure-registries, or serve it over TLS`,
    );
  }
  return new PushError(`push of ${reference} to registry ${registry.prefix} failed: ${said}`);
}

/** Turns the push stream into a few readable lines: per layer its outcome, not its progress bar. */
class PushProgress {
  private readonly retryShown = new Map<string, number>();

  constructor(private readonly emit: (line: string) => void) {}

  push(m: PushStreamMessage): void {
    const status = m.status ?? '';
    if (!status || m.error || m.errorDetail || m.aux) return;
    if (status === 'Preparing' || status === 'Waiting' || status === 'Pushing') return;
    // The digest line comes again, as the result, on stdout.
    if (/: digest: sha256:/.test(status)) return;
    const retry = /^Retrying in (\d+)/.exec(status);
    if (retry) {
      // The engine counts down every second; show where a new round of waiting starts.
      const seconds = Number(retry[1]);
      const last = this.retryShown.get(m.id ?? '');
      this.retryShown.set(m.id ?? '', seconds);
      if (last !== undefined && seconds < last) return;
    }
    this.emit(m.id ? `  ${m.id}: ${status}` : `  ${status}`);
  }
}
