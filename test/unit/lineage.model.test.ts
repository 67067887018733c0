import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { createHash } from 'crypto';
import {
  diffVersions,
  findByIdPrefix,
  foldRecords,
  openStore,
  recordBuild,
  recordRun,
  recordVersion,
  stableHash,
  trace,
  LiveLineage,
  VersionFacts,
} from '../../src/core/lineage';

const sha = (s: string) => createHash('sha256').update(s).digest('hex');

function write(root: string, rel: string, content: string): void {
  fs.mkdirSync(path.dirname(path.join(root, rel)), { recursive: true });
  fs.writeFileSync(path.join(root, rel), content);
}

/** A workspace as productionize leaves it: notebook, data, generated package. */
function workspace(): { ws: string; facts: VersionFacts } {
  const ws = fs.mkdtempSync(path.join(os.tmpdir(), 'nb2prod-lineage-model-'));
  write(ws, 'notebooks/sales.ipynb', '{"cells": []}');
  write(ws, 'data/train.csv', 'a,b\n1,2\n');
  write(ws, 'notebooks/local.json', '{"k": 1}');
  write(ws, 'pipelines/sales/pipeline.json', '{}');
  write(ws, 'pipelines/sales/sales/steps/load.py', 'def run(): ...\n');
  write(ws, 'pipelines/sales/sales/steps/train.py', 'def run(df): ...\n');
  const code = [
    'import pandas as pd\ndf = pd.read_csv("data/train.csv")  # relative to the workspace',
    "cfg = json.load(open('local.json'))  # relative to the notebook\nURL = 'https://example.com/data.csv'",
    'model = fit(df)\nprint(f"{model} done")',
  ];
  const facts: VersionFacts = {
    workspaceDir: ws,
    notebookPath: 'notebooks/sales.ipynb',
    notebookHash: sha('sources v1'),
    planHash: stableHash({ steps: ['load', 'train'] }),
    outDir: 'pipelines/sales',
    packageName: 'sales',
    generatedFiles: ['pipeline.json', 'sales/steps/load.py', 'sales/steps/train.py'],
    steps: [
      { name: 'load', cells: [{ index: 1, id: 'cell-load' }], outputs: ['df'] },
      { name: 'train', cells: [{ index: 2, id: 'cell-train' }, { index: 3, id: 'cell-train-2' }], outputs: ['model'] },
    ],
    code,
  };
  return { ws, facts };
}

/** What the generated runtime writes after a run. */
function writeRun(ws: string, runDir: string, runId: string, status: 'succeeded' | 'failed'): void {
  const model = `model bytes ${runId}`;
  const df = `df bytes ${runId}`;
  write(ws, path.join(runDir, 'artifacts/model.pkl'), model);
  write(ws, path.join(runDir, 'artifacts/df.pkl'), df);
  write(
    ws,
    path.join(runDir, 'run.json'),
    JSON.stringify({
      run_id: runId,
      params: { alpha: 0.5 },
      status,
      started: '2026-01-01T00:00:00Z',
      finished: '2026-01-01T00:00:09Z',
      steps: [
        { name: 'load', status: 'succeeded', seconds: 1.25 },
        { name: 'train', status, seconds: 7.5, ...(status === 'failed' ? { error: 'ValueError: bad input' } : {}) },
      ],
      artifacts: [
        { path: 'artifacts/df.pkl', sha256: sha(df), bytes: df.length, step: 'load', name: 'df' },
        { path: 'artifacts/model.pkl', sha256: sha(model), bytes: model.length, step: 'train', name: 'model' },
      ],
      metrics: { rmse: 0.42 },
    }),
  );
}

