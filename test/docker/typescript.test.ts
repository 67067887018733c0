/**
 * TypeScript notebooks get the same container guarantees as Python ones: `nb2prod run` builds
 * the Node image and the container run gives the same steps, artifacts and metrics as
 * `node main.mjs` on the host.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { after, test } from 'node:test';
import { main } from '../../src/cli';
import type { CliContext } from '../../src/cli/context';
import type { ContainerEngine } from '../../src/core/docker/engine';
import { removeRepository, removeTempDirs, requireEngine, ROOT, tempDir } from './helpers';

let engine: ContainerEngine | undefined;

after(async () => {
  if (engine) await removeRepository(engine, 'nb2prod/ts_container_e2e');
  await removeTempDirs();
});

interface RunJson {
  status: string;
  steps: { name: string; status: string }[];
  artifacts: { path: string; sha256: string }[];
  metrics: Record<string, unknown>;
}

const summary = (r: RunJson) => ({
  status: r.status,
  steps: r.steps.map((s) => `${s.name}:${s.status}`),
  artifacts: r.artifacts.map((a) => `${a.path}:${a.sha256}`).sort(),
  metrics: r.metrics,
});

test('a TypeScript notebook builds and runs in a Node container like it runs on the host', async (t) => {
  engine = await requireEngine(t);
  if (!engine) return;
  const work = await tempDir();
  await fs.promises.copyFile(path.join(ROOT, 'test', 'fixtures', 'notebooks', 'ts_pipeline.ipynb'), path.join(work, 'ts_container_e2e.ipynb'));
  const err: string[] = [];
  const ctx: CliContext = { cwd: work, env: process.env, out: () => undefined, err: (l) => err.push(l), signal: new AbortController().signal };
  assert.equal(await main(['run', 'ts_container_e2e.ipynb', '--run-id', 'container'], ctx), 0, err.join('\n'));

  const out = path.join(work, 'pipelines', 'ts_container_e2e');
  const local = spawnSync(process.execPath, ['main.mjs', '--run-id', 'local'], { cwd: out, encoding: 'utf8' });
  assert.equal(local.status, 0, local.stderr);
  const read = async (id: string) => JSON.parse(await fs.promises.readFile(path.join(out, 'artifacts', id, 'run.json'), 'utf8')) as RunJson;
  const container = await read('container');
  assert.equal(container.status, 'succeeded');
  assert.deepEqual(summary(container), summary(await read('local')));
});
