/**
 * Registry credentials, found where the docker CLI finds them: `$DOCKER_CONFIG/config.json`, else
 * `~/.docker/config.json`. A credential helper named for the host (`credHelpers`) wins over the
 * default store (`credsStore`), which wins over `auths` entries (base64 `auth`, `username` and
 * `password`, or `identitytoken`). Nothing found is an anonymous push.
 *
 * The returned auth holds secrets: it goes to the engine and nowhere else. `source` says where the
 * credentials came from without revealing them, for progress messages.
 */
import { execFile } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { CancelledError, Nb2prodError } from '../errors';
import type { RegistryAuth } from './engine';

export interface RegistryCredentials {
  auth: RegistryAuth;
  /** `anonymous`, `config.json auths`, or `docker-credential-NAME` */
  source: string;
}

interface DockerConfig {
  auths?: Record<string, { auth?: string; username?: string; password?: string; identitytoken?: string }>;
  credHelpers?: Record<string, string>;
  credsStore?: string;
}

/** Docker Hub's credentials live under this key in config.json and helpers, whatever the host was called. */
const DOCKER_HUB_KEY = 'https://index.docker.io/v1/';
const DOCKER_HUB_HOSTS = new Set(['docker.io', 'index.docker.io', 'registry-1.docker.io']);
// A helper may ask the user to unlock a keychain; longer than that and something is wrong.
const HELPER_TIMEOUT_MS = 15_000;

export function dockerConfigPath(env: NodeJS.ProcessEnv): string {
  const dir = env.DOCKER_CONFIG || path.join(env.HOME || os.homedir(), '.docker');
  return path.join(dir, 'config.json');
}

/** `host` is `HOST[:PORT]` as in an image reference. */
export async function registryCredentials(host: string, env: NodeJS.ProcessEnv, signal?: AbortSignal): Promise<RegistryCredentials> {
  const file = dockerConfigPath(env);
  const config = await readConfig(file);
  const hub = DOCKER_HUB_HOSTS.has(host);
  const helper = config.credHelpers?.[host] ?? (hub ? config.credHelpers?.[DOCKER_HUB_KEY] : undefined) ?? config.credsStore;
  if (helper) {
    const auth = await fromHelper(helper, hub ? DOCKER_HUB_KEY : host, env, signal);
    return { auth: auth ?? {}, source: auth ? `docker-credential-${helper}` : `anonymous (docker-credential-${helper} has none for ${host})` };
  }
  const entry = Object.entries(config.auths ?? {}).find(([key]) => hostOfKey(key) === (hub ? hostOfKey(DOCKER_HUB_KEY) : host));
  if (entry) {
    const auth = fromAuthsEntry(entry[1], file, entry[0]);
    if (auth) return { auth, source: 'config.json auths' };
  }
  return { auth: {}, source: 'anonymous' };
}

async function readConfig(file: string): Promise<DockerConfig> {
  let text: string;
  try {
    text = await fs.promises.readFile(file, 'utf8');
  } catch {
    return {};
  }
  try {
    const value = JSON.parse(text);
    return value && typeof value === 'object' ? (value as DockerConfig) : {};
  } catch {
    // The parser's message quotes the text around the error, which may be a password: leave it out.
    throw new Nb2prodError(`the docker config ${file} is not valid JSON`, undefined, 'DOCKER_CONFIG');
  }
}

/** `auths` keys are written as `host`, `https://host` or `https://host/v1/`: compare hosts. */
function hostOfKey(key: string): string {
  return key.replace(/^[a-z]+:\/\//i, '').split('/')[0].toLowerCase();
}

function fromAuthsEntry(entry: NonNullable<DockerConfig['auths']>[string], file: string, key: string): RegistryAuth | undefined {
  if (entry.identitytoken) return { identitytoken: entry.identitytoken };
  if (entry.auth) {
    const decoded = Buffer.from(entry.auth, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon <= 0) throw new Nb2prodError(`the "auth" of ${key} in ${file} is not base64 of user:password`, undefined, 'DOCKER_CONFIG');
    return { username: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
  }
  if (entry.username) return { username: entry.username, password: entry.password ?? '' };
  return undefined;
}

/**
 * `docker-credential-NAME get`: the server on stdin, `{"ServerURL","Username","Secret"}` on stdout.
 * Undefined when the helper has nothing for this server (it says so and exits 1).
 */
function fromHelper(name: string, server: string, env: NodeJS.ProcessEnv, signal?: AbortSignal): Promise<RegistryAuth | undefined> {
  const program = `docker-credential-${name}`;
  return new Promise((resolve, reject) => {
    // Looked up on the PATH of the env we were given (the CLI's, the extension's).
    const child = execFile(program, ['get'], { env, timeout: HELPER_TIMEOUT_MS, signal, maxBuffer: 1024 * 1024 }, (err, stdout, stderr) => {
      if (err) {
        const e = err as NodeJS.ErrnoException & { killed?: boolean };
        if (signal?.aborted) return reject(new CancelledError('Reading registry credentials'));
        if (e.code === 'ENOENT') {
          return reject(new Nb2prodError(`the docker config names the credential helper "${name}", but ${program} is not on PATH`, undefined, 'CREDENTIALS'));
        }
        if (e.killed) return reject(new Nb2prodError(`${program} did not answer within ${HELPER_TIMEOUT_MS / 1000} s`, undefined, 'CREDENTIALS'));
        // Helpers report a failure on stdout; that text is an error message, never the secret.
        const said = firstLine(stdout) || firstLine(stderr);
        if (/credentials not found/i.test(said)) return resolve(undefined);
        return reject(new Nb2prodError(`${program} get failed${said ? `: ${said}` : ''}`, undefined, 'CREDENTIALS'));
      }
      let answer: { Username?: string; Secret?: string };
      try {
        answer = JSON.parse(stdout);
      } catch {
        // Not quoted: the output may be the secret itself.
        return reject(new Nb2prodError(`${program} get did not answer with JSON`, undefined, 'CREDENTIALS'));
      }
      if (!answer.Secret) return resolve(undefined);
      // The helper protocol's way of saying "this is an identity token, not a password".
      resolve(answer.Username === '<token>' ? { identitytoken: answer.Secret } : { username: answer.Username ?? '', password: answer.Secret });
    });
    // A helper that exits without reading its input: its exit status and output tell what happened.
    child.stdin?.on('error', () => undefined);
    // As the docker CLI sends it: the bare server, no newline.
    child.stdin?.end(server);
  });
}

function firstLine(text: string): string {
  return (text.trim().split('\n')[0] ?? '').slice(0, 200);
}
