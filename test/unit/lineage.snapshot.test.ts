import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { main } from '../../src/cli';
import type { CliContext } from '../../src/cli/context';
import { loadModel, openStore, readSnapshot, snapshotPath, LiveLineage, LiveOptions, LineageStore, RecordInput, SNAPSHOT_EVERY } from '../../src/core/lineage';
import { treeJson } from '../../src/core/lineage/render';

function tempWorkspace(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'nb2prod-lineage-snapshot-'));
}

function version(nb: string, i: number): RecordInput {
  return { type: 'version', notebook: nb, notebookHash: `h${i}`, planHash: 'p', outDir: 'o', package: 'p', files: [], steps: [{ name: 'train', cells: [{ index: 0, id: 'c' }], outputs: [] }], data: [] };
}

function run(nb: string, i: number, extra: Partial<RecordInput> = {}): RecordInput {
  return {
    type: 'run',
    notebook: nb,
    runId: `r${i}`,
    local: true,
    params: {},
    steps: [{ name: 'train', status: 'succeeded', seconds: 1 }],
    artifacts: [{ path: `out/${i}/model.pkl`, sha256: String(i).padStart(64, '0'), bytes: i, step: 'train' }],
    metrics: { i },
    status: 'succeeded',
    ...extra,
  } as RecordInput;
}

/** Versions and runs of two notebooks, enough of them for a snapshot to be written. */
async function appendRecords(store: LineageStore, count: number, from = 0): Promise<void> {
  for (let i = from; i < from + count; i++) {
    const nb = `nb${i % 2}.ipynb`;
    await store.append(i % 10 < 2 ? version(nb, i) : run(nb, i));
  }
}

/**
 * A store with what reading must get right besides plain records: a hand-written line (parsed in
 * full by the scan), lines that are not records, a line damaged in the middle, a duplicate.
 */
async function awkwardStore(): Promise<{ ws: string; store: LineageStore }> {
  const ws = tempWorkspace();
  const store = openStore(ws, { durable: false });
  await appendRecords(store, 600);
  fs.appendFileSync(store.file, 'not json\n');
  fs.appendFileSync(store.file, JSON.stringify({ type: 'run', id: 'handmade', notebook: 'nb0.ipynb', ts: 't', runId: 'h', steps: [], artifacts: [], metrics: {}, status: 'succeeded', parents: [], prev: '' }) + '\n');
  const damaged = await store.append(run('nb1.ipynb', 9999));
  fs.writeFileSync(store.file, fs.readFileSync(store.file, 'utf8').replace('"runId":"r9999"', '"runId":r9999"'));
  const lines = fs.readFileSync(store.file, 'utf8').split('\n');
  fs.appendFileSync(store.file, lines[3] + '\n');
  await appendRecords(store, SNAPSHOT_EVERY, 600);
  assert.ok(damaged.id);
  return { ws, store };
}

/** Everything a reader of the model sees. */
function dump(store: LineageStore, options: LiveOptions): string {
  const { model, problems } = loadModel(store, options);
  return JSON.stringify({ tree: treeJson(model), issues: model.issues, size: model.size, ids: [...model.byId.keys()], problems });
}

function withoutSnapshot(store: LineageStore, options: LiveOptions): string {
  return dump(store, { ...options, snapshot: false });
}

async function cli(cwd: string, ...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const ctx: CliContext = { cwd, env: {}, out: (l) => out.push(l), err: (l) => err.push(l), signal: new AbortController().signal };
  const code = await main(['lineage', ...argv], ctx);
  return { code, out: out.join('\n'), err: err.join('\n') };
}

test('a load through the snapshot sees exactly what a full read sees, strict and not', async () => {
  const { store } = await awkwardStore();
  for (const strict of [false, true]) {
    fs.rmSync(snapshotPath(store.file), { force: true });
    const expected = withoutSnapshot(store, { strict });
    assert.equal(dump(store, { strict }), expected, 'the load that writes the snapshot');
    const snapshot = readSnapshot(store.file);
    assert.ok(snapshot, 'a snapshot was written');
    // A non-strict load checks what it folded when that is little, so strict loads can use it too.
    assert.equal(snapshot.checked, true);
    assert.equal(dump(store, { strict }), expected, 'the load that reads it');
  }
  // A checked snapshot (written by the strict load above) serves a non-strict load too.
  assert.equal(dump(store, {}), withoutSnapshot(store, {}));
  const strictProblems = loadModel(store, { strict: true }).problems.map((p) => p.kind);
  assert.deepEqual(strictProblems, ['invalid-json', 'invalid-json'], 'the damaged line is reported through the snapshot');

  // An unchecked snapshot vouches for headers only: a strict load reads everything and checks it.
  const file = snapshotPath(store.file);
  fs.writeFileSync(file, JSON.stringify({ ...JSON.parse(fs.readFileSync(file, 'utf8')), checked: false, damaged: [] }));
  assert.equal(readSnapshot(store.file)?.checked, false);
  assert.equal(dump(store, {}), withoutSnapshot(store, {}));
  assert.equal(dump(store, { strict: true }), withoutSnapshot(store, { strict: true }));
});

