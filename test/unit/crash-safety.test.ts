/**
 * `kill -9` at random moments of `productionize`, `run`, `checkout` and `gc`, on real processes of
 * the bundled CLI: the store never holds an object whose bytes differ from its name, a generated or
 * restored file is the old or the new content (never part of one), the next command finishes the
 * job and clears what the killed one left (temp files, staging directories, the lock), and
 * `lineage verify` passes throughout.
 *
 * The kill delays come from a seeded generator: a failure message names the seed and iteration, and
 * NB2PROD_CRASH_SEED=<seed> replays it.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { appendFileSync, cpSync, existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { before, describe, it, TestContext } from 'node:test';
import { sha256 } from '../../src/core/hash';
import { openStore, storePath, VersionRecord } from '../../src/core/lineage';
import { acquire } from '../../src/core/lineage/lock';
import { filesOf } from '../../src/core/store/ingest';
import { CLI, nb2prod, SCIENTIFIC_PYTHON } from '../helpers/cli';
import { REPO_ROOT, tempDir } from '../helpers/notebooks';

const ITERATIONS = 20;
const SEED = Number(process.env.NB2PROD_CRASH_SEED ?? 0x13c4a5);
const OUT = 'pipelines/sales_forecast';
const env = { NB2PROD_PYTHON: SCIENTIFIC_PYTHON };

/** mulberry32: small, seedable, good enough to spread kill moments. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function ok(args: string[], cwd: string): void {
  const r = nb2prod(args, cwd, env);
  assert.equal(r.status, 0, `${args.join(' ')}: ${r.stderr}`);
}

function timed(args: string[], cwd: string): number {
  const start = performance.now();
  ok(args, cwd);
  return performance.now() - start;
}

/**
 * Start the CLI in its own process group and SIGKILL the whole group after `delayMs` (a local run's
 * Python child dies with it, as with a closed terminal or a killed container). Resolves with
 * whether the kill landed before the command finished on its own.
 */
function killAfter(args: string[], cwd: string, delayMs: number): Promise<boolean> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { cwd, env: { ...process.env, ...env }, detached: true, stdio: 'ignore' });
    let killed = false;
    const timer = setTimeout(() => {
      try {
        process.kill(-child.pid!, 'SIGKILL');
        killed = true;
      } catch {
        // already gone
      }
    }, delayMs);
    child.on('error', reject);
    child.on('exit', (_code, signal) => {
      clearTimeout(timer);
      // The group may outlive the leader by a moment: make sure nothing of it still writes.
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        // already gone
      }
      resolve(killed && signal === 'SIGKILL');
    });
  });
}

function walk(dir: string, skip: (rel: string) => boolean = () => false, base = dir): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const abs = path.join(dir, e.name);
    const rel = path.relative(base, abs);
    if (skip(rel)) return [];
    return e.isDirectory() ? [rel + '/', ...walk(abs, skip, base)] : [rel];
  });
}

/** Every object's bytes hash to its name. */
function assertObjectsIntact(work: string, at: string): void {
  const root = path.join(work, '.nb2prod', 'objects', 'sha256');
  for (const rel of walk(root).filter((f) => !f.endsWith('/'))) {
    const name = rel.split(path.sep).join('');
    assert.equal(sha256(readFileSync(path.join(root, rel))), name, `${at}: object ${name} holds other bytes`);
  }
}

/**
 * Nothing a killed command leaves behind survives the next one. The lineage lock is the exception:
 * only the next append breaks a dead owner's lock (a command that appends nothing leaves it), so
 * it must be breakable at once, not wait out its staleness while appenders time out.
 */
async function assertNoLeftovers(work: string, at: string): Promise<void> {
  const tmp = path.join(work, '.nb2prod', 'objects', 'tmp');
  assert.deepEqual(existsSync(tmp) ? readdirSync(tmp) : [], [], `${at}: temp files left in the object store`);
  // Staging directories (`.<out>.nb2prod-*`) and restore temps (`.<file>.nb2prod-*`).
  const left = walk(work, (rel) => rel.startsWith(path.join('.nb2prod', 'objects'))).filter((f) => path.basename(f).includes('.nb2prod-'));
  assert.deepEqual(left, [], `${at}: left behind`);
  const release = await acquire(storePath(work) + '.lock', { timeoutMs: 5_000 }).catch((e: Error) => assert.fail(`${at}: ${e.message}`));
  release();
}

/** `lineage verify` passes; returns what it said. */
function assertVerifies(work: string, at: string): string {
  const r = nb2prod(['lineage', 'verify'], work, env);
  assert.equal(r.status, 0, `${at}: lineage verify: ${r.stdout}${r.stderr}`);
  return r.stdout + r.stderr;
}

