/**
 * `gc` racing `run --local` in two real processes of the bundled CLI: one process after another
 * runs the example pipeline while another loop keeps running `gc --keep-runs 1 --keep-days 0`.
 *
 * A run appends its record under the lineage lock and stores its files after, without it; gc
 * decides under the lock from the records it reads. Whatever the interleaving, gc must never take
 * an object a run it has seen references and still keeps (the latest run), must only ever take
 * objects it records as pruned, and must leave the store and lineage consistent: every object's
 * bytes hash to its name, `lineage verify` passes, and the last run checks out byte for byte.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { cpSync, existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { after, describe, it } from 'node:test';
import { sha256 } from '../../src/core/hash';
import { openStore, RunRecord } from '../../src/core/lineage';
import type { GcRecord } from '../../src/core/lineage/records';
import { filesOf } from '../../src/core/store/ingest';
import { openObjectStore } from '../../src/core/store/objects';
import { CLI, nb2prod, SCIENTIFIC_PYTHON } from '../helpers/cli';
import { notebookJson, REPO_ROOT, tempDir } from '../helpers/notebooks';

const RUNS = 10;
/** gc keeps going for as long as runs do: at least this many, so it lands in every phase of a run. */
const MIN_GCS = 10;
const NOTEBOOK = 'sales_forecast.ipynb';
const OUT = 'pipelines/sales_forecast';
const GC = ['gc', '--keep-runs', '1', '--keep-days', '0'];
const env = { NB2PROD_PYTHON: SCIENTIFIC_PYTHON };

/** The CLI as a child process that runs alongside the test's other one (spawnSync would serialise them). */
function cli(args: string[], cwd: string): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { cwd, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d) => (output += d));
    child.stderr.on('data', (d) => (output += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, output }));
  });
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

function walk(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(path.join(dir, e.name)) : [path.join(dir, e.name)]));
}

describe('gc racing runs (two processes)', () => {
  it('keeps what the kept run references, prunes only what it records, and leaves the store verifiable', { timeout: 120_000 }, async (t) => {
    const started = performance.now();
    const work = tempDir('nb2prod-gcrace-');
    cpSync(path.join(REPO_ROOT, 'examples'), work, { recursive: true });
    const made = nb2prod(['productionize', NOTEBOOK], work, env);
    assert.equal(made.status, 0, made.stderr);

    let runsDone = false;
    const runner = (async () => {
      try {
        for (let i = 0; i < RUNS; i++) {
          // Another test fraction each run: its split artifacts are new, so each gc has garbage to take.
          const args = ['run', OUT, '--local', '--jobs', String(1 + (i % 2)), '--param', `test_fraction=${(0.2 + i / 100).toFixed(2)}`];
          const r = await cli(args, work);
          assert.equal(r.code, 0, `run ${i}: ${r.output}`);
          // A file the run hashed but could not store is what a gc taking it mid-store would look like.
          assert.doesNotMatch(r.output, /object store:/, `run ${i} could not store all its files`);
        }
      } finally {
        runsDone = true;
      }
    })();
    const collector = (async () => {
      let gcs = 0;
      // Small, varying pauses: gc then starts in different phases of a run (Python working, record
      // appended, files being stored) instead of in lockstep with it.
      for (; gcs < MIN_GCS || !runsDone; gcs++) {
        const r = await cli(GC, work);
        assert.equal(r.code, 0, `gc ${gcs}: ${r.output}`);
        await sleep((gcs * 17) % 60);
      }
      return gcs;
    })();
    const [, gcs] = await Promise.all([runner, collector]);

    const { records } = openStore(work).read();
    const objects = openObjectStore(path.join(work, '.nb2prod', 'objects'));
    const runs = records.filter((r): r is RunRecord => r.type === 'run');
    assert.equal(runs.length, RUNS);
    const gcRecords = records.filter((r): r is GcRecord => r.type === 'gc');
    // Interleaved, not one loop after the other: some gc pruned between two runs' records.
    const firstRun = records.indexOf(runs[0]);
    const lastRun = records.indexOf(runs[runs.length - 1]);
    const between = gcRecords.filter((g) => records.indexOf(g) > firstRun && records.indexOf(g) < lastRun).length;
    t.diagnostic(`${RUNS} runs, ${gcs} gcs, ${gcRecords.length} of them pruned (${between} between runs), ${((performance.now() - started) / 1000).toFixed(1)} s`);
    assert.ok(between > 0, 'no gc pruned while the runs went on: the loops did not race');

    // Each succeeded run's files are in the store, or a gc after its record says it took them.
    for (const run of runs.filter((r) => r.status === 'succeeded')) {
      const at = records.indexOf(run);
      const prunedSince = new Set(records.slice(at + 1).flatMap((r) => (r.type === 'gc' ? r.pruned : [])));
      for (const f of filesOf(run)) {
        assert.ok(objects.has(f.sha256) || prunedSince.has(f.sha256), `run ${run.runId}: ${f.path} (${f.sha256.slice(0, 12)}) is gone and no later gc pruned it`);
      }
    }
    // The kept run (the last: one notebook, --keep-runs 1) has every file.
    const last = runs[runs.length - 1];
    assert.equal(last.status, 'succeeded');
    for (const f of filesOf(last)) assert.ok(objects.has(f.sha256), `the kept run's ${f.path} was pruned`);

    // No object holds other bytes than its name says.
    const root = path.join(work, '.nb2prod', 'objects', 'sha256');
    for (const file of walk(root)) {
      const name = path.relative(root, file).split(path.sep).join('');
      assert.equal(sha256(readFileSync(file)), name, `object ${name} holds other bytes`);
    }

    const verify = nb2prod(['lineage', 'verify'], work, env);
    assert.equal(verify.status, 0, verify.stdout + verify.stderr);
    assert.doesNotMatch(verify.stdout + verify.stderr, /never stored/);

    // The last run checks out byte for byte: its artifacts and the files of the version it ran.
    const to = tempDir('nb2prod-gcrace-checkout-');
    const out = nb2prod(['checkout', last.runId, '--to', to], work, env);
    assert.equal(out.status, 0, out.stdout + out.stderr);
    const version = records.find((r) => r.id === last.versionId);
    assert.ok(version, 'the last run names its version');
    for (const f of [...last.artifacts, ...filesOf(version)]) assert.equal(sha256(readFileSync(path.join(to, f.path))), f.sha256, `checked out ${f.path}`);
  });
});

