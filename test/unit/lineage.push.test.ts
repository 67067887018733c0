/** Push records: linked to the build of their image, folded under it, shown, kept through snapshots. */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { latestPush, loadModel, openStore, recordPush, readSnapshot, snapshotPath, trace, verifyStore, SNAPSHOT_EVERY, LineageStore } from '../../src/core/lineage';
import { renderTraceText, renderTreeText, treeJson } from '../../src/core/lineage/render';

const IMAGE = 'sha256:' + '9e'.repeat(32);
const DIGEST = 'sha256:' + '5d'.repeat(32);

async function storeWithPush(): Promise<{ ws: string; store: LineageStore; ids: { version: string; build: string; push: string } }> {
  const ws = fs.mkdtempSync(path.join(os.tmpdir(), 'nb2prod-lineage-push-'));
  const store = openStore(ws, { durable: false });
  const version = await store.append({ type: 'version', notebook: 'nb.ipynb', notebookHash: 'h', planHash: 'p', outDir: 'pipelines/nb', package: 'nb', files: [], steps: [], data: [] });
  const build = await store.append({
    type: 'build',
    versionId: version.id,
    notebook: 'nb.ipynb',
    contextHash: 'c'.repeat(64),
    dockerfileHash: 'd',
    baseImage: 'python:3.11-slim',
    imageId: IMAGE,
    tags: ['nb2prod/nb:cccccccccccc'],
    seconds: 3,
    status: 'succeeded',
  });
  // The push names neither build nor version: recording finds the build of its image.
  const push = await recordPush(
    {
      workspaceDir: ws,
      notebookPath: 'nb.ipynb',
      registry: '127.0.0.1:5000/team',
      reference: '127.0.0.1:5000/team/nb:cccccccccccc',
      digest: DIGEST,
      imageId: IMAGE,
      contextHash: 'c'.repeat(64),
      seconds: 1.5,
    },
    { store },
  );
  return { ws, store, ids: { version: version.id, build: build.id, push: push.id } };
}

test('a push is recorded as a child of the build that made its image, and the chain verifies', async () => {
  const { store, ids } = await storeWithPush();
  const record = latestPush(store, (r) => r.contextHash === 'c'.repeat(64));
  assert.ok(record);
  assert.equal(record.buildId, ids.build);
  assert.equal(record.versionId, ids.version);
  assert.deepEqual(record.parents, [ids.version, ids.build]);
  assert.equal(latestPush(store, (r) => r.registry === 'elsewhere.example.com'), undefined);
  assert.ok(verifyStore(store.file).ok);
});

test('the model puts the push under its build; text and JSON views show the reference by digest', async () => {
  const { store, ids } = await storeWithPush();
  const { model, problems } = loadModel(store, { strict: true, snapshot: false });
  assert.deepEqual(problems, []);
  const build = model.get(ids.build);
  assert.equal(build?.kind, 'build');
  assert.deepEqual(build.kind === 'build' && build.pushes.map((p) => p.id), [ids.push]);
  const version = model.get(ids.version);
  assert.deepEqual(version?.kind === 'version' && version.pushes.map((p) => p.id), [ids.push]);

  const text = renderTreeText(model);
  assert.match(text.join('\n'), new RegExp(`^ {4}build .*\\n {6}push ${ids.push.slice(0, 12)} .* 127\\.0\\.0\\.1:5000/team/nb@${DIGEST}$`, 'm'));
  const json = treeJson(model) as { notebooks: { versions: { pushes: Record<string, unknown>[] }[] }[] };
  const pushed = json.notebooks[0].versions[0].pushes[0];
  assert.equal(pushed.pushed, `127.0.0.1:5000/team/nb@${DIGEST}`);
  assert.equal(pushed.buildId, ids.build);
});

test('push entries survive the snapshot: a load through it sees what a full read sees', async () => {
  const { store, ids } = await storeWithPush();
  for (let i = 0; i < SNAPSHOT_EVERY; i++) await store.append({ type: 'version', notebook: `other${i % 3}.ipynb`, notebookHash: `h${i}`, planHash: 'p', outDir: 'o', package: 'p', files: [], steps: [], data: [] });
  const full = JSON.stringify(treeJson(loadModel(store, { snapshot: false }).model));
  fs.rmSync(snapshotPath(store.file), { force: true });
  loadModel(store);
  assert.ok(readSnapshot(store.file), 'a snapshot was written');
  const { model } = loadModel(store);
  assert.equal(JSON.stringify(treeJson(model)), full);
  assert.equal(model.get(ids.push)?.kind, 'push');
});

test('lineage trace: a pushed reference (by digest or tag) or the registry digest leads to the build, its version and steps', async () => {
  const { store, ids } = await storeWithPush();
  const { model } = loadModel(store, { strict: true, snapshot: false });
  for (const query of [`127.0.0.1:5000/team/nb@${DIGEST}`, '127.0.0.1:5000/team/nb:cccccccccccc', DIGEST]) {
    const hits = trace(model, query);
    assert.equal(hits.length, 1, query);
    assert.deepEqual([hits[0].match, hits[0].push?.id, hits[0].build?.id, hits[0].version?.id], ['image', ids.push, ids.build, ids.version]);
    assert.match(renderTraceText(hits)[0], new RegExp(`^pushed 127\\.0\\.0\\.1:5000/team/nb@${DIGEST} {2}push ${ids.push.slice(0, 12)} `));
  }
  // Another registry's image of the same name is not this push.
  assert.deepEqual(trace(model, `elsewhere.example.com/team/nb@${DIGEST}`), []);
});