test('the CLI prints the same with and without a snapshot', async () => {
  const { ws, store } = await awkwardStore();
  const runs = async () => [await cli(ws, '--json'), await cli(ws), await cli(ws, 'trace', 'out/703/model.pkl', '--json'), await cli(ws, 'nb1.ipynb')];
  fs.rmSync(snapshotPath(store.file), { force: true });
  const first = await runs();
  assert.ok(fs.existsSync(snapshotPath(store.file)), 'the first run wrote a snapshot');
  assert.deepEqual(await runs(), first);
  fs.rmSync(snapshotPath(store.file));
  await cli(ws, 'verify');
  assert.ok(!fs.existsSync(snapshotPath(store.file)), 'verify reads every line and writes no snapshot');
  assert.equal(first[0].code, 0);
  assert.equal(first[2].code, 0, 'the trace found the artifact');
  assert.match(first[0].err, /line 601 is not valid JSON/);
  assert.equal(JSON.parse(first[0].out).notebooks.length, 2);
});

test('records appended after the snapshot, and a torn tail, show up', async () => {
  const ws = tempWorkspace();
  const store = openStore(ws, { durable: false });
  await appendRecords(store, SNAPSHOT_EVERY);
  loadModel(store);
  const at = readSnapshot(store.file)!.at.offset;
  await appendRecords(store, 5, SNAPSHOT_EVERY);
  fs.appendFileSync(store.file, '{"id":"partial');

  const live = new LiveLineage(store);
  const first = live.refresh();
  assert.equal(first.added, SNAPSHOT_EVERY + 5);
  assert.deepEqual([...first.changed].sort(), ['nb0.ipynb', 'nb1.ipynb']);
  assert.deepEqual(
    first.problems.map((p) => [p.line, p.kind]),
    [[SNAPSHOT_EVERY + 6, 'torn']],
  );
  assert.equal(readSnapshot(store.file)!.at.offset, at, 'too few new records for a new snapshot');
  assert.equal(JSON.stringify(treeJson(live.model)), JSON.stringify(treeJson(loadModel(store, { snapshot: false }).model)));

  // Keeps refreshing incrementally from there; the next append closes the torn line.
  await appendRecords(store, 1, SNAPSHOT_EVERY + 5);
  const next = live.refresh();
  assert.equal(next.added, 1);
  assert.deepEqual(
    next.problems.map((p) => p.kind),
    ['invalid-json'],
  );
  assert.equal(live.model.size, SNAPSHOT_EVERY + 6);
});

test('a snapshot of an older point is still valid after other processes append', async () => {
  const ws = tempWorkspace();
  const store = openStore(ws, { durable: false });
  await appendRecords(store, SNAPSHOT_EVERY);
  loadModel(store);
  const old = fs.readFileSync(snapshotPath(store.file));
  await appendRecords(store, SNAPSHOT_EVERY, SNAPSHOT_EVERY);
  loadModel(store);
  assert.ok(readSnapshot(store.file)!.entries.length === 2 * SNAPSHOT_EVERY, 'a newer snapshot replaced it');
  // Another process's slower write lands last: the older snapshot is used, and the tail read.
  fs.writeFileSync(snapshotPath(store.file), old);
  assert.equal(readSnapshot(store.file)!.entries.length, SNAPSHOT_EVERY);
  assert.equal(dump(store, {}), withoutSnapshot(store, {}));
  assert.equal(loadModel(store).model.size, 2 * SNAPSHOT_EVERY);
});

