import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { spawn } from 'child_process';
import { openStore, verifyStore, LiveLineage, RecordInput, RunRecord } from '../../src/core/lineage';
import { acquire } from '../../src/core/lineage/lock';

function tempWorkspace(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'nb2prod-lineage-'));
}

function runInput(runId: string, extra: Partial<RecordInput> = {}): RecordInput {
  return {
    type: 'run',
    notebook: 'nb.ipynb',
    runId,
    local: true,
    params: {},
    steps: [],
    artifacts: [],
    metrics: {},
    status: 'succeeded',
    ...extra,
  } as RecordInput;
}

async function appendMany(workspace: string, n: number): Promise<void> {
  const store = openStore(workspace, { durable: false });
  for (let i = 0; i < n; i++) await store.append(runInput(`r${i}`));
}

function lines(workspace: string): string[] {
  return fs.readFileSync(openStore(workspace).file, 'utf8').split('\n');
}

test('four processes appending 250 records each: 1,000 records, none lost or interleaved, chain valid', async () => {
  const ws = tempWorkspace();
  const worker = path.join(__dirname, '..', 'fixtures', 'lineage', 'append-worker.js');
  const tags = ['a', 'b', 'c', 'd'];
  const exits = await Promise.all(
    tags.map(
      (tag) =>
        new Promise<{ code: number | null; stderr: string }>((resolve) => {
          const child = spawn(process.execPath, [worker, ws, '250', tag, String(tags.length)], { stdio: ['ignore', 'ignore', 'pipe'] });
          let stderr = '';
          child.stderr.on('data', (d) => (stderr += d));
          child.on('close', (code) => resolve({ code, stderr }));
        }),
    ),
  );
  for (const e of exits) assert.equal(e.code, 0, e.stderr);

  const { records, problems } = openStore(ws).read();
  assert.deepEqual(problems, []);
  assert.equal(records.length, 1000);
  const runIds = new Set(records.map((r) => (r as RunRecord).runId));
  assert.equal(runIds.size, 1000, 'no record lost or duplicated');
  // Each worker's records appear in the order it appended them.
  for (const tag of tags) {
    const mine = records.filter((r) => (r as RunRecord).runId.startsWith(`${tag}-`)).map((r) => Number((r as RunRecord).runId.split('-')[1]));
    assert.deepEqual(mine, [...Array(250).keys()]);
  }
  // The workers really interleaved (otherwise the lock was not exercised).
  const switches = records.filter((r, i) => i > 0 && (r as RunRecord).runId[0] !== (records[i - 1] as RunRecord).runId[0]).length;
  assert.ok(switches > 3, `expected interleaving between workers, saw ${switches} switches`);
  const v = verifyStore(openStore(ws).file);
  assert.equal(v.ok, true, JSON.stringify(v.break));
  assert.equal(v.records, 1000);
  assert.ok(!fs.existsSync(openStore(ws).file + '.lock'), 'lock released');
});

test('appends in one process keep order and chain', async () => {
  const ws = tempWorkspace();
  const store = openStore(ws, { durable: false });
  const appended = await Promise.all([...Array(50).keys()].map((i) => store.append(runInput(`p${i}`))));
  const { records } = store.read();
  assert.equal(records.length, 50);
  assert.deepEqual(
    records.map((r) => r.id),
    appended.map((r) => r.id),
  );
  assert.equal(records[0].prev, '');
  assert.equal(verifyStore(store.file).ok, true);
});

test('a torn last line is skipped and reported; the next append closes it and the chain still verifies', async () => {
  const ws = tempWorkspace();
  await appendMany(ws, 3);
  const store = openStore(ws, { durable: false });
  fs.appendFileSync(store.file, '{"id":"deadbeef","type":"run","notebo');

  const read = store.read();
  assert.equal(read.records.length, 3);
  assert.equal(read.problems.length, 1);
  assert.equal(read.problems[0].kind, 'torn');
  assert.equal(read.problems[0].line, 4);
  const before = verifyStore(store.file);
  assert.equal(before.ok, true);
  assert.match(before.warnings.join('\n'), /line 4 is incomplete/);

  const next = await store.append(runInput('after-crash'));
  const after = store.read();
  assert.deepEqual(
    after.records.map((r) => r.id),
    [...read.records.map((r) => r.id), next.id],
  );
  assert.equal(after.problems.length, 1);
  assert.equal(after.problems[0].kind, 'invalid-json');
  assert.equal(after.problems[0].line, 4);
  const v = verifyStore(store.file);
  assert.equal(v.ok, true, JSON.stringify(v.break));
  assert.match(v.warnings.join('\n'), /line 4 is a torn write/);
});