test('a realistic sequence folds into notebook → version → build / run → step → artifact', async () => {
  const { ws, facts } = workspace();
  const v1 = await recordVersion(facts);
  assert.equal(v1.created, true);
  assert.deepEqual(
    v1.record.data.map((d) => d.path),
    ['data/train.csv', 'notebooks/local.json'],
  );
  assert.equal(v1.record.data[0].sha256, sha('a,b\n1,2\n'));
  assert.deepEqual(
    v1.record.files.map((f) => f.path),
    ['pipelines/sales/pipeline.json', 'pipelines/sales/sales/steps/load.py', 'pipelines/sales/sales/steps/train.py'],
  );

  // Same notebook, same everything: no new version.
  const again = await recordVersion(facts);
  assert.equal(again.created, false);
  assert.equal(again.record.id, v1.record.id);

  const failedBuild = await recordBuild({
    workspaceDir: ws,
    notebookPath: facts.notebookPath,
    contextHash: 'ctx1',
    dockerfileHash: 'df1',
    baseImage: 'python:3.11-slim',
    tags: ['nb2prod/sales:latest'],
    seconds: 3.2,
    status: 'failed',
    error: Array.from({ length: 100 }, (_, i) => `log line ${i}`).join('\n') + '\nERROR: pip install failed',
  });
  assert.equal(failedBuild.versionId, v1.record.id, 'linked to the latest version by default');
  assert.ok(failedBuild.error!.split('\n').length <= 40);
  assert.match(failedBuild.error!, /pip install failed$/);

  const build = await recordBuild({
    workspaceDir: ws,
    notebookPath: facts.notebookPath,
    contextHash: 'ctx1',
    dockerfileHash: 'df1',
    baseImage: 'python:3.11-slim',
    imageId: 'sha256:' + 'ab12'.repeat(16),
    tags: ['nb2prod/sales:latest'],
    seconds: 41.5,
    status: 'succeeded',
  });
  writeRun(ws, 'pipelines/sales/runs/r1', 'r1', 'succeeded');
  const run = await recordRun({ workspaceDir: ws, notebookPath: facts.notebookPath, runDir: 'pipelines/sales/runs/r1', image: build.imageId });
  assert.deepEqual(run.problems, []);
  assert.equal(run.record.buildId, build.id, 'found by image id');
  assert.equal(run.record.versionId, v1.record.id);
  assert.deepEqual(run.record.parents, [v1.record.id, build.id]);

  writeRun(ws, 'pipelines/sales/runs/r2', 'r2', 'failed');
  const failedRun = await recordRun({ workspaceDir: ws, notebookPath: facts.notebookPath, runDir: 'pipelines/sales/runs/r2' });
  assert.equal(failedRun.record.status, 'failed');
  assert.equal(failedRun.record.local, true);
  assert.equal(failedRun.record.error, 'step train: ValueError: bad input');

  const cancelled = await recordRun({ workspaceDir: ws, notebookPath: facts.notebookPath, status: 'cancelled', error: 'cancelled by the user', runId: 'r3' });
  assert.equal(cancelled.record.status, 'cancelled');
  assert.equal(cancelled.record.error, 'cancelled by the user');

  const { records, problems } = openStore(ws).read();
  assert.deepEqual(problems, []);
  assert.equal(records.length, 6);
  const model = foldRecords(records);
  const nb = model.notebooks.get('notebooks/sales.ipynb')!;
  assert.equal(nb.versions.length, 1);
  const v = nb.versions[0];
  assert.deepEqual(
    v.builds.map((b) => b.record.status),
    ['failed', 'succeeded'],
  );
  assert.deepEqual(
    v.runs.map((r) => r.record.status),
    ['succeeded', 'failed', 'cancelled'],
  );
  assert.equal(v.runs[0].build?.id, build.id);
  assert.deepEqual(
    v.builds[1].runs.map((r) => r.id),
    [run.record.id],
  );
  const steps = model.steps(v.runs[0]);
  assert.deepEqual(
    steps.map((s) => [s.name, s.status, s.cells.map((c) => c.id), s.artifacts.map((a) => a.name)]),
    [
      ['load', 'succeeded', ['cell-load'], ['df']],
      ['train', 'succeeded', ['cell-train', 'cell-train-2'], ['model']],
    ],
  );
  // Every artifact's sha256 equals the file on disk.
  for (const a of v.runs[0].record.artifacts) assert.equal(a.sha256, sha(fs.readFileSync(path.join(ws, a.path), 'utf8')));
});