/**
 * A pipeline's runtime writes objects long before its run is recorded: a plain `python -m` run
 * (one process) stops between two steps while `nb2prod gc --keep-runs 0` (another process) runs
 * again and again. Its marker keeps what it wrote so far; once it has ended, nothing keeps those
 * objects (no record names them) and gc takes them. A killed run's marker is removed by the next gc.
 */
describe('gc and a pipeline writing into the store (two processes)', () => {
  const GATED = [
    { source: 'import os\nimport time', tags: ['imports'] },
    { source: 'numbers = [i * 7919 % 10007 for i in range(200_000)]', tags: ['step:make'] },
    // Waits for the test: the run is then between steps, its first output stored, no record anywhere.
    { source: "while not os.path.exists(os.environ['GATE']):\n    time.sleep(0.02)\ntotal = sum(numbers)", tags: ['step:wait'] },
  ];
  const GC_ALL = ['gc', '--keep-runs', '0', '--keep-days', '0'];
  const started: ReturnType<typeof spawn>[] = [];
  // A failed assertion must not leave a run waiting for its gate forever.
  after(() => started.forEach((child) => child.exitCode === null && child.kill('SIGKILL')));

  function startGated(pipeline: string, runId: string, gate: string) {
    const child = spawn(SCIENTIFIC_PYTHON, ['-m', 'gated', '--run-id', runId], { cwd: pipeline, env: { ...process.env, GATE: gate, NB2PROD_OBJECTS: '' }, stdio: ['ignore', 'ignore', 'pipe'] });
    started.push(child);
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
    return { child, exited, stderr: () => stderr };
  }

  /** The object of `make`'s output once its step record lists it (written by the runtime's writer thread). */
  async function madeObject(pipeline: string, runId: string, objects: ReturnType<typeof openObjectStore>): Promise<string> {
    const record = path.join(pipeline, 'artifacts', runId, 'make', '.step.json');
    for (let i = 0; i < 600; i++) {
      if (existsSync(record)) {
        const sha = JSON.parse(readFileSync(record, 'utf8')).artifacts[0].sha256 as string;
        if (objects.has(sha)) return sha;
      }
      await sleep(50);
    }
    throw new Error(`run ${runId} never stored its first output`);
  }

  it('keeps a running pipeline\'s fresh objects, frees them once it ended, and clears a killed run\'s marker', { timeout: 120_000 }, async () => {
    const work = tempDir('nb2prod-gcactive-');
    writeFileSync(path.join(work, 'gated.ipynb'), notebookJson(GATED));
    assert.equal(nb2prod(['productionize', 'gated.ipynb', '--out', 'pipe'], work, env).status, 0);
    const pipeline = path.join(work, 'pipe');
    const store = path.join(work, '.nb2prod', 'objects');
    const objects = openObjectStore(store);
    const active = () => readdirSync(path.join(store, 'active'));

    const gate = path.join(work, 'gate');
    const run = startGated(pipeline, 'gated', gate);
    const fresh = await madeObject(pipeline, 'gated', objects);
    assert.equal(active().length, 1, 'the running pipeline has its marker');
    for (let i = 0; i < 3; i++) {
      const r = await cli(GC_ALL, work);
      assert.equal(r.code, 0, r.output);
      assert.match(r.output, /kept [1-9][0-9]* unreferenced object\(s\) written since a pipeline still running started/);
      assert.ok(objects.has(fresh), `gc ${i} took the running pipeline's object`);
    }
    writeFileSync(gate, '');
    assert.equal(await run.exited, 0, run.stderr());
    assert.deepEqual(active(), [], 'the marker goes with the run');
    // Ended and never recorded: nothing keeps its objects now (its artifacts keep their bytes).
    assert.equal((await cli(GC_ALL, work)).code, 0);
    assert.ok(!objects.has(fresh), 'gc frees the objects once no running pipeline holds them');

    rmSync(gate);
    const killed = startGated(pipeline, 'killed', gate);
    const orphan = await madeObject(pipeline, 'killed', objects);
    killed.child.kill('SIGKILL');
    await killed.exited;
    assert.equal(active().length, 1, 'a killed run leaves its marker');
    const r = await cli(GC_ALL, work);
    assert.equal(r.code, 0, r.output);
    assert.deepEqual(active(), [], 'gc removes the marker of a writer that is gone');
    assert.ok(!objects.has(orphan), 'and takes what the killed run wrote');
  });
});