test('an edited middle line: verify fails naming that line and its id', async () => {
  const ws = tempWorkspace();
  await appendMany(ws, 5);
  const store = openStore(ws);
  const all = lines(ws);
  const target = JSON.parse(all[2]);
  all[2] = all[2].replace('"status":"succeeded"', '"status":"failed"');
  assert.notEqual(all[2], JSON.stringify(target));
  fs.writeFileSync(store.file, all.join('\n'));
  const v = verifyStore(store.file);
  assert.equal(v.ok, false);
  assert.equal(v.break?.line, 3);
  assert.equal(v.break?.id, target.id);
  assert.match(v.break!.reason, /edited/);
});

test('an edited line whose id was recomputed still breaks the chain at the next line', async () => {
  const ws = tempWorkspace();
  await appendMany(ws, 5);
  const store = openStore(ws);
  const all = lines(ws);
  const { expectedId } = await import('../../src/core/lineage/chain');
  const rec = JSON.parse(all[1]);
  rec.metrics = { forged: 1 };
  rec.id = expectedId(rec);
  all[1] = JSON.stringify(rec);
  fs.writeFileSync(store.file, all.join('\n'));
  const v = verifyStore(store.file);
  assert.equal(v.ok, false);
  assert.equal(v.break?.line, 3);
  assert.match(v.break!.reason, /does not chain to line 2/);
});

test('a deleted line: verify fails at the line after the gap', async () => {
  const ws = tempWorkspace();
  await appendMany(ws, 5);
  const store = openStore(ws);
  const all = lines(ws);
  const following = JSON.parse(all[3]);
  all.splice(2, 1);
  fs.writeFileSync(store.file, all.join('\n'));
  const v = verifyStore(store.file);
  assert.equal(v.ok, false);
  assert.equal(v.break?.line, 3);
  assert.equal(v.break?.id, following.id);
  assert.match(v.break!.reason, /deleted/);
});

test('deleting the first line is caught too', async () => {
  const ws = tempWorkspace();
  await appendMany(ws, 3);
  const store = openStore(ws);
  fs.writeFileSync(store.file, lines(ws).slice(1).join('\n'));
  const v = verifyStore(store.file);
  assert.equal(v.ok, false);
  assert.equal(v.break?.line, 1);
});

test('reading never throws on bad lines and reports each one', async () => {
  const ws = tempWorkspace();
  await appendMany(ws, 2);
  const store = openStore(ws);
  fs.appendFileSync(store.file, 'not json\n[1,2]\n{"id":"x","type":"weird","notebook":"a","ts":"t"}\n\n');
  await store.append(runInput('last'));
  const { records, problems } = store.read();
  assert.equal(records.length, 3);
  assert.deepEqual(
    problems.map((p) => [p.line, p.kind]),
    [
      [3, 'invalid-json'],
      [4, 'invalid-record'],
      [5, 'invalid-record'],
      [6, 'invalid-json'],
    ],
  );
  assert.equal(verifyStore(store.file).ok, false);
});

test('the incremental reader returns only new records and survives a torn tail and a replaced file', async () => {
  const ws = tempWorkspace();
  const store = openStore(ws, { durable: false });
  const live = new LiveLineage(store);
  assert.equal(live.refresh().added, 0, 'missing store is empty');
  await store.append(runInput('one'));
  await store.append(runInput('two'));
  assert.equal(live.refresh().added, 2);
  assert.equal(live.refresh().added, 0);
  const reader = store.reader();
  reader.readNew();
  const offset = reader.position;
  await store.append(runInput('three'));
  const r = live.refresh();
  assert.equal(r.added, 1);
  assert.deepEqual([...r.changed], ['nb.ipynb']);
  assert.equal(live.model.size, 3);
  const next = reader.readNew();
  assert.equal(next.records.length, 1);
  assert.ok(reader.position > offset);

  // Half a line: not consumed, reported; once completed it is read.
  fs.appendFileSync(store.file, '{"partial":');
  const torn = live.refresh();
  assert.equal(torn.added, 0);
  assert.equal(torn.problems[0]?.kind, 'torn');

  // Replaced wholesale (e.g. a git checkout): the model is rebuilt.
  fs.rmSync(store.file);
  await appendMany(ws, 1);
  const reset = live.refresh();
  assert.equal(reset.reset, true);
  assert.equal(live.model.size, 1);
});

