/**
 * Every notebook of the corpus (real notebooks written by others) either plans or fails with
 * a located error; every plannable one productionizes into Python that compiles.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { Nb2prodError } from '../../src/core/errors';
import { planNotebook, productionize, readNotebookFile } from '../../src/core/pipeline';
import { PYTHON } from '../helpers/cli';
import { FIXTURES, tempDir } from '../helpers/notebooks';

const CORPUS = path.join(FIXTURES, 'corpus');
const notebooks = readdirSync(CORPUS, { recursive: true })
  .map(String)
  .filter((f) => f.endsWith('.ipynb'))
  .sort();

/** Notebooks whose failure is the right answer, and why. */
const EXPECTED_FAILURES: Record<string, RegExp> = {
  'nbformat/test2.ipynb': /nbformat 2 is too old/,
  'nbformat/test4plus.ipynb': /4\.99 is newer/,
  'nbformat/invalid.ipynb': /unknown cell_type "heading"/,
  'nbformat/no_min_version.ipynb': /kernel "plaintext".*not supported yet/,
  'nbformat/notebook_jl.ipynb': /not supported yet/,
  'wild/irkernel_Demo.ipynb': /kernel "R".*not supported yet/,
  'wild/julia_dataframes_Tutorial.ipynb': /not supported yet/,
};

describe('the corpus', () => {
  it('has the notebooks', () => assert.ok(notebooks.length >= 40, `${notebooks.length} notebooks`));

  for (const rel of notebooks) {
    it(`${rel}: plans, or fails with a located error`, async () => {
      const file = path.join(CORPUS, rel);
      let nb;
      try {
        nb = await readNotebookFile(file);
      } catch (e) {
        assert.ok(e instanceof Nb2prodError, `crash: ${e}`);
        assert.equal(e.location?.file, file);
        assert.ok(EXPECTED_FAILURES[rel], `unexpected refusal: ${e.describe()}`);
        assert.match(e.message, EXPECTED_FAILURES[rel]);
        return;
      }
      assert.ok(!EXPECTED_FAILURES[rel], `${rel} should have been refused`);
      const plan = await planNotebook(nb);
      for (const d of plan.diagnostics.filter((d) => d.severity === 'error')) {
        assert.equal(typeof d.cell, 'number', `error without a cell: ${d.message}`);
        assert.ok(d.message.length > 10);
      }
      if (plan.diagnostics.some((d) => d.severity === 'error')) return;
      const work = tempDir();
      const result = await productionize(file, { cwd: work, out: path.join(work, 'out'), notebook: nb });
      const compiled = spawnSync(PYTHON, ['-m', 'compileall', '-q', result.outDir], { encoding: 'utf8' });
      assert.equal(compiled.status, 0, `generated code does not compile:\n${compiled.stdout}${compiled.stderr}`);
    });
  }
});
