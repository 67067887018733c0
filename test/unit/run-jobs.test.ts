/**
 * `nb2prod run --local --jobs N` with real interpreters: each step its own process. The diamond's
 * artifacts and printed lines equal the one-process run's (Python and TypeScript), a seeded
 * notebook draws the notebook's numbers, a failed branch skips the join, and a cancelled run
 * leaves no process behind.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { cpSync, readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { runLocal } from '../../src/core/docker/run';
import { CLI, RUN_NOTEBOOK_AS_SCRIPT } from '../helpers/cli';
import {
  artifactHashes,
  cli,
  CliResult,
  DIAMOND_STEPS,
  linesByStep,
  parallelLines,
  PYTHON_DIAMOND,
  runRecord,
  SCIENTIFIC_PYTHON,
  SEEDED_DIAMOND,
  sequentialLines,
  TYPESCRIPT_DIAMOND,
  TYPESCRIPT_METADATA,
} from '../helpers/diamond';
import { CellSpec, REPO_ROOT, tempDir, writeNotebook } from '../helpers/notebooks';

/** A pipeline directory made from these cells, in a fresh workspace. */
async function pipeline(cells: CellSpec[], metadata?: Record<string, unknown>): Promise<{ work: string; dir: string }> {
  const work = tempDir();
  writeNotebook(work, 'diamond.ipynb', cells, metadata);
  const dir = path.join(work, 'pipeline');
  const made = await cli(['productionize', 'diamond.ipynb', '--out', dir, '--no-cache'], work);
  assert.equal(made.code, 0, made.err.join('\n'));
  return { work, dir };
}

function run(p: { work: string; dir: string }, runId: string, extra: string[], signal?: AbortSignal, onLine?: (line: string) => void) {
  return cli(['run', p.dir, '--local', '--run-id', runId, '--workspace', p.work, ...extra], p.work, signal, onLine);
}

for (const [language, cells, metadata] of [
  ['Python', PYTHON_DIAMOND, undefined],
  ['TypeScript', TYPESCRIPT_DIAMOND, TYPESCRIPT_METADATA],
] as const) {
  describe(`run --local --jobs 2 on a ${language} diamond`, () => {
    it('writes the same artifacts and prints the same lines, step by step, as one process', async () => {
      const p = await pipeline([...cells], metadata);
      const one = await run(p, 'one', ['--jobs', '1']);
      assert.equal(one.code, 0, one.err.join('\n'));
      const two = await run(p, 'two', ['--jobs', '2']);
      assert.equal(two.code, 0, two.err.join('\n'));
      assert.match(two.out[two.out.length - 1], /^run two succeeded; run\.json: /);

      // Every line of the parallel run belongs to a step, stdout and stderr kept apart.
      assert.deepEqual(two.out.slice(0, -1).filter((l) => !/^\[(load|left|right|join)\] /.test(l)), []);
      assert.deepEqual(parallelLines(two, DIAMOND_STEPS), sequentialLines(one));
      assert.ok(linesByStep(two.err).get('left')?.includes('left note'));

      const [sequential, parallel] = [runRecord(p.dir, 'one'), runRecord(p.dir, 'two')];
      assert.equal(Object.keys(artifactHashes(sequential)).length, 4);
      assert.deepEqual(artifactHashes(parallel), artifactHashes(sequential));
      assert.deepEqual(parallel.metrics, sequential.metrics);
      assert.deepEqual(parallel.params, sequential.params);
      assert.deepEqual(
        parallel.steps.map((s) => `${s.name}:${s.status}`),
        DIAMOND_STEPS.map((s) => `${s}:succeeded`),
      );
    });

    it('fails fast: a failing branch skips the join, the other branch finishes, exit 1', async () => {
      const p = await pipeline([...cells], metadata);
      const r = await run(p, 'failing', ['--jobs', '2', '--param', 'fail_left=true', '--param', 'pause=0.5']);
      assert.equal(r.code, 1);
      assert.match(r.err.join('\n'), /step left failed: .*fails on purpose/);
      assert.ok(linesByStep(r.out).get('right')?.some((l) => l.startsWith('right ')), 'the right branch finished');
      const record = runRecord(p.dir, 'failing');
      assert.equal(record.status, 'failed');
      assert.deepEqual(
        record.steps.map((s) => `${s.name}:${s.status}`),
        ['load:succeeded', 'left:failed', 'right:succeeded', 'join:skipped'],
      );

      const lineage = JSON.parse((await cli(['lineage', '--json'], p.work)).out.join('\n'));
      const runs = lineage.notebooks[0].versions[0].runs;
      assert.deepEqual(runs.map((x: { status: string }) => x.status), ['failed']);
      assert.deepEqual(runs[0].steps.map((s: { status: string }) => s.status), ['succeeded', 'failed', 'succeeded', 'skipped']);
    });

    it('cancelled mid-run: exit 130 and no step process left', async () => {
      const p = await pipeline([...cells], metadata);
      const controller = new AbortController();
      const started = new Set<string>();
      const r = await run(p, 'cancelled', ['--jobs', '2', '--param', 'pause=60'], controller.signal, (line) => {
        // Each runner logs its step when it starts it; abort once both branches sleep.
        const m = /^\[(left|right)\] \[pipeline\] /.exec(line);
        if (m) started.add(m[1]);
        if (started.size === 2) setTimeout(() => controller.abort(), 300);
      });
      assert.equal(started.size, 2, 'both branches started');
      assert.equal(r.code, 130, r.err.join('\n'));
      assert.deepEqual(stepProcesses(p.dir), []);
    });
  });
}

