/**
 * Starts a real VS Code server (code-server) for the end-to-end tests and stops it again.
 * The server runs detached in its own process group so that `stop()` takes down its
 * extension host and file watchers too.
 */
import { spawn, spawnSync, type ChildProcess } from 'child_process';
import * as fs from 'fs';
import * as net from 'net';
import * as os from 'os';
import * as path from 'path';

/** Where test/setup/vscode.sh installs code-server, unless NB2PROD_CODE_SERVER names the binary. */
export function findCodeServer(env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (env.NB2PROD_CODE_SERVER) return env.NB2PROD_CODE_SERVER;
  const tools = env.NB2PROD_TOOLS_DIR ?? path.join(os.homedir(), '.cache', 'nb2prod-tools');
  const bin = path.join(tools, 'code-server', 'node_modules', '.bin', 'code-server');
  return fs.existsSync(bin) ? bin : undefined;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

/** User settings that keep a test workbench quiet and deterministic. */
export const TEST_SETTINGS: Record<string, unknown> = {
  'workbench.startupEditor': 'none',
  'workbench.tips.enabled': false,
  'workbench.enableExperiments': false,
  'telemetry.telemetryLevel': 'off',
  'update.mode': 'none',
  'extensions.autoCheckUpdates': false,
  'extensions.autoUpdate': false,
  'extensions.ignoreRecommendations': true,
  'security.workspace.trust.enabled': false,
  'git.enabled': false,
  'notebook.experimental.remoteSave': false,
};

export interface CodeServerOptions {
  binary: string;
  userDataDir: string;
  extensionsDir: string;
  /** Merged over TEST_SETTINGS and any settings.json already in the user-data dir. */
  settings?: Record<string, unknown>;
  env?: NodeJS.ProcessEnv;
  log?: (line: string) => void;
  /**
   * Open folders in Restricted Mode: workspace trust on, no startup prompt (a modal would
   * block the page), nothing trusted. Otherwise trust is off and every folder is trusted.
   */
  untrusted?: boolean;
}

export interface CodeServer {
  url: string;
  /** `127.0.0.1:PORT`: the authority of `vscode-remote://` URIs for this server. */
  authority: string;
  stop(): Promise<void>;
}

export function writeUserSettings(userDataDir: string, settings: Record<string, unknown> = {}): void {
  const file = path.join(userDataDir, 'User', 'settings.json');
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const existing = fs.existsSync(file) ? JSON.parse(fs.readFileSync(file, 'utf8') || '{}') : {};
  fs.writeFileSync(file, JSON.stringify({ ...TEST_SETTINGS, ...existing, ...settings }, null, 2));
}

export async function startCodeServer(opts: CodeServerOptions): Promise<CodeServer> {
  const log = opts.log ?? (() => undefined);
  fs.mkdirSync(opts.userDataDir, { recursive: true });
  fs.mkdirSync(opts.extensionsDir, { recursive: true });
  const trust = opts.untrusted
    ? { 'security.workspace.trust.enabled': true, 'security.workspace.trust.startupPrompt': 'never' }
    : {};
  writeUserSettings(opts.userDataDir, { ...trust, ...opts.settings });
  // An explicit (empty) config file keeps code-server from creating one in the user's home.
  const config = path.join(opts.userDataDir, 'code-server.yaml');
  fs.writeFileSync(config, '');
  const port = await freePort();
  const authority = `127.0.0.1:${port}`;
  const child = spawn(
    opts.binary,
    [
      '--config', config,
      '--bind-addr', authority,
      '--auth', 'none',
      '--user-data-dir', opts.userDataDir,
      '--extensions-dir', opts.extensionsDir,
      '--disable-telemetry',
      '--disable-update-check',
      ...(opts.untrusted ? [] : ['--disable-workspace-trust']),
      '--disable-getting-started-override',
    ],
    {
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
      // No marketplace: the tests are offline, and lookups only add noise and delay.
      env: { EXTENSIONS_GALLERY: '{}', ...process.env, ...opts.env },
    },
  );
  const output: string[] = [];
  const onData = (d: Buffer) => {
    for (const line of d.toString().split('\n').filter(Boolean)) {
      output.push(line);
      log(`[code-server] ${line}`);
    }
  };
  child.stdout!.on('data', onData);
  child.stderr!.on('data', onData);
  const url = `http://${authority}`;
  const server: CodeServer = { url, authority, stop: () => killGroup(child) };
  try {
    await waitForHealth(url, child, 60_000);
  } catch (e) {
    await server.stop();
    throw new Error(`${(e as Error).message}\n${output.slice(-20).join('\n')}`);
  }
  return server;
}

async function waitForHealth(url: string, child: ChildProcess, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`code-server exited early with code ${child.exitCode}`);
    try {
      const res = await fetch(`${url}/healthz`);
      if (res.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`code-server did not answer on ${url} within ${timeoutMs / 1000}s`);
}

/** SIGTERM the whole process group, then SIGKILL whatever is left after a grace period. */
async function killGroup(child: ChildProcess): Promise<void> {
  if (child.pid === undefined) return;
  const pgid = child.pid;
  const alive = () => {
    try {
      process.kill(-pgid, 0);
      return true;
    } catch {
      return false;
    }
  };
  if (!alive()) return;
  process.kill(-pgid, 'SIGTERM');
  const deadline = Date.now() + 5000;
  while (alive() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  if (alive()) process.kill(-pgid, 'SIGKILL');
}

/** `code-server --install-extension FILE.vsix` into the given extensions dir. */
export function installExtension(binary: string, vsix: string, userDataDir: string, extensionsDir: string): string {
  fs.mkdirSync(userDataDir, { recursive: true });
  const config = path.join(userDataDir, 'code-server.yaml');
  fs.writeFileSync(config, '');
  const r = spawnSync(
    binary,
    ['--config', config, '--user-data-dir', userDataDir, '--extensions-dir', extensionsDir, '--install-extension', vsix, '--force'],
    { encoding: 'utf8', timeout: 120_000 },
  );
  const out = `${r.stdout ?? ''}${r.stderr ?? ''}`;
  if (r.status !== 0) throw new Error(`--install-extension failed (exit ${r.status}):\n${out}`);
  return out;
}
