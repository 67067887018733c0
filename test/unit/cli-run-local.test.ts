/**
 * `nb2prod run --local` (no Docker) from any directory: the run is recorded under the same
 * notebook as the version that made the pipeline, and the lineage JSON shows it.
 */
import assert from 'node:assert/strict';
import { cpSync } from 'node:fs';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { cliInProcess, PYTHON } from '../helpers/cli';
import { REPO_ROOT, tempDir } from '../helpers/notebooks';

/** The CLI in this process, with the interpreter the tests use. */
const cli = (args: string[], cwd: string) => cliInProcess(args, cwd, { ...process.env, NB2PROD_PYTHON: PYTHON });

describe('nb2prod run --local', () => {
  it('records the run under the notebook of its version, whatever the current directory', async () => {
    const work = tempDir();
    cpSync(path.join(REPO_ROOT, 'examples'), work, { recursive: true });
    assert.equal((await cli(['productionize', 'sales_forecast.ipynb'], work)).code, 0);
    const pipeline = path.join(work, 'pipelines', 'sales_forecast');
    const run = await cli(['run', '.', '--local', '--run-id', 'local-1', '--workspace', work, '--param', 'region=south'], pipeline);
    assert.equal(run.code, 0, run.err);
    assert.match(run.out, /"forecast":/);
    assert.match(run.out, /run local-1 succeeded/);

    const lineage = JSON.parse((await cli(['lineage', '--json'], work)).out);
    assert.equal(lineage.notebooks.length, 1);
    const [version] = lineage.notebooks[0].versions;
    assert.equal(lineage.notebooks[0].path, 'sales_forecast.ipynb');
    assert.deepEqual(version.runs.map((r: { status: string }) => r.status), ['succeeded']);
    assert.equal(version.runs[0].params.region, 'south');
    assert.equal(version.runs[0].local, true);
  });

  it('exits 2 when the package rejects a --param of the wrong type (Python and Node packages alike)', async () => {
    const work = tempDir();
    cpSync(path.join(REPO_ROOT, 'examples'), work, { recursive: true });
    cpSync(path.join(REPO_ROOT, 'test', 'fixtures', 'notebooks', 'ts_pipeline.ipynb'), path.join(work, 'ts_pipeline.ipynb'));
    for (const [notebook, wrong] of [['sales_forecast', 'min_units=many'], ['ts_pipeline', 'scale=two']]) {
      assert.equal((await cli(['productionize', `${notebook}.ipynb`], work)).code, 0);
      const r = await cli(['run', path.join('pipelines', notebook), '--local', '--param', wrong], work);
      assert.equal(r.code, 2, `${notebook}: ${r.err}`);
      assert.match(r.err, /parameter '?(min_units|scale)'?:? expect/);
    }
  });

  it('exits 2 on a bad option and 1 with one clear line when the directory is not a pipeline', async () => {
    const work = tempDir();
    assert.equal((await cli(['run', '.', '--local', '--bogus'], work)).code, 2);
    const r = await cli(['run', '.', '--local'], work);
    assert.equal(r.code, 1);
    assert.match(r.err, /not a pipeline directory/);
    assert.doesNotMatch(r.err, /\n\s+at /);
  });
});