test('a lock left by a dead process is broken; a live one is waited for', async () => {
  const ws = tempWorkspace();
  const lock = path.join(ws, 'x.lock');
  // A pid that is not running on this host.
  fs.writeFileSync(lock, JSON.stringify({ pid: 2 ** 22 + 12345, host: os.hostname(), token: 't', time: Date.now() }));
  const release = await acquire(lock, { timeoutMs: 2000 });
  assert.match(fs.readFileSync(lock, 'utf8'), new RegExp(`"pid":${process.pid}`));

  // Held by us (alive): a second acquirer waits until release.
  let got = false;
  const second = acquire(lock, { timeoutMs: 5000 }).then((rel) => {
    got = true;
    return rel;
  });
  await new Promise((r) => setTimeout(r, 50));
  assert.equal(got, false);
  release();
  (await second)();
  assert.equal(got, true);
  assert.ok(!fs.existsSync(lock));

  // An old lock from another host is stale by age: written long ago, and no heartbeat since (its mtime).
  fs.writeFileSync(lock, JSON.stringify({ pid: 1, host: 'elsewhere', token: 'u', time: Date.now() - 60_000 }));
  const minuteAgo = new Date(Date.now() - 60_000);
  fs.utimesSync(lock, minuteAgo, minuteAgo);
  (await acquire(lock, { timeoutMs: 2000, staleMs: 30_000 }))();

  // A live lock held past the timeout: a clear error naming the holder.
  fs.writeFileSync(lock, JSON.stringify({ pid: process.pid, host: os.hostname(), token: 'v', time: Date.now() }));
  await assert.rejects(acquire(lock, { timeoutMs: 100 }), /locked by process/);
});

test('an empty lock file (its owner killed between creating and writing it) is broken within seconds, not after staleMs', async () => {
  const lock = path.join(tempWorkspace(), 'x.lock');
  fs.writeFileSync(lock, '');
  const aWhileAgo = new Date(Date.now() - 3_000);
  fs.utimesSync(lock, aWhileAgo, aWhileAgo);
  // Waiting out the default staleMs (30 s) would outlast the default timeout (15 s): the store stayed locked.
  (await acquire(lock, { timeoutMs: 1000 }))();
  assert.ok(!fs.existsSync(lock));

  // One just created may be its owner's, about to be written: waited for.
  fs.writeFileSync(lock, '');
  await assert.rejects(acquire(lock, { timeoutMs: 100 }), /locked by another process/);
});

test('the fast header scan agrees with a full parse, and falls back for lines shaped otherwise', async () => {
  const ws = tempWorkspace();
  const store = openStore(ws, { durable: false });
  await store.append({
    type: 'version',
    notebook: 'nö tebooks/"quoted".ipynb',
    notebookHash: 'h',
    planHash: 'p',
    outDir: 'o',
    package: 'p',
    files: [],
    steps: [],
    data: [],
  });
  const v = store.read().records[0];
  await store.append(runInput('r1', { versionId: v.id, status: 'failed', error: 'x' } as Partial<RecordInput>));
  // A hand-written line with another key order: read in full, not through the header.
  fs.appendFileSync(store.file, JSON.stringify({ type: 'run', id: 'handmade', notebook: 'nb.ipynb', ts: 't', runId: 'h', steps: [], artifacts: [], metrics: {}, status: 'succeeded', parents: [], prev: '' }) + '\n');
  await store.append(runInput('r2'));
  // A line damaged in the middle but with a plausible start and end.
  const damaged = (await store.append(runInput('r3'))).id;
  const text = fs.readFileSync(store.file, 'utf8');
  fs.writeFileSync(store.file, text.replace('"runId":"r3"', '"runId":r3"'));

  const { loadModel } = await import('../../src/core/lineage');
  const eager = store.read();
  const { model, problems } = loadModel(store);
  // The damaged 5th line is only found when its record is parsed: a full read reports it.
  assert.deepEqual(
    eager.problems.map((p) => [p.line, p.kind]),
    [[5, 'invalid-json']],
  );
  assert.deepEqual(problems, []);
  for (const r of eager.records) assert.deepEqual(model.get(r.id)?.record, r);
  assert.equal(model.size, eager.records.length + 1);
  assert.equal(model.notebooks.has('nö tebooks/"quoted".ipynb'), true);
  const run1 = [...model.byId.values()].find((n) => n.kind === 'run' && n.record.runId === 'r1');
  assert.equal(run1?.kind === 'run' && run1.status, 'failed');
  assert.equal(run1?.kind === 'run' && run1.version?.id, v.id);
  assert.equal(model.get('handmade')?.kind, 'run');
  const broken = model.get(damaged);
  assert.equal(broken?.kind, 'run');
  assert.match((broken?.record as RunRecord).notes?.[0] ?? '', /could not be parsed/);
});