describe('Ctrl-C on nb2prod run --jobs 2', () => {
  it('stops every step process (SIGTERM from nb2prod) and exits 130', async () => {
    const p = await pipeline([...PYTHON_DIAMOND]);
    const child = spawn(process.execPath, [CLI, 'run', p.dir, '--local', '--python', SCIENTIFIC_PYTHON, '--jobs', '2', '--param', 'pause=60'], {
      cwd: p.work,
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    const started = new Set<string>();
    let stderr = '';
    let interrupted = false;
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString('utf8');
      for (const m of stderr.matchAll(/^\[(left|right)\] \[pipeline\] /gm)) started.add(m[1]);
      // One SIGINT to nb2prod alone, as from `kill -INT` (a second one exits at once): nb2prod must stop the steps itself.
      if (started.size === 2 && !interrupted) {
        interrupted = true;
        setTimeout(() => child.kill('SIGINT'), 300);
      }
    });
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    assert.equal(started.size, 2, stderr);
    assert.equal(code, 130, stderr);
    assert.deepEqual(stepProcesses(p.dir), []);
  });
});

/** Processes still running a step of this pipeline (their command line names its artifacts directory). */
function stepProcesses(dir: string): string[] {
  const ps = execFileSync('ps', ['-eo', 'pid=,args='], { encoding: 'utf8' });
  return ps.split('\n').filter((l) => l.includes(path.join(dir, 'artifacts')) && l.includes('--only'));
}

describe('run --local --jobs 2 on a seeded notebook', () => {
  it('draws the numbers the notebook draws: state steps run in notebook order, each resuming the one before', async () => {
    const p = await pipeline(SEEDED_DIAMOND);
    const manifest = JSON.parse(readFileSync(path.join(p.dir, 'pipeline.json'), 'utf8'));
    assert.deepEqual(
      manifest.steps.filter((s: { state?: boolean }) => s.state).map((s: { name: string }) => s.name),
      ['left', 'right', 'again'],
    );
    const notebook = spawnSync(SCIENTIFIC_PYTHON, [...RUN_NOTEBOOK_AS_SCRIPT, path.join(p.work, 'diamond.ipynb')], { encoding: 'utf8' });
    assert.equal(notebook.status, 0, notebook.stderr);
    const r = await run(p, 'seeded', ['--jobs', '2']);
    assert.equal(r.code, 0, r.err.join('\n'));
    assert.deepEqual(parallelLines(r, ['load', 'left', 'right', 'again']).out, notebook.stdout.trimEnd().split('\n'));
  });
});

