/**
 * The promise for TypeScript and JavaScript notebooks, checked on every notebook in
 * test/fixtures/differential-ts: the generated package prints exactly what the notebook prints
 * when its code cells run top to bottom, run whole and one step per process.
 */
import assert from 'node:assert/strict';
import { cpSync, readdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { nb2prod, productionizeTwice } from '../helpers/cli';
import { FIXTURES, tempDir } from '../helpers/notebooks';
import { node, runNotebookAsModule } from '../helpers/typescript';

const NOTEBOOKS = path.join(FIXTURES, 'differential-ts');

/** A stack trace's last lines say what went wrong. */
function tail(text: string): string {
  return text.trimEnd().split('\n').slice(-12).join('\n');
}

/** A fresh copy of the fixtures, so files one run writes never reach another's. */
function freshCopy(): string {
  const dir = tempDir();
  cpSync(NOTEBOOKS, dir, { recursive: true });
  return dir;
}

describe('differential (TypeScript/JavaScript): the generated package prints what the notebook prints', () => {
  const notebooks = readdirSync(NOTEBOOKS).filter((f) => f.endsWith('.ipynb')).sort();

  it('has notebooks to compare', () => assert.ok(notebooks.length >= 6, notebooks.join(', ')));

  for (const name of notebooks) {
    it(name, (t) => {
      const expectedDir = freshCopy();
      const expected = runNotebookAsModule(path.join(expectedDir, name), expectedDir);
      assert.equal(expected.status, 0, `the notebook itself fails:\n${tail(expected.stderr)}`);

      const work = freshCopy();
      const { out, pristine, manifest } = productionizeTwice(name, work);

      const whole = node(['main.mjs', '--run-id', 'differential'], out);
      assert.equal(whole.status, 0, tail(whole.stderr));
      assert.equal(whole.stdout, expected.stdout);
      // run.json is strict JSON (JSON.parse rejects NaN and Infinity) and records the parameters as they were.
      const record = JSON.parse(readFileSync(path.join(out, 'artifacts', 'differential', 'run.json'), 'utf8'));
      assert.deepEqual(record.params, manifest.params);

      // A value JSON cannot hold (a closure, a generator) flows in memory only: it cannot cross processes.
      if (whole.stderr.includes('cannot be saved')) return void t.diagnostic('not compared step by step: a value flows in memory only');
      // One step per process, each reading its inputs from the artifacts the earlier ones saved:
      // a value changed in place but not declared an output shows up here, not in memory.
      const stepwise = path.join(tempDir(), 'pipeline');
      cpSync(pristine, stepwise, { recursive: true });
      const artifacts = tempDir();
      const stepByStep = manifest.steps.map(({ name: step }: { name: string }) => {
        const one = node(['main.mjs', '--only', step, '--run-id', step, '--artifacts', artifacts], stepwise);
        assert.equal(one.status, 0, `--only ${step}:\n${tail(one.stderr)}`);
        return one.stdout;
      });
      assert.equal(stepByStep.join(''), expected.stdout);
    });
  }
});
