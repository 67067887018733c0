/**
 * A scikit-learn notebook (Debian's python3 with pandas and scikit-learn): values that are
 * mutated by a method call (`model.fit`) flow to later steps, numpy and pandas values are
 * saved in their own formats, and the result equals the notebook run top to bottom.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { productionize } from '../../src/core/pipeline';
import { RUN_NOTEBOOK_AS_SCRIPT, SCIENTIFIC_PYTHON as ML_PYTHON } from '../helpers/cli';
import { FIXTURES, tempDir } from '../helpers/notebooks';

function hasSklearn(): boolean {
  return spawnSync(ML_PYTHON, ['-c', 'import pandas, sklearn'], { encoding: 'utf8' }).status === 0;
}

describe('a scikit-learn notebook becomes a pipeline', () => {
  it('reproduces the notebook with the fitted model flowing from train to evaluate', async (t) => {
    if (!hasSklearn()) {
      if (process.env.CI === 'true') assert.fail(`${ML_PYTHON} lacks pandas/scikit-learn: .ci/run installs python3-pandas python3-sklearn`);
      t.skip(`${ML_PYTHON} has no pandas/scikit-learn`);
      return;
    }
    const dir = tempDir();
    copyFileSync(path.join(FIXTURES, 'notebooks', 'ml_iris.ipynb'), path.join(dir, 'ml_iris.ipynb'));
    const result = await productionize('ml_iris.ipynb', { cwd: dir });
    const train = result.plan.steps.find((s) => s.name === 'train')!;
    assert.ok(train.outputs.includes('model'), 'fit() mutates the model, so train outputs it');
    assert.deepEqual(result.plan.steps.find((s) => s.name === 'evaluate')!.inputs.find((i) => i.name === 'model'), { name: 'model', from: 'train' });

    const expected = spawnSync(ML_PYTHON, [...RUN_NOTEBOOK_AS_SCRIPT, 'ml_iris.ipynb'], { cwd: dir, encoding: 'utf8' });
    assert.equal(expected.status, 0, expected.stderr);
    const actual = spawnSync(ML_PYTHON, ['-m', 'ml_iris', '--run-id', 'r'], { cwd: result.outDir, encoding: 'utf8' });
    assert.equal(actual.status, 0, actual.stderr);
    assert.equal(actual.stdout, expected.stdout);

    const run = JSON.parse(readFileSync(path.join(result.outDir, 'artifacts', 'r', 'run.json'), 'utf8'));
    const paths = run.artifacts.map((a: { path: string }) => a.path);
    assert.ok(paths.includes('load/df.pandas.pkl'), paths.join(', '));
    assert.ok(paths.includes('prepare/X_train.npy'), paths.join(', '));
    assert.ok(run.metrics.accuracy > 0.8);

    const again = spawnSync(ML_PYTHON, ['-m', 'ml_iris', '--from', 'evaluate', '--run-id', 'from-evaluate'], { cwd: result.outDir, encoding: 'utf8' });
    assert.equal(again.status, 0, again.stderr);
    assert.equal(again.stdout, expected.stdout.split('\n').filter((l) => l.startsWith('accuracy')).join('\n') + '\n');
  });
});
