import assert from 'node:assert/strict';
import { cpSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { before, describe, it } from 'node:test';
import { nb2prod, python, RUN_NOTEBOOK_AS_SCRIPT } from '../helpers/cli';
import { REPO_ROOT, tempDir, writeNotebook } from '../helpers/notebooks';

describe('nb2prod productionize (end to end, real python3)', () => {
  let work: string;
  let out: string;

  before(() => {
    work = tempDir();
    cpSync(path.join(REPO_ROOT, 'examples'), work, { recursive: true });
    const r = nb2prod(['productionize', 'sales_forecast.ipynb'], work);
    assert.equal(r.status, 0, r.stderr);
    out = r.stdout.trim();
  });

  it('writes the package under pipelines/<slug>/ and prints the directory', () => {
    assert.equal(out, path.join(work, 'pipelines', 'sales_forecast'));
    for (const f of ['pipeline.json', 'requirements.txt', 'Dockerfile', '.dockerignore', 'sales_forecast/__main__.py', 'sales_forecast/_runtime.py', 'sales_forecast/shared.py', 'data/sales.csv']) {
      assert.ok(existsSync(path.join(out, f)), f);
    }
    const manifest = JSON.parse(readFileSync(path.join(out, 'pipeline.json'), 'utf8'));
    assert.equal(manifest.package, 'sales_forecast');
    assert.deepEqual(manifest.steps.map((s: { name: string }) => s.name), ['load', 'clean', 'features', 'train', 'evaluate', 'forecast']);
    assert.match(manifest.notebook.hash, /^[0-9a-f]{64}$/);
  });

  it('the generated package prints what the notebook prints, with plain python3', () => {
    const expected = python([...RUN_NOTEBOOK_AS_SCRIPT, 'sales_forecast.ipynb'], work);
    assert.equal(expected.status, 0, expected.stderr);
    const actual = python(['-m', 'sales_forecast'], out);
    assert.equal(actual.status, 0, actual.stderr);
    assert.equal(actual.stdout, expected.stdout);
  });

  it('writes run.json with params, steps, artifacts with sha256 and metrics', () => {
    const r = python(['-m', 'sales_forecast', '--run-id', 'r1', '--param', 'region=south'], out);
    assert.equal(r.status, 0, r.stderr);
    const run = JSON.parse(readFileSync(path.join(out, 'artifacts', 'r1', 'run.json'), 'utf8'));
    assert.equal(run.run_id, 'r1');
    assert.equal(run.params.region, 'south');
    assert.equal(run.status, 'succeeded');
    assert.equal(run.steps.length, 6);
    assert.ok(run.steps.every((s: { status: string; seconds: number }) => s.status === 'succeeded' && s.seconds >= 0));
    assert.ok(run.artifacts.length > 0);
    for (const a of run.artifacts) {
      const bytes = readFileSync(path.join(out, 'artifacts', 'r1', a.path));
      assert.equal(bytes.length, a.bytes);
      assert.equal(require('crypto').createHash('sha256').update(bytes).digest('hex'), a.sha256);
    }
    assert.equal(typeof run.metrics.mae, 'number');
    assert.equal(typeof run.metrics.forecast, 'number');
  });

  it('--only runs one step from the artifacts of an earlier run', () => {
    const first = python(['-m', 'sales_forecast', '--run-id', 'full'], out);
    assert.equal(first.status, 0, first.stderr);
    const only = python(['-m', 'sales_forecast', '--only', 'forecast', '--run-id', 'only'], out);
    assert.equal(only.status, 0, only.stderr);
    assert.match(only.stdout, /"forecast": 126\.0/);
    const run = JSON.parse(readFileSync(path.join(out, 'artifacts', 'only', 'run.json'), 'utf8'));
    assert.deepEqual(run.steps.map((s: { name: string }) => s.name), ['forecast']);
  });

  it('keeps a generated file the user edited, unless --force', () => {
    const step = path.join(out, 'sales_forecast', 'steps', 'train.py');
    writeFileSync(step, readFileSync(step, 'utf8') + '\n# my tweak\n');
    const again = nb2prod(['productionize', 'sales_forecast.ipynb'], work);
    assert.equal(again.status, 0, again.stderr);
    assert.match(again.stderr, /kept your edited sales_forecast\/steps\/train\.py/);
    assert.match(readFileSync(step, 'utf8'), /# my tweak/);
    const forced = nb2prod(['productionize', 'sales_forecast.ipynb', '--force'], work);
    assert.equal(forced.status, 0, forced.stderr);
    assert.doesNotMatch(readFileSync(step, 'utf8'), /# my tweak/);
  });

  it('leaves nothing half-written when the notebook cannot be planned', () => {
    const dir = tempDir();
    writeNotebook(dir, 'broken.ipynb', [{ source: 'x = 1', tags: ['step:a'] }, { source: 'print(y)', tags: ['step:b'] }]);
    const r = nb2prod(['productionize', 'broken.ipynb'], dir);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /broken\.ipynb, cell 1 \(id c1\), line 1(:\d+)?: name 'y' is used but never defined/);
    assert.ok(!existsSync(path.join(dir, 'pipelines')), 'no output directory');
  });
});

describe('nb2prod plan', () => {
  it('prints the JSON contract', () => {
    const dir = tempDir();
    writeNotebook(dir, 'p.ipynb', [
      { source: 'import math\nrate = 0.5', tags: ['parameters'] },
      { source: 'xs = [1, 2, 3]', tags: ['step:load'] },
      { source: 'ys = [math.sqrt(x) * rate for x in xs]\nxs.append(4)', tags: ['step:transform'] },
      { source: 'print(len(xs), sum(ys))', tags: ['step:report'] },
    ]);
    const r = nb2prod(['plan', 'p.ipynb', '--json'], dir);
    assert.equal(r.status, 0, r.stderr);
    const plan = JSON.parse(r.stdout);
    assert.equal(plan.notebook, 'p.ipynb');
    assert.deepEqual(plan.params, { rate: 0.5 });
    const [load, transform, report] = plan.steps;
    assert.deepEqual(load, { name: 'load', cells: [1], after: [], inputs: [], outputs: ['xs'], uses: [], defines: ['xs'], params: [], metrics: [] });
    assert.deepEqual(transform.inputs, [{ name: 'xs', from: 'load' }]);
    assert.deepEqual(transform.params, ['rate']);
    assert.deepEqual(transform.outputs.sort(), ['xs', 'ys']);
    assert.ok(!transform.uses.includes('math'), 'imports are not uses');
    assert.deepEqual(report.inputs, [
      { name: 'xs', from: 'transform' },
      { name: 'ys', from: 'transform' },
    ]);
  });

  it('exits 2 on usage errors and 1 on unreadable notebooks', () => {
    const dir = tempDir();
    assert.equal(nb2prod(['plan'], dir).status, 2);
    assert.equal(nb2prod(['plan', 'x.ipynb', '--bogus'], dir).status, 2);
    const missing = nb2prod(['plan', 'missing.ipynb'], dir);
    assert.equal(missing.status, 1);
    assert.match(missing.stderr, /missing\.ipynb: notebook not found/);
    assert.doesNotMatch(missing.stderr, /at .*\.js:\d+/, 'no stack trace');
  });

  it('reports a prev: tag naming an unknown step and a cycle as errors', () => {
    const dir = tempDir();
    writeNotebook(dir, 'u.ipynb', [{ source: 'a = 1', tags: ['step:a', 'prev:nowhere'] }]);
    const unknown = nb2prod(['plan', 'u.ipynb'], dir);
    assert.equal(unknown.status, 1);
    assert.match(unknown.stderr, /u\.ipynb, cell 0 \(id c0\).*'nowhere'.*not the name of any step/);
    writeNotebook(dir, 'c.ipynb', [
      { source: 'a = 1', tags: ['step:a', 'after:b'] },
      { source: 'b = a', tags: ['step:b'] },
    ]);
    const cycle = nb2prod(['plan', 'c.ipynb'], dir);
    assert.equal(cycle.status, 1);
    assert.match(cycle.stderr, /cycle/);
  });
});
