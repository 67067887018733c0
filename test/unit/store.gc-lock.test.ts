/**
 * gc holds the lineage lock for as long as it reads records and removes objects, which on a big
 * store or a slow disk outlasts the lock's stale limit. A live holder refreshes the lock (a
 * heartbeat), so a run waiting to append cannot break it by age and record a run using objects gc
 * then removes; a gc paused past the limit (SIGSTOP) does lose it, and stops before removing more.
 * Two real processes: gc slowed down (each removal waits, as on a slow disk) and a run that appends
 * its record and stores its artifact while gc works.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { sha256 } from '../../src/core/hash';
import { openStore } from '../../src/core/lineage';
import { withLock } from '../../src/core/lineage/lock';
import { openObjectStore } from '../../src/core/store/objects';
import { nb2prod } from '../helpers/cli';
import { tempDir } from '../helpers/notebooks';

const STALE_MS = 300;
const OBJECTS = 150;
/** Per removal: gc takes OBJECTS * REMOVE_DELAY_MS, many times the stale limit. */
const REMOVE_DELAY_MS = 20;

const core = (module: string) => JSON.stringify(path.resolve(__dirname, '..', '..', 'src', 'core', module));

/** gc in its own process, every removal slowed down. */
const GC_SCRIPT = `
const path = require('path');
const { openStore } = require(${core('lineage/store.js')});
const { openObjectStore } = require(${core('store/objects.js')});
const { collectGarbage } = require(${core('store/gc.js')});
const [workspace, staleMs, delayMs] = process.argv.slice(1);
const real = openObjectStore(path.join(workspace, '.nb2prod', 'objects'));
const slowRemove = async (sha) => { await new Promise((r) => setTimeout(r, Number(delayMs))); return real.remove(sha); };
const objects = new Proxy(real, { get: (target, key) => (key === 'remove' ? slowRemove : typeof target[key] === 'function' ? target[key].bind(target) : target[key]) });
collectGarbage(openStore(workspace, { staleMs: Number(staleMs) }), objects).then(
  (r) => console.log(JSON.stringify({ removed: r.removed.length })),
  (e) => { console.error(e.message); process.exit(1); },
);
`;

/** A run: appends its record (waiting for the lock), then stores its artifact, as the CLI does. */
const RUN_SCRIPT = `
const path = require('path');
const { openStore } = require(${core('lineage/store.js')});
const { openObjectStore } = require(${core('store/objects.js')});
const { ingestRun } = require(${core('store/ingest.js')});
const [workspace, staleMs, artifact, sha256, bytes] = process.argv.slice(1);
(async () => {
  const record = await openStore(workspace, { staleMs: Number(staleMs), timeoutMs: 120000 }).append({
    type: 'run', notebook: 'notebook.ipynb', runId: 'r1', local: true, params: {}, steps: [], metrics: {}, status: 'succeeded',
    artifacts: [{ path: artifact, sha256, bytes: Number(bytes), step: 'make', name: 'x' }],
  });
  const stored = await ingestRun(openObjectStore(path.join(workspace, '.nb2prod', 'objects')), workspace, record);
  console.log(JSON.stringify(stored));
})().catch((e) => { console.error(e.message); process.exit(1); });
`;

interface Exit {
  code: number | null;
  out: string;
  err: string;
}

function start(script: string, args: string[]): { pid: number; exit: Promise<Exit> } {
  const child = spawn(process.execPath, ['-e', script, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (err += d));
  const exit = new Promise<Exit>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, out, err }));
  });
  return { pid: child.pid!, exit };
}

const node = (script: string, args: string[]) => start(script, args).exit;

/**
 * A workspace whose store holds OBJECTS objects no record references, and an artifact file with
 * the bytes of the one gc removes last: what the run records and stores.
 */
function garbageWorkspace(): { workspace: string; store: string; last: { sha: string; bytes: Buffer }; artifact: string } {
  const workspace = tempDir('nb2prod-gclock-');
  const store = path.join(workspace, '.nb2prod', 'objects');
  const objects = openObjectStore(store);
  const contents = Array.from({ length: OBJECTS }, (_, i) => Buffer.from(`object ${i}\n`));
  const stored = contents.map((bytes) => ({ sha: sha256(bytes), bytes })).sort((a, b) => a.sha.localeCompare(b.sha));
  for (const { sha, bytes } of stored) {
    mkdirSync(path.dirname(objects.pathOf(sha)), { recursive: true });
    writeFileSync(objects.pathOf(sha), bytes, { mode: 0o444 });
  }
  const last = stored[stored.length - 1];
  const artifact = 'artifacts/r1/make/x.txt';
  mkdirSync(path.join(workspace, 'artifacts', 'r1', 'make'), { recursive: true });
  writeFileSync(path.join(workspace, artifact), last.bytes);
  return { workspace, store, last, artifact };
}

