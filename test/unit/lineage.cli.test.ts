import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { main } from '../../src/cli';
import type { CliContext } from '../../src/cli/context';
import { openStore, LineageRecord } from '../../src/core/lineage';

function fakeContext(cwd: string): { ctx: CliContext; out: string[]; err: string[] } {
  const out: string[] = [];
  const err: string[] = [];
  return { ctx: { cwd, env: {}, out: (l) => out.push(l), err: (l) => err.push(l), signal: new AbortController().signal }, out, err };
}

async function run(cwd: string, ...argv: string[]) {
  const { ctx, out, err } = fakeContext(cwd);
  const code = await main(['lineage', ...argv], ctx);
  return { code, out: out.join('\n'), err: err.join('\n') };
}

/** A store with two versions of one notebook, a build and a run of the second. */
async function seeded(): Promise<{ ws: string; v1: LineageRecord; v2: LineageRecord; build: LineageRecord; runRec: LineageRecord }> {
  const ws = fs.mkdtempSync(path.join(os.tmpdir(), 'nb2prod-lineage-cli-'));
  const store = openStore(ws, { durable: false });
  const version = (hash: string, dataSha: string) => ({
    type: 'version' as const,
    notebook: 'notebooks/sales.ipynb',
    notebookHash: hash,
    planHash: 'plan',
    outDir: 'pipelines/sales',
    package: 'sales',
    files: [{ path: 'pipelines/sales/pipeline.json', sha256: 'f'.repeat(64), bytes: 10 }],
    steps: [
      { name: 'load', cells: [{ index: 0, id: 'c-load' }], outputs: ['df'] },
      { name: 'train', cells: [{ index: 1, id: 'c-train' }], outputs: ['model'] },
    ],
    data: [{ path: 'data/train.csv', sha256: dataSha, bytes: 100 }],
  });
  const v1 = await store.append(version('a'.repeat(64), '1'.repeat(64)));
  const v2 = await store.append(version('a'.repeat(64), '2'.repeat(64)));
  const build = await store.append({
    type: 'build',
    versionId: v2.id,
    notebook: 'notebooks/sales.ipynb',
    contextHash: 'c',
    dockerfileHash: 'd',
    baseImage: 'python:3.11-slim',
    imageId: 'sha256:' + '9e'.repeat(32),
    tags: ['nb2prod/sales:latest'],
    seconds: 12.5,
    status: 'succeeded',
  });
  const runRec = await store.append({
    type: 'run',
    versionId: v2.id,
    buildId: build.id,
    notebook: 'notebooks/sales.ipynb',
    runId: 'run-1',
    image: 'sha256:' + '9e'.repeat(32),
    local: false,
    params: { alpha: 1 },
    steps: [
      { name: 'load', status: 'succeeded', seconds: 0.5 },
      { name: 'train', status: 'succeeded', seconds: 3 },
    ],
    artifacts: [{ path: 'pipelines/sales/runs/run-1/model.pkl', sha256: '7c'.repeat(32), bytes: 2048, step: 'train' }],
    metrics: { rmse: 0.25 },
    status: 'succeeded',
  });
  return { ws, v1, v2, build, runRec };
}

test('lineage --json prints the tree in the agreed shape', async () => {
  const { ws, v2, build, runRec } = await seeded();
  const r = await run(ws, '--json');
  assert.equal(r.code, 0, r.err);
  const json = JSON.parse(r.out);
  assert.equal(json.notebooks.length, 1);
  const nb = json.notebooks[0];
  assert.equal(nb.path, 'notebooks/sales.ipynb');
  assert.equal(nb.versions.length, 2);
  const v = nb.versions[1];
  assert.equal(v.id, v2.id);
  assert.equal(v.hash, 'a'.repeat(64));
  assert.equal(typeof v.created, 'string');
  assert.deepEqual(
    v.builds.map((b: Record<string, unknown>) => [b.id, b.image, b.status]),
    [[build.id, 'sha256:' + '9e'.repeat(32), 'succeeded']],
  );
  assert.equal(v.runs[0].id, runRec.id);
  assert.equal(v.runs[0].status, 'succeeded');
  assert.deepEqual(v.runs[0].metrics, { rmse: 0.25 });
  assert.deepEqual(v.runs[0].artifacts, [{ path: 'pipelines/sales/runs/run-1/model.pkl', sha256: '7c'.repeat(32), bytes: 2048, step: 'train' }]);
});

test('lineage prints an indented text tree; a notebook argument filters, relative to the cwd', async () => {
  const { ws, v2, runRec } = await seeded();
  const r = await run(ws);
  assert.equal(r.code, 0, r.err);
  const lines = r.out.split('\n');
  assert.equal(lines[0], 'notebooks/sales.ipynb');
  assert.match(r.out, new RegExp(`^  version ${v2.id.slice(0, 12)} `, 'm'));
  assert.match(r.out, /^    build [0-9a-f]{12}  succeeded  .*image 9e9e9e9e9e9e/m);
  assert.match(r.out, new RegExp(`^    run ${runRec.id.slice(0, 12)}  succeeded  .* rmse=0\\.25`, 'm'));
  assert.match(r.out, /^      step train  succeeded  3\.00s  cells 1\(c-train\)$/m);
  assert.match(r.out, /^        artifact pipelines\/sales\/runs\/run-1\/model\.pkl  7c7c7c7c7c7c  2\.0 KB$/m);

  const sub = path.join(ws, 'notebooks');
  fs.mkdirSync(sub, { recursive: true });
  const filtered = await run(sub, 'sales.ipynb', '--workspace', ws, '--json');
  assert.equal(filtered.code, 0, filtered.err);
  assert.equal(JSON.parse(filtered.out).notebooks.length, 1);
  const other = await run(ws, 'other.ipynb');
  assert.equal(other.code, 1);
  assert.match(other.err, /no lineage recorded for other\.ipynb/);
});

