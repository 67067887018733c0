/**
 * The "done when" of the lineage issue: after productionize -> build -> run of the example,
 * `nb2prod lineage --json` shows the version with its build and run, every artifact's sha256
 * equals the file on disk, and `trace` on an artifact names the notebook cells that made it.
 */
import assert from 'node:assert/strict';
import { createHash } from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import { after, test } from 'node:test';
import type { ContainerEngine } from '../../src/core/docker/engine';
import { cli, removeRepository, removeTempDirs, requireEngine, ROOT, tempDir } from './helpers';

let engine: ContainerEngine | undefined;
let repository: string | undefined;

after(async () => {
  if (engine && repository) await removeRepository(engine, repository);
  await removeTempDirs();
});

test('productionize -> build -> run is recorded; artifacts verify and trace back to cells', async (t) => {
  engine = await requireEngine(t);
  if (!engine) return;
  const work = await tempDir();
  await fs.promises.cp(path.join(ROOT, 'examples'), work, { recursive: true });
  // A slug of its own, so the images this test builds are its own to remove.
  await fs.promises.rename(path.join(work, 'sales_forecast.ipynb'), path.join(work, 'lineage_e2e.ipynb'));

  assert.equal((await cli(['productionize', 'lineage_e2e.ipynb'], work)).code, 0);
  const build = await cli(['build', 'pipelines/lineage_e2e'], work);
  assert.equal(build.code, 0, build.err);
  repository = 'nb2prod/lineage_e2e';
  const run = await cli(['run', 'pipelines/lineage_e2e', '--run-id', 'r1'], work);
  assert.equal(run.code, 0, run.err);

  const lineage = await cli(['lineage', '--json'], work);
  assert.equal(lineage.code, 0, lineage.err);
  const json = JSON.parse(lineage.out);
  const nb = json.notebooks.find((n: { path: string }) => n.path === 'lineage_e2e.ipynb');
  assert.ok(nb, lineage.out);
  const version = nb.versions[nb.versions.length - 1];
  // `run` checks the image first: that check is recorded as an up-to-date build of the same image.
  assert.deepEqual(version.builds.map((b: { status: string }) => b.status), ['succeeded', 'up-to-date']);
  assert.match(version.builds[0].image, /^sha256:/);
  assert.equal(version.builds[1].image, version.builds[0].image);
  assert.equal(version.runs.length, 1);
  const [recorded] = version.runs;
  assert.equal(recorded.status, 'succeeded');
  assert.equal(typeof recorded.metrics.mae, 'number');
  assert.ok(recorded.artifacts.length >= 5);
  for (const a of recorded.artifacts) {
    const bytes = await fs.promises.readFile(path.join(work, a.path));
    assert.equal(createHash('sha256').update(bytes).digest('hex'), a.sha256, a.path);
    assert.equal(bytes.length, a.bytes);
  }

  const model = recorded.artifacts.find((a: { path: string }) => a.path.endsWith('train/model.pkl'));
  assert.ok(model, 'the train step saved the model');
  const trace = await cli(['lineage', 'trace', model.path], work);
  assert.equal(trace.code, 0, trace.err);
  assert.match(trace.out, /step train\s+cells 8\(train\)/);
  assert.match(trace.out, /lineage_e2e\.ipynb/);
  const byHash = await cli(['lineage', 'trace', model.sha256.slice(0, 12)], work);
  assert.match(byHash.out, /step train/);
  const byImage = await cli(['lineage', 'trace', version.builds[0].image], work);
  assert.match(byImage.out, /build/);

  assert.equal((await cli(['lineage', 'verify'], work)).code, 0);
});