test('a stale snapshot is ignored: store truncated, rewritten, replaced', async () => {
  const ws = tempWorkspace();
  const store = openStore(ws, { durable: false });
  await appendRecords(store, SNAPSHOT_EVERY + 10);
  const original = fs.readFileSync(store.file);
  const snapshotOf = () => {
    fs.writeFileSync(store.file, original);
    fs.rmSync(snapshotPath(store.file), { force: true });
    loadModel(store);
    assert.ok(readSnapshot(store.file));
    return fs.readFileSync(snapshotPath(store.file));
  };
  const lines = original.toString('utf8').split('\n');
  const cases: [string, () => void][] = [
    ['truncated', () => fs.writeFileSync(store.file, lines.slice(0, 500).join('\n') + '\n')],
    // Same length, last folded line different: its hash no longer matches.
    ['rewritten in place', () => fs.writeFileSync(store.file, original.toString('utf8').replace(/"status":"succeeded"/g, '"status":"succeedeD"'))],
    [
      'replaced by another file',
      () => {
        const copy = store.file + '.new';
        fs.writeFileSync(copy, original);
        fs.renameSync(copy, store.file);
      },
    ],
  ];
  for (const [what, change] of cases) {
    const snapshot = snapshotOf();
    change();
    fs.writeFileSync(snapshotPath(store.file), snapshot);
    assert.equal(readSnapshot(store.file), undefined, what);
    assert.equal(dump(store, {}), withoutSnapshot(store, {}), what);
    assert.equal(dump(store, { strict: true }), withoutSnapshot(store, { strict: true }), what);
  }
});

test('a corrupt snapshot, or one of another format, is ignored and rewritten', async () => {
  const ws = tempWorkspace();
  const store = openStore(ws, { durable: false });
  await appendRecords(store, SNAPSHOT_EVERY + 10);
  const expected = withoutSnapshot(store, {});
  loadModel(store);
  const good = fs.readFileSync(snapshotPath(store.file), 'utf8');
  const parsed = JSON.parse(good);
  const corruptions = [
    '',
    'garbage',
    good.slice(0, good.length / 2),
    JSON.stringify({ ...parsed, format: parsed.format + 1 }),
    JSON.stringify({ ...parsed, ids: parsed.ids.slice(1) }),
    JSON.stringify({ ...parsed, notebook: parsed.notebook.map(() => 999) }),
    JSON.stringify({ ...parsed, at: { ...parsed.at, head: 'f'.repeat(64) } }),
    JSON.stringify({ ...parsed, at: { ...parsed.at, offset: parsed.at.offset - 1 } }),
  ];
  for (const text of corruptions) {
    fs.writeFileSync(snapshotPath(store.file), text);
    assert.equal(readSnapshot(store.file), undefined, text.slice(0, 40));
    assert.equal(dump(store, {}), expected);
    assert.ok(readSnapshot(store.file), 'the load rebuilt it');
  }
});

test('a record read through a snapshot after its store was rewritten says so instead of showing another line', async () => {
  const ws = tempWorkspace();
  const store = openStore(ws, { durable: false });
  await appendRecords(store, SNAPSHOT_EVERY);
  loadModel(store);
  const { model } = loadModel(store);
  const first = [...model.byId.values()][2];
  // Same inode, lines shifted: the bytes at the record's span are now another line.
  const text = fs.readFileSync(store.file, 'utf8');
  fs.writeFileSync(store.file, 'x\n' + text);
  assert.match((first.record as { notes?: string[] }).notes?.[0] ?? '', /changed in the store after it was read/);
});

test('the snapshot stays out of git commits; a .gitignore the user edited is left alone', async () => {
  const ws = tempWorkspace();
  const store = openStore(ws, { durable: false });
  await appendRecords(store, SNAPSHOT_EVERY);
  loadModel(store, { strict: true });
  assert.ok(fs.existsSync(snapshotPath(store.file)));
  const git = (...args: string[]) => spawnSync('git', args, { cwd: ws, encoding: 'utf8' });
  if (git('init', '-q').status === 0) {
    assert.equal(git('check-ignore', '-q', path.relative(ws, snapshotPath(store.file))).status, 0, 'the snapshot is ignored');
    assert.equal(git('check-ignore', '-q', path.relative(ws, store.file)).status, 1, 'the store (the audit trail) is not');
  }
  const ignore = path.join(path.dirname(store.file), '.gitignore');
  fs.writeFileSync(ignore, '# mine\n');
  fs.rmSync(snapshotPath(store.file));
  loadModel(store, { strict: true });
  assert.equal(fs.readFileSync(ignore, 'utf8'), '# mine\n');
});