/** The run's record follows gc's, its artifact is in the store whole, and lineage verify passes. */
function assertRunKeptItsObject(workspace: string, store: string, sha: string): void {
  const { records } = openStore(workspace).read();
  assert.deepEqual(
    records.map((r) => r.type),
    ['gc', 'run'],
  );
  const objects = openObjectStore(store);
  assert.ok(objects.has(sha), "the run's artifact is not in the store: gc removed it after the run recorded it");
  assert.equal(sha256(readFileSync(objects.pathOf(sha))), sha);
  const verify = nb2prod(['lineage', 'verify'], workspace);
  assert.equal(verify.status, 0, verify.stdout + verify.stderr);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('gc and the lineage lock', () => {
  it('a holder working past the stale limit keeps the lock: a waiter gets it only once released', async () => {
    const lock = path.join(tempDir(), 'lock');
    const order: string[] = [];
    const holder = withLock(
      lock,
      async (l) => {
        await sleep(STALE_MS * 4);
        order.push(l.held() ? 'holder still held it' : 'holder lost it');
      },
      { staleMs: STALE_MS },
    );
    await sleep(20);
    const waiter = withLock(lock, () => void order.push('waiter'), { staleMs: STALE_MS, timeoutMs: 10_000 });
    await Promise.all([holder, waiter]);
    assert.deepEqual(order, ['holder still held it', 'waiter']);
    assert.equal(existsSync(lock), false);
  });

  it('a run waiting to append while a slow gc holds the lock never records an object gc removes; both finish, verify passes', { timeout: 60_000 }, async (t) => {
    const { workspace, store, last, artifact } = garbageWorkspace();
    const started = performance.now();
    const gc = node(GC_SCRIPT, [workspace, String(STALE_MS), String(REMOVE_DELAY_MS)]);
    const lockFile = path.join(workspace, '.nb2prod', 'lineage.jsonl.lock');
    while (!existsSync(lockFile)) await sleep(5);
    const run = node(RUN_SCRIPT, [workspace, String(STALE_MS), artifact, last.sha, String(last.bytes.length)]);
    const [gcDone, runDone] = await Promise.all([gc, run]);
    const seconds = (performance.now() - started) / 1000;
    t.diagnostic(`gc held the lock ${seconds.toFixed(1)} s against a stale limit of ${STALE_MS} ms`);
    assert.equal(gcDone.code, 0, gcDone.err);
    assert.equal(runDone.code, 0, runDone.err);
    assert.deepEqual(JSON.parse(gcDone.out), { removed: OBJECTS });
    assert.ok(seconds * 1000 > STALE_MS * 5, 'gc did not outlast the stale limit: the test proves nothing');
    // The run appended after gc had finished.
    assertRunKeptItsObject(workspace, store, last.sha);
  });

  it('a gc paused past the stale limit loses the lock to a run; it stops before removing more, saying so, and the run keeps its object', { timeout: 60_000 }, async () => {
    const { workspace, store, last, artifact } = garbageWorkspace();
    const gc = start(GC_SCRIPT, [workspace, String(STALE_MS), String(REMOVE_DELAY_MS)]);
    // Paused once it is removing: its gc record is appended.
    const lineageFile = path.join(workspace, '.nb2prod', 'lineage.jsonl');
    while (!existsSync(lineageFile) || !readFileSync(lineageFile, 'utf8').includes('"gc"')) await sleep(5);
    process.kill(gc.pid, 'SIGSTOP');
    try {
      // No heartbeat now: the run breaks the lock as stale, appends and stores its artifact.
      const runDone = await node(RUN_SCRIPT, [workspace, String(STALE_MS), artifact, last.sha, String(last.bytes.length)]);
      assert.equal(runDone.code, 0, runDone.err);
    } finally {
      process.kill(gc.pid, 'SIGCONT');
    }
    const gcDone = await gc.exit;
    assert.equal(gcDone.code, 1, gcDone.out);
    assert.match(gcDone.err, new RegExp(`gc stopped after removing \\d+ of ${OBJECTS} objects: another process took the lineage lock`));
    assertRunKeptItsObject(workspace, store, last.sha);
  });
});