describe('run --local: how many at a time, and which steps', () => {
  const CHAIN: CellSpec[] = [
    { source: "numbers = [3, 1, 2]\nprint('numbers', numbers)", tags: ['step:load'] },
    { source: "ordered = sorted(numbers)\nprint('ordered', ordered)", tags: ['step:sort'] },
  ];
  const prefixed = (r: CliResult) => r.out.some((l) => /^\[\w+\] /.test(l));

  it('without --jobs: one process for a chain of steps; for a diamond one per step when there are several CPUs', async () => {
    const chain = await pipeline(CHAIN);
    const c = await run(chain, 'auto', []);
    assert.equal(c.code, 0, c.err.join('\n'));
    assert.equal(prefixed(c), false);
    const diamond = await pipeline([...PYTHON_DIAMOND]);
    const d = await run(diamond, 'auto', []);
    assert.equal(d.code, 0, d.err.join('\n'));
    assert.equal(prefixed(d), availableParallelism() > 1);
  });

  it('--from runs that step and the ones after it, each alone, taking earlier outputs from the last run', async () => {
    const p = await pipeline([...PYTHON_DIAMOND]);
    assert.equal((await run(p, 'whole', ['--jobs', '1'])).code, 0);
    const r = await run(p, 'resumed', ['--jobs', '2', '--from', 'left']);
    assert.equal(r.code, 0, r.err.join('\n'));
    const resumed = runRecord(p.dir, 'resumed');
    assert.deepEqual(resumed.steps.map((s) => `${s.name}:${s.status}`), ['left:succeeded', 'right:succeeded', 'join:succeeded']);
    const whole = artifactHashes(runRecord(p.dir, 'whole'));
    delete whole['load/data'];
    assert.deepEqual(artifactHashes(resumed), whole);
  });

  it('--only runs one step in one process whatever --jobs says', async () => {
    const p = await pipeline([...PYTHON_DIAMOND]);
    assert.equal((await run(p, 'whole', ['--jobs', '1'])).code, 0);
    const r = await run(p, 'whole', ['--jobs', '2', '--only', 'join']);
    assert.equal(r.code, 0, r.err.join('\n'));
    assert.equal(prefixed(r), false);
    assert.ok(r.out.includes('total 198'));
  });

  it('a value that cannot be saved fails a step run on its own, and the error says one process passes it in memory', async () => {
    const p = await pipeline([
      { source: "squares = (i * i for i in range(4))\nprint('made')", tags: ['step:make'] },
      { source: "print('squares', list(squares))", tags: ['step:use'] },
      { source: "print('beside')", tags: ['step:beside'] },
    ]);
    const two = await run(p, 'apart', ['--jobs', '2']);
    assert.equal(two.code, 1);
    assert.match(two.err.join('\n'), /cannot be saved.*Or run the pipeline in one process \(--jobs 1/s);
    const one = await run(p, 'together', ['--jobs', '1']);
    assert.equal(one.code, 0, one.err.join('\n'));
    assert.ok(one.out.includes('squares [0, 1, 4, 9]'));
  });

  it('reports each step as it starts and ends (for the Pipeline Graph): the join after both branches, a skipped step at the end', async () => {
    const p = await pipeline([...PYTHON_DIAMOND]);
    const events: string[] = [];
    const onStep = (step: string, state: string) => void events.push(`${step}:${state}`);
    const ok = await runLocal({ dir: p.dir, python: SCIENTIFIC_PYTHON, jobs: 2, runId: 'events', onStep });
    assert.equal(ok.status, 'succeeded');
    assert.deepEqual(events.slice(0, 2), ['load:running', 'load:succeeded']);
    assert.deepEqual(events.slice(-2), ['join:running', 'join:succeeded']);
    assert.deepEqual(new Set(events.slice(2, 6)), new Set(['left:running', 'right:running', 'left:succeeded', 'right:succeeded']));

    events.length = 0;
    const failed = await runLocal({ dir: p.dir, python: SCIENTIFIC_PYTHON, jobs: 2, runId: 'events-failed', params: ['fail_left=true'], onStep });
    assert.equal(failed.status, 'failed');
    assert.ok(events.includes('left:failed'));
    assert.equal(events[events.length - 1], 'join:skipped');
  });

  it('a parameter the package rejects is a usage error (exit 2), as without --jobs; so is --jobs 0', async () => {
    const p = await pipeline([...PYTHON_DIAMOND]);
    const r = await run(p, 'bad-param', ['--jobs', '2', '--param', 'pause=soon']);
    assert.equal(r.code, 2, r.err.join('\n'));
    assert.match(r.err.join('\n'), /pause/);
    assert.equal((await run(p, 'bad-jobs', ['--jobs', '0'])).code, 2);
  });

  it('a package generated before the step contract: --jobs 2 says to productionize again (its runtime would reject the flags)', async () => {
    const old = path.join(tempDir(), 'basic');
    cpSync(path.join(REPO_ROOT, 'test', 'fixtures', 'pipeline-basic'), old, { recursive: true });
    const r = await cli(['run', old, '--local', '--jobs', '2'], path.dirname(old));
    assert.equal(r.code, 1, r.err.join('\n'));
    assert.match(r.err.join('\n'), /productionize the notebook again .*or use --jobs 1/);
  });
});

