/**
 * What users see of parameters and metrics: `--param` overrides of every literal type reach the
 * steps with the default's type, run.json records them, and metrics are JSON numbers.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { before, describe, it } from 'node:test';
import { nb2prod, SCIENTIFIC_PYTHON } from '../helpers/cli';
import { tempDir, writeNotebook } from '../helpers/notebooks';

function python(args: string[], cwd: string) {
  return spawnSync(SCIENTIFIC_PYTHON, args, { cwd, encoding: 'utf8', timeout: 120_000 });
}

const PARAMS = ['lr = 1.0', 'epochs = 3', 'name = "base"', 'flag = True', 'seed = None', 'sizes = [1, 2, 3]', 'opts = {"a": 1, "b": [2.5, None]}', 'shape = (2, 4)'].join('\n');

const TRAIN = [
  'print(repr(lr), repr(epochs), repr(name), repr(flag), repr(seed), repr(sizes), repr(opts), repr(shape))',
  'acc = np.float64(0.875)',
  'n = np.int64(7)',
  'total = sum(sizes) + epochs',
  'scores = {"f1": np.float64(0.5), "auc": 0.75, "k": np.int32(3)}',
  'good = np.float64(acc) > 0.5',
  'loss = float("nan")',
].join('\n');

/** Productionizes a notebook whose parameters and metrics cells carry the given tags; returns the package directory. */
function pipeline(paramsTag: string, metricsTag: string): string {
  const work = tempDir();
  writeNotebook(work, 'nb.ipynb', [
    { source: 'import numpy as np', tags: ['imports'] },
    { source: PARAMS, tags: [paramsTag] },
    { source: TRAIN, tags: ['step:train'] },
    { source: 'acc\nn\ntotal\nscores\ngood\nloss', tags: [metricsTag] },
  ]);
  const out = path.join(work, 'pipeline');
  const r = nb2prod(['productionize', 'nb.ipynb', '--out', out, '--force'], work);
  assert.equal(r.status, 0, r.stderr);
  return out;
}

function runRecord(out: string, runId: string) {
  // JSON.parse is strict: NaN or Infinity anywhere would make the whole record unreadable.
  return JSON.parse(readFileSync(path.join(out, 'artifacts', runId, 'run.json'), 'utf8'));
}

describe('parameters and metrics in run.json and on the command line', () => {
  let out: string;
  before(() => {
    out = pipeline('parameters', 'metrics');
  });

  it('defaults keep their Python types: 1.0 stays a float, a tuple a tuple', () => {
    const r = python(['-m', 'nb', '--run-id', 'defaults'], out);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, "1.0 3 'base' True None [1, 2, 3] {'a': 1, 'b': [2.5, None]} (2, 4)\n");
    assert.deepEqual(runRecord(out, 'defaults').params, { lr: 1, epochs: 3, name: 'base', flag: true, seed: null, sizes: [1, 2, 3], opts: { a: 1, b: [2.5, null] }, shape: [2, 4] });
  });

  it('metrics are JSON values: numpy scalars as numbers, a dict of scores as an object, NaN as text', () => {
    const r = python(['-m', 'nb', '--run-id', 'metrics'], out);
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(runRecord(out, 'metrics').metrics, { acc: 0.875, n: 7, total: 9, scores: { f1: 0.5, auc: 0.75, k: 3 }, good: true, loss: 'nan' });
  });

  it('--param overrides of every type reach the step with the default type, and run.json', () => {
    const overrides = ['lr=2', 'epochs=5', 'name=abc', 'flag=false', 'seed=11', 'sizes=[1,2]', 'opts={"z": 0}', 'shape=[3,1]'];
    const r = python(['-m', 'nb', '--run-id', 'over', ...overrides.flatMap((o) => ['--param', o])], out);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, "2.0 5 'abc' False 11 [1, 2] {'z': 0} (3, 1)\n");
    const run = runRecord(out, 'over');
    assert.deepEqual(run.params, { lr: 2, epochs: 5, name: 'abc', flag: false, seed: 11, sizes: [1, 2], opts: { z: 0 }, shape: [3, 1] });
    assert.equal(run.metrics.total, 8);
  });

  it('--param takes JSON as launchers write it; a str parameter keeps the raw text', () => {
    const overrides = ['flag=true', 'seed=null', 'sizes=[2, true]', 'opts={"a": null, "b": [false, "x"]}', 'shape=[3, 1]', 'name="quoted"', 'epochs=4'];
    const r = python(['-m', 'nb', '--run-id', 'json', ...overrides.flatMap((o) => ['--param', o])], out);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, `1.0 4 '"quoted"' True None [2, True] {'a': None, 'b': [False, 'x']} (3, 1)\n`);
    assert.deepEqual(runRecord(out, 'json').params, { lr: 1, epochs: 4, name: '"quoted"', flag: true, seed: null, sizes: [2, true], opts: { a: null, b: [false, 'x'] }, shape: [3, 1] });
  });

  it('a non-finite float override is a float, and run.json stays valid JSON', () => {
    const r = python(['-m', 'nb', '--run-id', 'inf', '--param', 'lr=inf'], out);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /^inf 3 /);
    assert.equal(runRecord(out, 'inf').params.lr, 'inf');
  });

  for (const [override, message] of [
    ['nope=1', /unknown parameter 'nope'; known: epochs, flag, lr, name, opts, seed, shape, sizes/],
    ['epochs=many', /parameter 'epochs' expects a number, got 'many'/],
    ['flag=maybe', /parameter 'flag' expects true or false, got 'maybe'/],
    ['opts=3', /parameter 'opts' expects a Python dict literal, got '3'/],
    ['lr', /unknown parameter 'lr'/],
  ] as const) {
    it(`--param ${override} is a usage error`, () => {
      const r = python(['-m', 'nb', '--param', override], out);
      assert.equal(r.status, 2, r.stdout);
      assert.match(r.stderr, /^usage: /);
      assert.match(r.stderr, message);
      assert.equal(r.stdout, '');
    });
  }

  it("Kale's pipeline-parameters and pipeline-metrics tags work the same", () => {
    const kale = pipeline('pipeline-parameters', 'pipeline-metrics');
    const r = python(['-m', 'nb', '--run-id', 'kale', '--param', 'lr=0.5'], kale);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /^0\.5 3 'base'/);
    const run = runRecord(kale, 'kale');
    assert.equal(run.params.lr, 0.5);
    assert.deepEqual(run.metrics.scores, { f1: 0.5, auc: 0.75, k: 3 });
  });
});
