/**
 * Export records through every way the lineage is read: the fast header scan, a full parse, and
 * the snapshot (written every SNAPSHOT_EVERY records) all fold them under their version.
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { loadModel, openStore, readSnapshot, RecordInput, SNAPSHOT_EVERY, verifyStore } from '../../src/core/lineage';
import { renderTreeText, treeJson } from '../../src/core/lineage/render';

function version(i: number): RecordInput {
  return { type: 'version', notebook: 'nb.ipynb', notebookHash: `h${i}`, planHash: 'p', outDir: 'o', package: 'p', files: [], steps: [], data: [] };
}

function exportOf(versionId: string, i: number): RecordInput {
  return { type: 'export', versionId, notebook: 'nb.ipynb', target: i % 2 ? 'argo' : 'kfp', file: `o/p.${i}.yaml`, sha256: 'a'.repeat(64), bytes: i, image: 'r.example/p:1', imageSource: 'option' };
}

test('export records fold under their version whether scanned, parsed in full or read from a snapshot', async () => {
  const ws = fs.mkdtempSync(path.join(os.tmpdir(), 'nb2prod-lineage-export-'));
  const store = openStore(ws, { durable: false });
  let last = '';
  for (let i = 0; i < SNAPSHOT_EVERY + 10; i++) {
    if (i % 50 === 0) last = (await store.append(version(i))).id;
    else {
      const r = await store.append(exportOf(last, i));
      assert.deepEqual(r.parents, [last], 'an export is a child of its version');
    }
  }
  const fresh = loadModel(store, { snapshot: false });
  assert.deepEqual(fresh.problems, []);
  loadModel(store);
  assert.ok(readSnapshot(store.file), 'a snapshot was written');
  const viaSnapshot = loadModel(store);
  assert.equal(JSON.stringify(treeJson(viaSnapshot.model)), JSON.stringify(treeJson(fresh.model)));
  const strict = loadModel(store, { strict: true, snapshot: false });
  assert.equal(JSON.stringify(treeJson(strict.model)), JSON.stringify(treeJson(fresh.model)));
  const versions = (treeJson(fresh.model).notebooks[0] as { versions: { exports: { target: string; file: string }[] }[] }).versions;
  assert.equal(versions.length, Math.ceil((SNAPSHOT_EVERY + 10) / 50));
  assert.equal(versions[0].exports.length, 49);
  assert.deepEqual(versions[0].exports[0], { ...versions[0].exports[0], target: 'argo', file: 'o/p.1.yaml' });
  assert.match(renderTreeText(fresh.model).join('\n'), /export [0-9a-f]{12}  argo  .*o\/p\.1\.yaml  sha aaaaaaaaaaaa  image r\.example\/p:1/);
  assert.equal((await verifyStore(store.file)).ok, true);
});