/** Each file is one of the given contents (or absent where `absentOk`). */
function assertOneOf(work: string, expected: Map<string, Set<string>>, absentOk: boolean, at: string): void {
  for (const [rel, allowed] of expected) {
    const file = path.join(work, rel);
    if (!existsSync(file)) {
      assert.ok(absentOk, `${at}: ${rel} is missing`);
      continue;
    }
    assert.ok(allowed.has(sha256(readFileSync(file))), `${at}: ${rel} is neither the old nor the new content`);
  }
}

/** The second version of the example: train prints more, the CSV's first row differs. */
function variant(original: { notebook: string; csv: string }, which: number): { notebook: string; csv: string } {
  if (which === 0) return original;
  const nb = JSON.parse(original.notebook);
  const train = nb.cells.find((c: { metadata: { tags?: string[] } }) => c.metadata.tags?.includes('step:train'));
  train.source = [...(Array.isArray(train.source) ? train.source : [train.source]), '\nprint("version 2")\n'];
  const lines = original.csv.split('\n');
  lines[1] = '1,north,999,9.5';
  return { notebook: JSON.stringify(nb), csv: lines.join('\n') };
}

describe('crash safety: kill -9 at random moments', () => {
  let work: string;
  let original: { notebook: string; csv: string };
  const NOTEBOOK = 'sales_forecast.ipynb';
  const CSV = path.join('data', 'sales.csv');
  /** When the CLI is still starting: a kill before it does nothing interesting. */
  let startupMs: number;

  function use(which: number): void {
    const v = variant(original, which);
    writeFileSync(path.join(work, NOTEBOOK), v.notebook);
    writeFileSync(path.join(work, CSV), v.csv);
  }

  /**
   * Kill moments spread over the command's duration after the CLI's start-up. The duration is the
   * last completed run's (the next command of the previous iteration): on shared cores it drifts
   * with the load, and a fixed estimate lets most kills land before or after the work.
   */
  async function loop(t: TestContext, name: string, durationMs: number, step: (i: number, delay: number, at: string) => Promise<{ landed: boolean; nextMs: number }>): Promise<void> {
    const next = random(SEED ^ [...name].reduce((h, c) => Math.imul(h, 31) + c.charCodeAt(0), 7));
    let landed = 0;
    for (let i = 0; i < ITERATIONS; i++) {
      const from = startupMs * 0.8;
      const delay = from + next() * Math.max(1, durationMs * 1.1 - from);
      const at = `${name} iteration ${i} (seed ${SEED}, kill after ${delay.toFixed(0)} ms)`;
      const r = await step(i, delay, at);
      if (r.landed) landed++;
      durationMs = r.nextMs;
    }
    t.diagnostic(`${name}: ${landed} of ${ITERATIONS} kills landed mid-command (seed ${SEED})`);
    // A loop whose kills all land after the command finished tested nothing.
    assert.ok(landed >= ITERATIONS / 4, `${name}: only ${landed} of ${ITERATIONS} kills landed before the command finished`);
  }

  /** Each loop in its own copy of the example: one loop's leftovers must not fail another's. */
  function fresh(): void {
    work = tempDir('nb2prod-crash-');
    cpSync(path.join(REPO_ROOT, 'examples'), work, { recursive: true });
  }

  before(() => {
    fresh();
    original = { notebook: readFileSync(path.join(work, NOTEBOOK), 'utf8'), csv: readFileSync(path.join(work, CSV), 'utf8') };
    // The quickest of three: start-up only gets slower under load, and a kill during it tests nothing.
    startupMs = Math.min(...[0, 1, 2].map(() => timed(['--version'], work)));
  });

  it('productionize: the package is old or new per file, the next productionize completes it and removes the staging directory', async (t) => {
    const generated = new Map<string, Set<string>>();
    const manifest = () => JSON.parse(readFileSync(path.join(work, OUT, 'pipeline.json'), 'utf8')) as { files: Record<string, string> };
    const remember = () => {
      for (const [rel, hash] of Object.entries(manifest().files)) generated.set(path.join(OUT, rel), new Set([...(generated.get(path.join(OUT, rel)) ?? []), hash]));
    };
    fresh();
    use(1);
    ok(['productionize', NOTEBOOK], work);
    remember();
    use(0);
    const duration = timed(['productionize', NOTEBOOK], work);
    remember();
    await loop(t, 'productionize', duration, async (i, delay, at) => {
      use(i % 2);
      const landed = await killAfter(['productionize', NOTEBOOK], work, delay);
      assertObjectsIntact(work, at);
      // A kill between moving the old file aside and the new one in leaves a gap, never a partial file.
      assertOneOf(work, generated, true, at);
      assertVerifies(work, at);
      const nextMs = timed(['productionize', NOTEBOOK], work);
      assertObjectsIntact(work, at);
      await assertNoLeftovers(work, at);
      assertVerifies(work, at);
      for (const [rel, hash] of Object.entries(manifest().files)) assert.equal(sha256(readFileSync(path.join(work, OUT, rel))), hash, `${at}: ${rel} after the next productionize`);
      return { landed, nextMs };
    });
  });

  it('run --local: no partial object, the next run stores its artifacts whole', async (t) => {
    fresh();
    ok(['productionize', NOTEBOOK], work);
    const duration = timed(['run', OUT, '--local', '--jobs', '1'], work);
    await loop(t, 'run', duration, async (_i, delay, at) => {
      const landed = await killAfter(['run', OUT, '--local', '--jobs', '1'], work, delay);
      assertObjectsIntact(work, at);
      assertVerifies(work, at);
      const nextMs = timed(['run', OUT, '--local', '--jobs', '1'], work);
      assertObjectsIntact(work, at);
      await assertNoLeftovers(work, at);
      assert.doesNotMatch(assertVerifies(work, at), /never stored/, `${at}: a recorded run's files are not in the store`);
      const runs = openStore(work).read().records.filter((r) => r.type === 'run');
      for (const f of filesOf(runs[runs.length - 1])) assert.equal(sha256(readFileSync(path.join(work, f.path))), f.sha256, `${at}: ${f.path} of the next run`);
      return { landed, nextMs };
    });
  });

  it('checkout: each restored file is the old or the new version, the next checkout completes it', async (t) => {
    fresh();
    for (const which of [0, 1]) {
      use(which);
      ok(['productionize', NOTEBOOK], work);
    }
    const [v1, v2] = openStore(work)
      .read()
      .records.filter((r): r is VersionRecord => r.type === 'version');
    assert.ok(v1 && v2 && v1.id !== v2.id, 'two versions to switch between');
    const expected = new Map<string, Set<string>>();
    for (const f of [...filesOf(v1), ...filesOf(v2)]) expected.set(f.path, new Set([...(expected.get(f.path) ?? []), f.sha256]));
    ok(['checkout', v1.id], work);
    const duration = timed(['checkout', v2.id], work);
    await loop(t, 'checkout', duration, async (i, delay, at) => {
      const target = i % 2 ? v2 : v1;
      const landed = await killAfter(['checkout', target.id], work, delay);
      assertObjectsIntact(work, at);
      assertOneOf(work, expected, false, at);
      assertVerifies(work, at);
      const nextMs = timed(['checkout', target.id], work);
      assertObjectsIntact(work, at);
      await assertNoLeftovers(work, at);
      assertVerifies(work, at);
      for (const f of filesOf(target)) assert.equal(sha256(readFileSync(path.join(work, f.path))), f.sha256, `${at}: ${f.path} after the next checkout`);
      return { landed, nextMs };
    });
  });

  it('a torn last line (a write cut short: power, full disk; one write() is not torn by a kill) passes verify, and the next append closes it', () => {
    fresh();
    use(0);
    ok(['productionize', NOTEBOOK], work);
    appendFileSync(storePath(work), '{"type":"run","notebook":"sales_for');
    const torn = nb2prod(['lineage', 'verify'], work, env);
    assert.equal(torn.status, 0, torn.stdout + torn.stderr);
    assert.match(torn.stdout + torn.stderr, /line 2 is incomplete/);
    use(1);
    ok(['productionize', NOTEBOOK], work);
    const closed = nb2prod(['lineage', 'verify'], work, env);
    assert.equal(closed.status, 0, closed.stdout + closed.stderr);
    assert.match(closed.stdout + closed.stderr, /line 2 is a torn write closed by a later append/);
  });

  it('gc: objects are there whole or gone, the next gc finishes, verify reports them as pruned', async (t) => {
    fresh();
    ok(['productionize', NOTEBOOK], work);
    // Each iteration makes garbage first: a run whose artifacts only it references, then gc keeps one run.
    // Another test fraction each time: every artifact from the split on is new, and garbage after the next gc.
    let fraction = 0;
    const makeGarbage = () => ok(['run', OUT, '--local', '--jobs', '1', '--param', `test_fraction=${0.2 + (fraction++ % 10) / 100}`], work);
    makeGarbage();
    const duration = timed(['gc', '--keep-runs', '1', '--keep-days', '0'], work);
    await loop(t, 'gc', duration, async (_i, delay, at) => {
      makeGarbage();
      const landed = await killAfter(['gc', '--keep-runs', '1', '--keep-days', '0'], work, delay);
      assertObjectsIntact(work, at);
      assertVerifies(work, at);
      const nextMs = timed(['gc', '--keep-runs', '1', '--keep-days', '0'], work);
      assertObjectsIntact(work, at);
      await assertNoLeftovers(work, at);
      const said = assertVerifies(work, at);
      // A gc killed after its record and before removing leaves objects the record calls pruned: still there, never missing.
      assert.match(said, /pruned by gc/, at);
      assert.doesNotMatch(said, /never stored/, at);
      return { landed, nextMs };
    });
  });
});
