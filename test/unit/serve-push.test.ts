/**
 * `push --serve` without an engine: argument errors (a TypeScript notebook, a notebook without a
 * serve cell, flags that do not apply) and the lineage of a serving image's push: its parents,
 * the fold, the tree, and `lineage trace` from the pushed reference to the run, version and cells.
 * The real build and registry are in test/docker/serve-push.test.ts.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { latestPush, loadModel, openStore, recordPush, recordServe, trace, verifyStore } from '../../src/core/lineage';
import { renderTraceText, renderTreeText, traceJson } from '../../src/core/lineage/render';
import { cliInProcess, SCIENTIFIC_PYTHON } from '../helpers/cli';
import { FIXTURES, tempDir, writeNotebook } from '../helpers/notebooks';

const REGISTRY = ['--registry', '127.0.0.1:5999/team'];
const DIGEST = 'sha256:' + '7a'.repeat(32);
const SERVE_HASH = 'b'.repeat(64);

describe('nb2prod push --serve: what it refuses', () => {
  it('a TypeScript notebook (or its pipeline directory): one clear error, exit 1, nothing recorded', async () => {
    const dir = tempDir('nb2prod-serve-push-ts-');
    fs.copyFileSync(path.join(FIXTURES, 'notebooks', 'ts_pipeline.ipynb'), path.join(dir, 'sales.ipynb'));
    const r = await cliInProcess(['push', 'sales.ipynb', '--serve', ...REGISTRY], dir);
    assert.equal(r.code, 1, r.err);
    assert.equal(r.out, '');
    assert.match(r.err, /^error: .*sales\.ipynb is a typescript notebook: only a Python notebook's run can be served/m);
    assert.equal((await cliInProcess(['productionize', 'sales.ipynb'], dir)).code, 0);
    const fromDir = await cliInProcess(['push', 'pipelines/sales', '--serve', ...REGISTRY], dir);
    assert.equal(fromDir.code, 1, fromDir.err);
    assert.match(fromDir.err, /is a typescript notebook/);
    assert.equal(fs.readFileSync(openStore(dir).file, 'utf8').includes('"push"'), false);
  });

  it('flags that do not go with --serve, or --run without it: usage errors (exit 2) before anything is read', async () => {
    const dir = tempDir('nb2prod-serve-push-usage-');
    for (const [argv, message] of [
      [['push', 'nb.ipynb', '--run', 'r1', ...REGISTRY], /--run names the run whose serving image --serve pushes/],
      [['push', 'nb.ipynb', '--serve', '--out', 'x', ...REGISTRY], /--out is for productionizing the pipeline/],
      [['push', 'nb.ipynb', '--serve', '--force', ...REGISTRY], /--force is for productionizing/],
      [['push', 'nb.ipynb', '--serve'], /--registry HOST\[:PORT\]\[\/NAMESPACE\] is required/],
    ] as const) {
      const r = await cliInProcess([...argv], dir);
      assert.equal(r.code, 2, `${argv.join(' ')}: ${r.err}`);
      assert.match(r.err, message);
      assert.equal(r.out, '');
    }
  });

  const hasPython = spawnSync(SCIENTIFIC_PYTHON, ['-c', 'pass']).status === 0;
  it('a run of a notebook without a serve cell: the error names the tag to add, exit 1', { skip: hasPython ? false : `no ${SCIENTIFIC_PYTHON}` }, async () => {
    const dir = tempDir('nb2prod-serve-push-none-');
    writeNotebook(dir, 'plain.ipynb', [{ source: 'total = sum(range(10))\nprint(total)', tags: ['step:sum'] }]);
    assert.equal((await cliInProcess(['productionize', 'plain.ipynb'], dir)).code, 0);
    const ran = await cliInProcess(['run', 'pipelines/plain', '--local', '--python', SCIENTIFIC_PYTHON, '--jobs', '1'], dir);
    assert.equal(ran.code, 0, ran.err);
    const r = await cliInProcess(['push', 'plain.ipynb', '--serve', ...REGISTRY], dir);
    assert.equal(r.code, 1, r.err);
    assert.match(r.err, /^error: version [0-9a-f]+ of plain\.ipynb has no serving function: tag the cell that defines it .* serve,/m);
    assert.equal(r.out, '');
    const none = await cliInProcess(['push', 'plain.ipynb', '--serve', '--run', 'no-such-run', ...REGISTRY], dir);
    assert.equal(none.code, 1);
    assert.match(none.err, /no run with id "no-such-run"/);
  });
});

describe("a serving image's push in the lineage", () => {
  async function storeWithServePush() {
    const ws = tempDir('nb2prod-serve-push-lineage-');
    const store = openStore(ws, { durable: false });
    const version = await store.append({
      type: 'version', notebook: 'nb.ipynb', notebookHash: 'h', planHash: 'p', outDir: 'pipelines/nb', package: 'nb', files: [],
      steps: [{ name: 'train', cells: [{ index: 3, id: 'train' }], outputs: ['model'] }], data: [],
    });
    const run = await store.append({
      type: 'run', versionId: version.id, notebook: 'nb.ipynb', runId: 'r1', local: true, params: {}, steps: [{ name: 'train', status: 'succeeded', seconds: 1 }],
      artifacts: [{ path: 'pipelines/nb/artifacts/r1/train/model.pkl', sha256: 'f'.repeat(64), bytes: 1, step: 'train', name: 'model' }], metrics: {}, status: 'succeeded',
    });
    const serve = await recordServe(
      {
        workspaceDir: ws, versionId: version.id, notebook: 'nb.ipynb', run: run.id, runId: 'r1', model: 'nb', image: 'nb2prod/nb-serve:bbbbbbbbbbbb',
        imageId: 'sha256:' + 'e1'.repeat(32), hash: SERVE_HASH, local: false, function: 'predict', cell: { index: 4, id: 'serve' },
        artifacts: [{ name: 'model', step: 'train', sha256: 'f'.repeat(64) }], served: false,
      },
      { store },
    );
    const push = await recordPush(
      {
        workspaceDir: ws, notebookPath: 'nb.ipynb', versionId: version.id, serveId: serve.id, registry: '127.0.0.1:5000/team',
        reference: '127.0.0.1:5000/team/nb-serve:bbbbbbbbbbbb', digest: DIGEST, imageId: 'sha256:' + 'e1'.repeat(32), contextHash: SERVE_HASH, seconds: 2,
      },
      { store },
    );
    return { ws, store, ids: { version: version.id, run: run.id, serve: serve.id, push: push.id } };
  }

  it('is a child of its version and serve record (no build), folds without issues, and is found by its hash', async () => {
    const { store, ids } = await storeWithServePush();
    const record = latestPush(store, (r) => r.serveId !== undefined && r.contextHash === SERVE_HASH)!;
    assert.equal(record.id, ids.push);
    assert.deepEqual(record.parents, [ids.version, ids.serve]);
    assert.equal(record.buildId, undefined);
    assert.ok(verifyStore(store.file).ok);
    const { model, problems } = loadModel(store, { strict: true, snapshot: false });
    assert.deepEqual(problems, []);
    assert.deepEqual(model.issues, []);
    const version = model.get(ids.version);
    assert.ok(version?.kind === 'version');
    assert.deepEqual(version.pushes.map((p) => p.id), [ids.push]);
    const text = renderTreeText(model).join('\n');
    assert.match(text, new RegExp(`^ {4}push ${ids.push.slice(0, 12)} .* 127\\.0\\.0\\.1:5000/team/nb-serve@${DIGEST}$`, 'm'));
    assert.match(text, /^ {6}serve [0-9a-f]{12} .* model nb {2}1 artifact {2}built to push, not served$/m);
  });

  it('lineage trace: the pushed reference (by digest, by tag, or the registry digest) leads to the run, version and cells', async () => {
    const { store, ids } = await storeWithServePush();
    const { model } = loadModel(store, { strict: true, snapshot: false });
    for (const query of [`127.0.0.1:5000/team/nb-serve@${DIGEST}`, '127.0.0.1:5000/team/nb-serve:bbbbbbbbbbbb', DIGEST, '7a7a7a7a7a7a']) {
      const hits = trace(model, query);
      assert.equal(hits.length, 1, query);
      assert.equal(hits[0].push?.id, ids.push);
      assert.equal(hits[0].serve?.id, ids.serve);
      assert.equal(hits[0].run?.id, ids.run);
      assert.equal(hits[0].version?.id, ids.version);
      const text = renderTraceText(hits).join('\n');
      assert.match(text, new RegExp(`^pushed 127\\.0\\.0\\.1:5000/team/nb-serve@${DIGEST} {2}push ${ids.push.slice(0, 12)} `, 'm'));
      assert.match(text, /^serving image nb2prod\/nb-serve:bbbbbbbbbbbb {2}e1e1e1e1e1e1 {2}model nb {2}run r1 {2}\(built to push, not served\)$/m);
      assert.match(text, /^ {4}step train {2}cells 3\(train\)$/m);
      assert.match(text, /^ {4}serve predict {2}cells 4\(serve\)$/m);
    }
    const json = traceJson(trace(model, DIGEST)).hits[0] as { match: string; push: { id: string; serveId: string }; run: { runId: string } };
    assert.deepEqual([json.match, json.push.id, json.push.serveId, json.run.runId], ['serve', ids.push, ids.serve, 'r1']);
    assert.deepEqual(trace(model, '127.0.0.1:5000/team/nb-serve@sha256:' + '00'.repeat(32)), []);
  });
});