test('lineage diff V1 V2 with id prefixes shows the data file change', async () => {
  const { ws, v1, v2 } = await seeded();
  const r = await run(ws, 'diff', v1.id.slice(0, 8), v2.id.slice(0, 8));
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, /data files:\n    ~ data\/train\.csv  111111111111 → 222222222222/);
  const j = await run(ws, 'diff', v1.id, v2.id, '--json');
  assert.deepEqual(
    JSON.parse(j.out).data.changed.map((c: { path: string }) => c.path),
    ['data/train.csv'],
  );
  const bad = await run(ws, 'diff', v1.id);
  assert.equal(bad.code, 2);
  const unknown = await run(ws, 'diff', v1.id, 'ffffffff');
  assert.equal(unknown.code, 1);
  assert.match(unknown.err, /no version with id "ffffffff"/);
});

test('lineage trace from an artifact path, a sha prefix and an image prefix', async () => {
  const { ws, v2, build } = await seeded();
  const byPath = await run(ws, 'trace', 'pipelines/sales/runs/run-1/model.pkl');
  assert.equal(byPath.code, 0, byPath.err);
  assert.match(byPath.out, /notebook notebooks\/sales\.ipynb/);
  assert.match(byPath.out, /step train  cells 1\(c-train\)/);
  assert.match(byPath.out, new RegExp(`version ${v2.id.slice(0, 12)}`));
  assert.match(byPath.out, new RegExp(`build ${build.id.slice(0, 12)}`));

  // A path relative to a subdirectory of the workspace.
  const fromSub = await run(path.join(ws, 'pipelines'), 'trace', 'sales/runs/run-1/model.pkl', '--workspace', ws, '--json');
  assert.equal(fromSub.code, 0, fromSub.err);
  assert.deepEqual(JSON.parse(fromSub.out).hits[0].steps, [{ name: 'train', cells: [{ index: 1, id: 'c-train' }] }]);

  const bySha = await run(ws, 'trace', '7c7c7c7c', '--json');
  assert.equal(JSON.parse(bySha.out).hits[0].artifact.path, 'pipelines/sales/runs/run-1/model.pkl');
  const byImage = await run(ws, 'trace', 'sha256:9e9e9e', '--json');
  assert.equal(JSON.parse(byImage.out).hits[0].build.id, build.id);
  const none = await run(ws, 'trace', 'nothing.pkl');
  assert.equal(none.code, 1);

  // A copy of an artifact elsewhere is found by its content.
  const { createHash } = await import('crypto');
  const content = 'the model bytes';
  const sha = createHash('sha256').update(content).digest('hex');
  await openStore(ws).append({
    type: 'run',
    notebook: 'notebooks/sales.ipynb',
    runId: 'run-2',
    local: true,
    params: {},
    steps: [],
    artifacts: [{ path: 'pipelines/sales/runs/run-2/model.pkl', sha256: sha, bytes: content.length, step: 'train' }],
    metrics: {},
    status: 'succeeded',
  });
  fs.writeFileSync(path.join(ws, 'deployed-model.pkl'), content);
  const byContent = await run(ws, 'trace', 'deployed-model.pkl', '--json');
  assert.equal(byContent.code, 0, byContent.err);
  assert.equal(JSON.parse(byContent.out).hits[0].artifact.path, 'pipelines/sales/runs/run-2/model.pkl');
});

test('lineage verify: 0 when intact, 1 naming the edited record', async () => {
  const { ws, build } = await seeded();
  const ok = await run(ws, 'verify');
  assert.equal(ok.code, 0, ok.err);
  assert.match(ok.out, /^ok: 4 records, chain intact/);
  const file = openStore(ws).file;
  fs.writeFileSync(file, fs.readFileSync(file, 'utf8').replace('"seconds":12.5', '"seconds":1.5'));
  const broken = await run(ws, 'verify');
  assert.equal(broken.code, 1);
  assert.match(broken.err, new RegExp(`broken at line 3 \\(id ${build.id}\\): .*edited`));
  const json = await run(ws, 'verify', '--json');
  assert.equal(json.code, 1);
  assert.equal(JSON.parse(json.out).break.line, 3);
});

test('lineage on an empty workspace, bad usage, and a torn store', async () => {
  const ws = fs.mkdtempSync(path.join(os.tmpdir(), 'nb2prod-lineage-cli-'));
  const empty = await run(ws, '--json');
  assert.equal(empty.code, 0);
  assert.deepEqual(JSON.parse(empty.out), { notebooks: [] });
  assert.equal((await run(ws, 'verify')).code, 0);
  assert.equal((await run(ws, '--bogus')).code, 2);
  assert.equal((await run(ws, 'verify', 'extra')).code, 2);

  const seededWs = (await seeded()).ws;
  fs.appendFileSync(openStore(seededWs).file, '{"id":"half');
  const torn = await run(seededWs, '--json');
  assert.equal(torn.code, 0);
  assert.equal(JSON.parse(torn.out).notebooks[0].versions.length, 2, 'stdout stays parseable');
  assert.match(torn.err, /warning: lineage store: line 5 is incomplete/);
});
