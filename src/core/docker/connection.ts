/**
 * Where the Docker engine is: DOCKER_HOST (unix, tcp, ssh, npipe; DOCKER_TLS_VERIFY and
 * DOCKER_CERT_PATH for TLS), else the current Docker context (DOCKER_CONTEXT or the CLI
 * config's currentContext), else the default socket. Read from the env we are given, not
 * process.env, so the CLI and the extension can pass their own.
 */
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import type { DockerOptions } from 'dockerode';

export interface EngineConnection {
  /** For messages: the address we tried, e.g. `unix:///var/run/docker.sock`. */
  address: string;
  /** Where the address came from, for "how to point elsewhere" hints. */
  source: 'DOCKER_HOST' | 'docker context' | 'default';
  options: DockerOptions;
}

const DEFAULT_SOCKET = '/var/run/docker.sock';

export function resolveConnection(env: NodeJS.ProcessEnv): EngineConnection {
  if (env.DOCKER_HOST) return fromHost(env.DOCKER_HOST, env, 'DOCKER_HOST');
  const contextHost = dockerContextHost(env);
  if (contextHost) return fromHost(contextHost.host, { ...env, ...contextHost.tls }, 'docker context');
  const socket = process.platform === 'win32' ? '//./pipe/docker_engine' : DEFAULT_SOCKET;
  return { address: `unix://${socket}`, source: 'default', options: { socketPath: socket } };
}

function fromHost(host: string, env: NodeJS.ProcessEnv, source: EngineConnection['source']): EngineConnection {
  if (host.startsWith('unix://') || host.startsWith('npipe://')) {
    const socketPath = host.replace(/^(unix|npipe):\/\//, '') || DEFAULT_SOCKET;
    return { address: host, source, options: { socketPath } };
  }
  let url: URL;
  try {
    url = new URL(host);
  } catch {
    throw new Error(`DOCKER_HOST '${host}' is not an address like unix:///var/run/docker.sock or tcp://host:2375`);
  }
  if (url.protocol === 'ssh:') {
    return {
      address: host,
      source,
      options: {
        protocol: 'ssh',
        host: url.hostname,
        port: url.port ? Number(url.port) : 22,
        username: url.username ? decodeURIComponent(url.username) : undefined,
        // The ssh agent carries the keys; we never read key files ourselves.
        sshOptions: env.SSH_AUTH_SOCK ? { agent: env.SSH_AUTH_SOCK } : {},
      },
    };
  }
  if (url.protocol !== 'tcp:' && url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new Error(`DOCKER_HOST '${host}' has an unsupported scheme '${url.protocol}'`);
  }
  const tls = url.protocol === 'https:' || (env.DOCKER_TLS_VERIFY !== undefined && env.DOCKER_TLS_VERIFY !== '' && env.DOCKER_TLS_VERIFY !== '0') || url.port === '2376';
  const options: DockerOptions = {
    protocol: tls ? 'https' : 'http',
    host: url.hostname,
    port: url.port ? Number(url.port) : tls ? 2376 : 2375,
  };
  if (tls) {
    const certDir = env.DOCKER_CERT_PATH || path.join(os.homedir(), '.docker');
    const read = (name: string) => {
      const file = path.join(certDir, name);
      return fs.existsSync(file) ? fs.readFileSync(file) : undefined;
    };
    options.ca = read('ca.pem');
    options.cert = read('cert.pem');
    options.key = read('key.pem');
  }
  return { address: host, source, options };
}

/** The endpoint of the active Docker CLI context, when one other than `default` is selected. */
function dockerContextHost(env: NodeJS.ProcessEnv): { host: string; tls: NodeJS.ProcessEnv } | undefined {
  const configDir = env.DOCKER_CONFIG || path.join(env.HOME || os.homedir(), '.docker');
  let name = env.DOCKER_CONTEXT;
  if (!name) {
    try {
      name = JSON.parse(fs.readFileSync(path.join(configDir, 'config.json'), 'utf8')).currentContext;
    } catch {
      return undefined;
    }
  }
  if (!name || name === 'default') return undefined;
  const id = crypto.createHash('sha256').update(name).digest('hex');
  try {
    const meta = JSON.parse(fs.readFileSync(path.join(configDir, 'contexts', 'meta', id, 'meta.json'), 'utf8'));
    const endpoint = meta?.Endpoints?.docker;
    if (typeof endpoint?.Host !== 'string') return undefined;
    const tlsDir = path.join(configDir, 'contexts', 'tls', id, 'docker');
    const tls: NodeJS.ProcessEnv = fs.existsSync(tlsDir) && !endpoint.SkipTLSVerify ? { DOCKER_CERT_PATH: tlsDir, DOCKER_TLS_VERIFY: '1' } : {};
    return { host: endpoint.Host, tls };
  } catch {
    return undefined;
  }
}