test('trace from an artifact path, an artifact sha256 prefix or an image id prefix reaches the source cells', async () => {
  const { ws, facts } = workspace();
  const v1 = await recordVersion(facts);
  const image = 'sha256:' + 'cd34'.repeat(16);
  const build = await recordBuild({ workspaceDir: ws, notebookPath: facts.notebookPath, contextHash: 'c', dockerfileHash: 'd', baseImage: 'b', imageId: image, tags: [], seconds: 1, status: 'succeeded' });
  writeRun(ws, 'pipelines/sales/runs/r1', 'r1', 'succeeded');
  const run = await recordRun({ workspaceDir: ws, notebookPath: facts.notebookPath, runDir: 'pipelines/sales/runs/r1', image });
  const model = foldRecords(openStore(ws).read().records);

  const byPath = trace(model, 'pipelines/sales/runs/r1/artifacts/model.pkl');
  assert.equal(byPath.length, 1);
  assert.equal(byPath[0].run?.id, run.record.id);
  assert.equal(byPath[0].build?.id, build.id);
  assert.equal(byPath[0].version?.id, v1.record.id);
  assert.equal(byPath[0].notebook, 'notebooks/sales.ipynb');
  assert.deepEqual(byPath[0].steps, [{ name: 'train', cells: [{ index: 2, id: 'cell-train' }, { index: 3, id: 'cell-train-2' }] }]);

  const bySha = trace(model, sha('df bytes r1').slice(0, 10));
  assert.equal(bySha.length, 1);
  assert.equal(bySha[0].artifact?.name, 'df');
  assert.deepEqual(
    bySha[0].steps.map((s) => s.name),
    ['load'],
  );

  const byImage = trace(model, 'cd34cd34cd34');
  assert.equal(byImage.length, 1);
  assert.equal(byImage[0].match, 'image');
  assert.equal(byImage[0].build?.id, build.id);
  assert.deepEqual(
    byImage[0].steps.map((s) => s.name),
    ['load', 'train'],
  );
  assert.equal(trace(model, 'sha256:cd34cd34').length, 1);
  assert.deepEqual(trace(model, 'no/such/file.pkl'), []);
});

test('a data file change makes a new version whose diff names the data file', async () => {
  const { ws, facts } = workspace();
  const v1 = await recordVersion(facts);
  write(ws, 'data/train.csv', 'a,b\n1,2\n3,4\n');
  const v2 = await recordVersion(facts);
  assert.equal(v2.created, true, 'data changed, so a new version');
  const d = diffVersions(v1.record, v2.record);
  assert.equal(d.same, false);
  assert.equal(d.notebookChanged, false);
  assert.deepEqual(
    d.data.changed.map((c) => c.path),
    ['data/train.csv'],
  );
  assert.equal(d.data.changed[0].to.sha256, sha('a,b\n1,2\n3,4\n'));
  assert.deepEqual(d.files, { added: [], removed: [], changed: [] });
});

