/**
 * `nb2prod reproduce` of a container run: in the same image while the engine has it; after the
 * image is removed, rebuilt from the same files (and said so). The example is seeded: both times
 * every artifact and metric is the same.
 */
import assert from 'node:assert/strict';
import * as fs from 'fs';
import * as path from 'path';
import { after, test } from 'node:test';
import type { ContainerEngine } from '../../src/core/docker/engine';
import { cli, removeRepository, removeTempDirs, requireEngine, ROOT, tempDir } from './helpers';

let engine: ContainerEngine | undefined;
const REPOSITORY = 'nb2prod/reproduce_e2e';

after(async () => {
  if (engine) await removeRepository(engine, REPOSITORY);
  await removeTempDirs();
});

test('reproduce a container run in its image, then in a rebuilt one once the image is gone', async (t) => {
  engine = await requireEngine(t);
  if (!engine) return;
  const work = await tempDir();
  await fs.promises.cp(path.join(ROOT, 'examples'), work, { recursive: true });
  // A slug of its own, so the images this test builds are its own to remove.
  await fs.promises.rename(path.join(work, 'sales_forecast.ipynb'), path.join(work, 'reproduce_e2e.ipynb'));
  assert.equal((await cli(['productionize', 'reproduce_e2e.ipynb'], work)).code, 0);
  const run = await cli(['run', 'pipelines/reproduce_e2e', '--run-id', 'c1', '--jobs', '1'], work);
  assert.equal(run.code, 0, run.err);

  const same = await cli(['reproduce', 'c1'], work);
  assert.equal(same.code, 0, `${same.out}\n${same.err}`);
  assert.match(same.out, /^identical: \d+ same, 0 differs, 0 new, 0 missing$/m);
  assert.doesNotMatch(same.err, /rebuilt/);

  await removeRepository(engine, REPOSITORY);
  const rebuilt = await cli(['reproduce', 'c1'], work);
  assert.equal(rebuilt.code, 0, `${rebuilt.out}\n${rebuilt.err}`);
  assert.match(rebuilt.err, /image [0-9a-f]{12} of run c1 is gone: rebuilt as [0-9a-f]{12}/);

  const json = JSON.parse((await cli(['lineage', '--json'], work)).out);
  const original = json.notebooks[0].versions[0].runs.find((r: { runId: string }) => r.runId === 'c1');
  assert.deepEqual(
    original.reproductions.map((x: { status: string; local: boolean; rebuilt?: boolean }) => [x.status, x.local, x.rebuilt ?? false]),
    [
      ['identical', false, false],
      ['identical', false, true],
    ],
  );
  assert.equal((await cli(['lineage', 'verify'], work)).code, 0);
});
