/**
 * `nb2prod reproduce RUN --local`: a seeded run reproduces (every artifact and metric the same,
 * exit 0); a step that stores the time is named with its artifact (exit 1); the comparison is a
 * `reproduction` record under the original run, and the audit chain still verifies.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { compareRuns } from '../../src/core/reproduce/compare';
import { cli, SEEDED_DIAMOND } from '../helpers/diamond';
import { CellSpec, tempDir, writeNotebook } from '../helpers/notebooks';

/** `load` is deterministic; `stamp` stores the time; `report` only differs because `stamp` does. */
const TIMED: CellSpec[] = [
  { source: 'import time\nimport numpy as np', tags: ['imports'] },
  { source: 'scale = 2', tags: ['parameters'] },
  { source: 'data = np.arange(6) * scale', tags: ['step:load'] },
  { source: "stamped = {'at': time.time(), 'n': int(data.sum())}", tags: ['step:stamp'] },
  { source: "report = f\"{stamped['n']} at {stamped['at']}\"\ntotal = stamped['n']", tags: ['step:report'] },
  { source: "print(report)", tags: ['step:show'] },
  { source: 'total', tags: ['metrics'] },
];

/** Seeded, reading a CSV: a version is its code and its data. */
const CSV_CELLS: CellSpec[] = [
  { source: 'import numpy as np\nimport pandas as pd\nnp.random.seed(3)', tags: ['imports'] },
  { source: "data_path = 'data/points.csv'\nscale = 1", tags: ['parameters'] },
  { source: 'frame = pd.read_csv(data_path)', tags: ['step:load'] },
  { source: 'fit = (frame.x * scale + np.random.rand(len(frame))).round(6).tolist()', tags: ['step:fit'] },
  { source: 'total = round(sum(fit), 6)', tags: ['step:sum'] },
  { source: 'total', tags: ['metrics'] },
];

/** Every file of the notebook, its data and its package (not run artifacts, not .nb2prod) by content. */
function snapshot(work: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (rel: string) => {
    for (const e of readdirSync(path.join(work, rel), { withFileTypes: true })) {
      const child = path.join(rel, e.name);
      if (e.isDirectory()) {
        if (e.name !== 'artifacts' && e.name !== '.nb2prod') walk(child);
      } else out[child] = readFileSync(path.join(work, child), 'utf8');
    }
  };
  walk('.');
  return out;
}

async function productionizeAndRun(cells: CellSpec[], runId: string, params: string[] = []) {
  const work = tempDir();
  writeNotebook(work, 'nb.ipynb', cells);
  const pipeline = path.join('pipelines', 'nb');
  assert.equal((await cli(['productionize', 'nb.ipynb'], work)).code, 0);
  const run = await cli(['run', pipeline, '--local', '--run-id', runId, ...params.flatMap((p) => ['--param', p])], work);
  assert.equal(run.code, 0, run.err.join('\n'));
  return { work, pipeline };
}

async function lineageJson(work: string) {
  const r = await cli(['lineage', '--json'], work);
  assert.equal(r.code, 0, r.err.join('\n'));
  return JSON.parse(r.out.join('\n')).notebooks[0].versions[0];
}