test('diff names steps added, removed and changed by cell ids, and generated files changed', async () => {
  const { ws, facts } = workspace();
  const v1 = await recordVersion(facts);
  write(ws, 'pipelines/sales/sales/steps/train.py', 'def run(df, alpha): ...\n');
  write(ws, 'pipelines/sales/sales/steps/evaluate.py', 'def run(model): ...\n');
  const v2 = await recordVersion({
    ...facts,
    notebookHash: sha('sources v2'),
    planHash: stableHash({ steps: ['train', 'evaluate'] }),
    generatedFiles: ['pipeline.json', 'sales/steps/train.py', 'sales/steps/evaluate.py'],
    steps: [
      { name: 'train', cells: [{ index: 2, id: 'cell-train' }], outputs: ['model'] },
      { name: 'evaluate', cells: [{ index: 4, id: 'cell-eval' }], outputs: [] },
    ],
  });
  const d = diffVersions(v1.record, v2.record);
  assert.deepEqual(d.steps.added, ['evaluate']);
  assert.deepEqual(d.steps.removed, ['load']);
  assert.deepEqual(d.steps.changed, [
    { name: 'train', fromCells: ['cell-train', 'cell-train-2'], toCells: ['cell-train'], fromOutputs: ['model'], toOutputs: ['model'] },
  ]);
  assert.deepEqual(
    d.files.added.map((f) => f.path),
    ['pipelines/sales/sales/steps/evaluate.py'],
  );
  assert.deepEqual(
    d.files.removed.map((f) => f.path),
    ['pipelines/sales/sales/steps/load.py'],
  );
  assert.deepEqual(
    d.files.changed.map((f) => f.path),
    ['pipelines/sales/sales/steps/train.py'],
  );
  assert.equal(d.notebookChanged, true);
  assert.equal(d.planChanged, true);

  const model = foldRecords(openStore(ws).read().records);
  assert.equal(findByIdPrefix(model, v2.record.id.slice(0, 6), 'version').id, v2.record.id);
  assert.throws(() => findByIdPrefix(model, 'zzzz', 'version'), /no version with id/);
  assert.throws(() => findByIdPrefix(model, '', 'version'), /no version/);
});

test('builds and runs without a version id attach to the latest version; unknown ids are reported, not lost', () => {
  const base = { ts: '2026-01-01T00:00:00.000Z', parents: [], prev: '' };
  const version = (id: string) => ({
    ...base,
    id,
    type: 'version' as const,
    notebook: 'a.ipynb',
    notebookHash: id,
    planHash: 'p',
    outDir: 'o',
    package: 'p',
    files: [],
    steps: [],
    data: [],
  });
  const build = (id: string, versionId?: string) => ({
    ...base,
    id,
    type: 'build' as const,
    notebook: 'a.ipynb',
    versionId,
    contextHash: 'c',
    dockerfileHash: 'd',
    baseImage: 'b',
    tags: [],
    seconds: 1,
    status: 'succeeded' as const,
  });
  const model = foldRecords([version('v1'), build('b1'), version('v2'), build('b2'), build('b3', 'v1'), build('b4', 'missing')]);
  const nb = model.notebooks.get('a.ipynb')!;
  assert.deepEqual(
    nb.versions.map((v) => [v.id, v.builds.map((b) => b.id)]),
    [
      ['v1', ['b1', 'b3']],
      ['v2', ['b2']],
    ],
  );
  assert.equal(nb.versions[0].builds[0].inferredVersion, true);
  assert.deepEqual(
    nb.unversioned.builds.map((b) => b.id),
    ['b4'],
  );
  assert.match(model.issues[0].message, /names version missing/);
});

test('incremental fold: one appended record updates the model without re-reading the file', async () => {
  const { ws, facts } = workspace();
  await recordVersion(facts);
  const store = openStore(ws);
  const live = new LiveLineage(store);
  live.refresh();
  const nb = live.model.notebooks.get('notebooks/sales.ipynb')!;
  assert.equal(nb.versions[0].runs.length, 0);
  writeRun(ws, 'pipelines/sales/runs/r1', 'r1', 'succeeded');
  await recordRun({ workspaceDir: ws, notebookPath: facts.notebookPath, runDir: 'pipelines/sales/runs/r1' }, { store });
  const r = live.refresh();
  assert.equal(r.added, 1);
  assert.equal(nb.versions[0].runs.length, 1);
  // The artifact index built before the append is kept current.
  assert.equal(trace(live.model, 'pipelines/sales/runs/r1/artifacts/df.pkl').length, 1);
  writeRun(ws, 'pipelines/sales/runs/r2', 'r2', 'succeeded');
  await recordRun({ workspaceDir: ws, notebookPath: facts.notebookPath, runDir: 'pipelines/sales/runs/r2' }, { store });
  live.refresh();
  assert.equal(trace(live.model, 'pipelines/sales/runs/r2/artifacts/df.pkl').length, 1);
});
