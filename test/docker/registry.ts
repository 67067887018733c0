/**
 * A real registry for push tests: Debian's docker-registry on 127.0.0.1 (which the engine treats
 * as insecure, so no TLS), storing into a temporary directory, started and stopped by the tests.
 */
import assert from 'node:assert/strict';
import { ChildProcess, spawn, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as net from 'net';
import * as path from 'path';
import type { TestContext } from 'node:test';
import { tempDir } from './helpers';

export interface Registry {
  port: number;
  child: ChildProcess;
}

/** The registry binary, or undefined after skipping loudly (a failure in CI, which installs it). */
export function requireRegistryBinary(t: TestContext): boolean {
  const found = spawnSync('sh', ['-c', 'command -v docker-registry'], { encoding: 'utf8' });
  if (found.status === 0) return true;
  const reason = 'docker-registry is not installed (Debian package docker-registry)';
  if (process.env.CI === 'true') throw new Error(`push tests must run in CI: ${reason}`);
  process.stderr.write(`\n!!! SKIPPING push test "${t.name}": ${reason}\n\n`);
  t.skip(reason);
  return false;
}

export async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

export async function startRegistry(): Promise<Registry> {
  const dir = await tempDir('nb2prod-registry-');
  const port = await freePort();
  const config = path.join(dir, 'config.yml');
  await fs.promises.writeFile(
    config,
    ['version: 0.1', 'storage:', '  filesystem:', `    rootdirectory: ${path.join(dir, 'data')}`, 'http:', `  addr: 127.0.0.1:${port}`, ''].join('\n'),
  );
  // Its log goes to a file: the CLI runs through spawnSync, and a pipe nobody drains meanwhile
  // would fill up and stall the registry mid-push.
  const log = path.join(dir, 'registry.log');
  const child = spawn('docker-registry', ['serve', config], { stdio: ['ignore', 'ignore', fs.openSync(log, 'w')] });
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) break;
    const ok = await fetch(`http://127.0.0.1:${port}/v2/`).then((r) => r.ok, () => false);
    if (ok) return { port, child };
    await new Promise((r) => setTimeout(r, 100));
  }
  child.kill();
  throw new Error(`docker-registry did not start on 127.0.0.1:${port}:\n${fs.readFileSync(log, 'utf8').slice(-4000)}`);
}

export async function stopRegistry(r: Registry): Promise<void> {
  if (r.child.exitCode !== null) return;
  const exited = new Promise((resolve) => r.child.once('exit', resolve));
  r.child.kill();
  await exited;
}

/** What the registry says the manifest's digest is: the Docker-Content-Digest of a v2 manifest GET. */
export async function registryDigest(port: number, name: string, tag: string): Promise<string | null> {
  const res = await fetch(`http://127.0.0.1:${port}/v2/${name}/manifests/${tag}`, {
    headers: { Accept: 'application/vnd.docker.distribution.manifest.v2+json' },
  });
  assert.equal(res.status, 200, `the registry has ${name}:${tag}`);
  return res.headers.get('docker-content-digest');
}