describe('nb2prod reproduce', () => {
  it('reproduces a seeded run: every artifact and metric the same, exit 0, recorded under the run', async () => {
    const { work } = await productionizeAndRun(SEEDED_DIAMOND, 'seeded-1');
    const r = await cli(['reproduce', 'seeded-1', '--local'], work);
    assert.equal(r.code, 0, [...r.out, ...r.err].join('\n'));
    const table = r.out.join('\n');
    assert.match(table, /^identical: \d+ same, 0 differs, 0 new, 0 missing$/m);
    assert.doesNotMatch(table, /^(differs|new|missing) /m);
    for (const step of ['left', 'right']) assert.match(table, new RegExp(`^same +${step}/`, 'm'));

    const version = await lineageJson(work);
    const [original, again] = version.runs;
    assert.equal(original.runId, 'seeded-1');
    assert.equal(original.reproductions.length, 1);
    const x = original.reproductions[0];
    assert.equal(x.status, 'identical');
    assert.equal(x.reproduction, again.id);
    assert.equal(x.reproductionRunId, again.runId);
    assert.ok(x.entries.length >= 3 && x.entries.every((e: { outcome: string }) => e.outcome === 'same'));
    // No runtime-internal file (saved random state, step records) is compared.
    assert.ok(x.entries.every((e: { name: string }) => !/\/\./.test(e.name)), JSON.stringify(x.entries));

    const verify = await cli(['lineage', 'verify'], work);
    assert.equal(verify.code, 0, verify.err.join('\n'));
    const text = (await cli(['lineage'], work)).out.join('\n');
    assert.match(text, /reproduction [0-9a-f]{12}\s+identical\s+.*same \d+, differs 0, new 0, missing 0/);
  });

  it('names the step that stores the time and its artifact, exit 1; the step after it is not blamed', async () => {
    const { work } = await productionizeAndRun(TIMED, 'timed-1', ['scale=3']);
    const r = await cli(['reproduce', 'timed-1', '--local'], work);
    assert.equal(r.code, 1, [...r.out, ...r.err].join('\n'));
    const table = r.out.join('\n');
    assert.match(table, /^differs +stamp\/stamped +[0-9a-f]{12} → [0-9a-f]{12}$/m);
    assert.match(table, /^same +load\/data /m);
    assert.match(table, /^same +metric total +45$/m);
    assert.match(table, /^differs +report\/report /m);
    assert.match(table, /^differs: /m);
    const hints = r.err.filter((l) => /not deterministic/.test(l));
    assert.equal(hints.length, 1, r.err.join('\n'));
    assert.match(hints[0], /step stamp .*stamp\/stamped differs.*seed/);

    const version = await lineageJson(work);
    const [original, again] = version.runs;
    // Run with the original's parameters.
    assert.deepEqual(again.params, original.params);
    assert.equal(again.params.scale, 3);
    const x = original.reproductions[0];
    assert.equal(x.status, 'differs');
    assert.deepEqual(x.nondeterministic, [{ step: 'stamp', artifact: 'stamp/stamped' }]);
    assert.equal((await cli(['lineage', 'verify'], work)).code, 0);
  });

  it('runs an older version restored from the object store: all same, exit 0, the current package and data untouched', async () => {
    const work = tempDir();
    mkdirSync(path.join(work, 'data'));
    writeFileSync(path.join(work, 'data', 'points.csv'), 'x,y\n1,2\n3,4\n5,6\n');
    writeNotebook(work, 'nb.ipynb', CSV_CELLS);
    const pipeline = path.join(work, 'pipelines', 'nb');
    assert.equal((await cli(['productionize', 'nb.ipynb'], work)).code, 0);
    const v1 = await cli(['run', 'pipelines/nb', '--local', '--run-id', 'v1-run', '--param', 'scale=2'], work);
    assert.equal(v1.code, 0, v1.err.join('\n'));

    // Version 2: another formula and another CSV, productionized and run.
    writeNotebook(work, 'nb.ipynb', CSV_CELLS.map((c) => (c.tags?.includes('step:fit') ? { ...c, source: c.source.replace('* scale', '* scale + 1') } : c)));
    writeFileSync(path.join(work, 'data', 'points.csv'), 'x,y\n7,8\n9,10\n');
    assert.equal((await cli(['productionize', 'nb.ipynb'], work)).code, 0);
    assert.equal((await cli(['run', 'pipelines/nb', '--local', '--run-id', 'v2-run'], work)).code, 0);
    const current = snapshot(work);

    const r = await cli(['reproduce', 'v1-run', '--local'], work);
    assert.equal(r.code, 0, [...r.out, ...r.err].join('\n'));
    assert.match(r.err.join('\n'), /no longer holds version .*restoring it from the object store/);
    assert.match(r.out.join('\n'), /^identical: [1-9]\d* same, 0 differs, 0 new, 0 missing$/m);
    assert.match(r.out.join('\n'), /^same +metric total +/m);
    assert.deepEqual(snapshot(work), current, 'the workspace package, data and notebook are as they were');

    const tree = JSON.parse((await cli(['lineage', '--json'], work)).out.join('\n'));
    const v1Version = tree.notebooks[0].versions.find((v: { runs: { runId: string }[] }) => v.runs.some((x) => x.runId === 'v1-run'));
    const [original, again] = v1Version.runs;
    assert.equal(original.reproductions[0].status, 'identical');
    assert.equal(again.id, original.reproductions[0].reproduction, 'the reproduction is recorded under version 1');
    assert.deepEqual(again.params, original.params);
    assert.equal(again.params.scale, 2);
    // Its artifacts sit beside the original's, in the workspace; no temporary directory is left.
    assert.ok(existsSync(path.join(pipeline, 'artifacts', again.runId, 'run.json')));
    assert.equal((await cli(['lineage', 'verify'], work)).code, 0);

    // After gc pruned version 1's objects, reproducing it says so. (The reproduction is a run of version 1:
    // a run of version 2 after it makes version 1 no kept run's.)
    assert.equal((await cli(['run', 'pipelines/nb', '--local', '--run-id', 'v2-again'], work)).code, 0);
    assert.equal((await cli(['gc', '--keep-runs', '1', '--keep-days', '0'], work)).code, 0);
    const pruned = await cli(['reproduce', 'v1-run', '--local'], work);
    assert.equal(pruned.code, 1);
    assert.match(pruned.err.join('\n'), /cannot be reproduced: .*pruned by gc on .*--keep-runs/);
    assert.deepEqual(snapshot(work), current);
  });

  it('compares by step and name, not by run directory, and reports new and missing artifacts and metrics', () => {
    const a = {
      status: 'succeeded' as const,
      runDir: 'p/artifacts/a',
      artifacts: [
        { path: 'p/artifacts/a/s/x.pkl', sha256: '1'.repeat(64), bytes: 1, step: 's', name: 'x' },
        { path: 'p/artifacts/a/s/gone.pkl', sha256: '2'.repeat(64), bytes: 1, step: 's', name: 'gone' },
      ],
      metrics: { m: 1, old: 2 },
    };
    const b = {
      status: 'succeeded' as const,
      runDir: 'p/artifacts/b',
      artifacts: [
        { path: 'p/artifacts/b/s/x.pkl', sha256: '1'.repeat(64), bytes: 1, step: 's', name: 'x' },
        { path: 'p/artifacts/b/t/y.pkl', sha256: '3'.repeat(64), bytes: 1, step: 't', name: 'y' },
      ],
      metrics: { m: 1.5 },
    };
    const c = compareRuns(a, b);
    assert.deepEqual(c.counts, { same: 1, differs: 1, new: 1, missing: 2 });
    assert.equal(c.status, 'differs');
    assert.deepEqual(
      c.entries.map((e) => `${e.outcome} ${e.kind} ${e.name}`),
      ['same artifact s/x', 'missing artifact s/gone', 'new artifact t/y', 'differs metric m', 'missing metric old'],
    );
    assert.equal(compareRuns(a, { ...a, status: 'failed' }).status, 'failed');
  });
});
