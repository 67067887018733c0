/**
 * The serve cell (issue 14): the plan finds the serving function, the step values it reads
 * (which become outputs of their steps), its input fields and form; the generated package has
 * `serving.py`; a run records the notebook's own calls of the function as the `serve_calls`
 * artifact, and replaying them through `serving.py` with the run's artifacts gives the same results.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import type { PipelineManifest } from '../../src/core/generate/manifest';
import type { Plan } from '../../src/core/plan/model';
import { notebookFromCells, planNotebook, productionize } from '../../src/core/pipeline';
import { parseCellTags } from '../../src/core/tags/grammar';
import { PYTHON, SCIENTIFIC_PYTHON } from '../helpers/cli';
import { FIXTURES, tempDir, writeNotebook } from '../helpers/notebooks';

type Cell = string | { source: string; tags?: string[] };

function plan(cells: Cell[], language = 'python'): Promise<Plan> {
  return planNotebook(
    notebookFromCells(
      'test.ipynb',
      language,
      cells.map((c, i) => (typeof c === 'string' ? { kind: 'code' as const, source: c, tags: [], id: `c${i}` } : { kind: 'code' as const, source: c.source, tags: c.tags ?? [], id: `c${i}` })),
    ),
  );
}

const errors = (p: Plan) => p.diagnostics.filter((d) => d.severity === 'error').map((d) => ({ cell: d.cell, line: d.line, message: d.message }));
const step = (p: Plan, name: string) => p.steps.find((s) => s.name === name)!;

function hasSklearn(): boolean {
  return spawnSync(SCIENTIFIC_PYTHON, ['-c', 'import pandas, sklearn'], { encoding: 'utf8' }).status === 0;
}

const CHURN = path.join(FIXTURES, 'serve', 'churn.ipynb');

describe('serve cell: the tag', () => {
  it('serve and serve:NAME make a serve cell, not a step; a bare serve: is an unknown tag', () => {
    assert.deepEqual([parseCellTags(['serve']).role, parseCellTags(['serve']).serveName], ['serve', undefined]);
    assert.deepEqual([parseCellTags(['serve:score']).role, parseCellTags(['serve:score']).serveName], ['serve', 'score']);
    assert.equal(parseCellTags(['serve', 'step:train']).role, 'serve');
    assert.deepEqual([parseCellTags(['serve:']).role, parseCellTags(['serve:']).unknown], ['step', ['serve:']]);
  });
});

describe('serve cell: the plan', () => {
  it('finds predict in the fixture, the step values it reads through featurize, fields from the example calls, and the step that calls it', async () => {
    const dir = tempDir();
    copyFileSync(CHURN, path.join(dir, 'churn.ipynb'));
    const result = await productionize('churn.ipynb', { cwd: dir });
    const serve = result.plan.serve!;
    assert.equal(serve.function, 'predict');
    assert.deepEqual(serve.cell, { index: 7, id: 'serve' });
    assert.equal(serve.form, 'record');
    assert.equal(serve.fieldsFrom, 'calls');
    assert.deepEqual(serve.fields, [
      { name: 'tenure', type: 'integer' },
      { name: 'monthly_charges', type: 'number' },
      { name: 'contract', type: 'string' },
    ]);
    assert.deepEqual(serve.needs, [
      { name: 'scaler', step: 'prepare' },
      { name: 'model', step: 'train' },
      { name: 'threshold', step: 'train' },
    ]);
    assert.deepEqual(serve.calls, { step: 'evaluate', artifact: 'serve_calls' });
    assert.deepEqual(step(result.plan, 'evaluate').serveCalls, { function: 'predict', cell: 8 });
    assert.ok(step(result.plan, 'evaluate').outputs.includes('serve_calls'));
    assert.ok(!result.plan.steps.some((s) => s.cells.some((c) => c.index === 7)), 'the serve cell is no step');

    const manifest = JSON.parse(readFileSync(path.join(result.outDir, 'pipeline.json'), 'utf8')) as PipelineManifest;
    assert.deepEqual(manifest.serve, {
      function: 'predict',
      module: 'churn.serving',
      cell: { index: 7, id: 'serve' },
      form: 'record',
      fields: serve.fields,
      fieldsFrom: 'calls',
      needs: serve.needs,
      params: [],
      calls: { step: 'evaluate', artifact: 'serve_calls' },
    });
    assert.ok(manifest.files['churn/serving.py']);
    const serving = readFileSync(path.join(result.outDir, 'churn', 'serving.py'), 'utf8');
    assert.match(serving, /^from \.shared import featurize$/m, 'notebook functions come from the shared module, never copied');
    assert.match(serving, /^def predict\(features: dict\) -> dict:$/m);
    assert.match(serving, /^def bind\(values\):$/m);
    assert.doesNotMatch(readFileSync(path.join(result.outDir, 'requirements.txt'), 'utf8'), /fastapi|uvicorn/);
  });

  it('reads a value no later step consumes: its step outputs it all the same; a function reading step values is in serving.py', async () => {
    const p = await plan([
      { source: 'import math', tags: ['imports'] },
      { source: 'scale = 2.0', tags: ['parameters'] },
      { source: 'def featurize(x):\n    return [x * weights[0], math.sqrt(abs(x))]', tags: ['functions'] },
      { source: 'weights = [3.0]\noffset = 1', tags: ['step:fit'] },
      { source: 'def score(x: float, flag: bool = False) -> float:\n    return sum(featurize(x)) * scale + offset', tags: ['serve'] },
      { source: 'print("done")', tags: ['step:report'] },
    ]);
    assert.deepEqual(errors(p), []);
    const serve = p.serve!;
    assert.equal(serve.function, 'score', 'the only function of the cell');
    assert.deepEqual(serve.needs, [
      { name: 'weights', step: 'fit' },
      { name: 'offset', step: 'fit' },
    ]);
    assert.deepEqual(serve.params, ['scale']);
    assert.deepEqual(serve.calls, null);
    assert.deepEqual(step(p, 'fit').outputs.sort(), ['offset', 'weights']);
    assert.deepEqual(serve.definitions.map((d) => d.name), ['featurize', 'score'], 'featurize reads a step value: the shared module cannot hold it for serving');
    assert.deepEqual(serve.imports.map((i) => i.code), ['import math']);
    assert.equal(serve.fieldsFrom, 'hints');
    assert.deepEqual(serve.fields, [
      { name: 'x', type: 'number' },
      { name: 'flag', type: 'boolean' },
    ]);
  });

  it('fields and form from annotations: a TypedDict, a dataclass, a list of records, a parameter named rows', async () => {
    const typed = await plan([
      { source: 'from typing import List, TypedDict\n\nclass Customer(TypedDict):\n    age: int\n    plan: str\n    spend: "float"', tags: ['functions'] },
      { source: 'w = 1', tags: ['step:a'] },
      { source: 'def predict(customer: Customer) -> dict:\n    return {"y": customer["age"] * w}', tags: ['serve'] },
    ]);
    assert.deepEqual(errors(typed), []);
    assert.deepEqual(
      [typed.serve!.form, typed.serve!.fieldsFrom, typed.serve!.fields],
      ['record', 'hints', [{ name: 'age', type: 'integer' }, { name: 'plan', type: 'string' }, { name: 'spend', type: 'number' }]],
    );
    const rows = await plan([
      { source: 'from dataclasses import dataclass\nfrom typing import List\n\n@dataclass\nclass Row:\n    x: float\n    tags: list = None', tags: ['functions'] },
      { source: 'w = 1', tags: ['step:a'] },
      { source: 'def predict(batch: List[Row]):\n    return [r.x * w for r in batch]', tags: ['serve'] },
    ]);
    assert.deepEqual([rows.serve!.form, rows.serve!.fields], ['rows', [{ name: 'x', type: 'number' }, { name: 'tags', type: 'array' }]]);
    const byName = await plan([
      { source: 'w = 1', tags: ['step:a'] },
      { source: 'def predict(rows):\n    return [r["x"] * w for r in rows]', tags: ['serve'] },
      { source: 'out = predict([{"x": 1, "name": "a"}, {"x": 2.5}])', tags: ['step:b'] },
    ]);
    assert.deepEqual([byName.serve!.form, byName.serve!.fieldsFrom, byName.serve!.fields], ['rows', 'calls', [{ name: 'x', type: 'number' }, { name: 'name', type: 'string' }]]);
    const untyped = await plan([
      { source: 'w = 1', tags: ['step:a'] },
      { source: 'def predict(features):\n    return features["x"] * w', tags: ['serve'] },
    ]);
    assert.deepEqual([untyped.serve!.form, untyped.serve!.fieldsFrom, untyped.serve!.fields], ['record', 'none', []]);
  });

  it('serve:NAME picks one of several functions; a step calling a helper that calls it records the calls', async () => {
    const p = await plan([
      { source: 'w = 2', tags: ['step:a'] },
      { source: 'def helper(x):\n    return x + 1\n\ndef answer(x: int):\n    return helper(x) * w', tags: ['serve:answer'] },
      { source: 'def many(xs):\n    return [answer(x) for x in xs]', tags: ['functions'] },
      { source: 'print(many([1, 2]))', tags: ['step:b'] },
    ]);
    assert.deepEqual(errors(p), []);
    assert.equal(p.serve!.function, 'answer');
    assert.deepEqual(p.serve!.sharedUses, ['helper']);
    assert.deepEqual(p.serve!.calls, { step: 'b', artifact: 'serve_calls' });
  });
});

describe('serve cell: located errors', () => {
  it('no function, several candidates, an unknown serve:NAME', async () => {
    const none = await plan([{ source: 'x = 1', tags: ['step:a'] }, { source: 'y = 2', tags: ['serve'] }]);
    assert.deepEqual(errors(none), [{ cell: 1, line: 1, message: 'the serve cell defines no function: define the serving function there (def predict(features): ...)' }]);
    assert.equal(none.serve, undefined);
    const several = await plan([{ source: 'x = 1', tags: ['step:a'] }, { source: '\ndef f(a):\n    return a\n\ndef g(a):\n    return a', tags: ['serve'] }]);
    assert.deepEqual(errors(several), [
      { cell: 1, line: 2, message: "the serve cell defines several functions ('f' (line 2), 'g' (line 5)) and none is called 'predict': name the serving one with a serve:NAME tag" },
    ]);
    const unknown = await plan([{ source: 'x = 1', tags: ['step:a'] }, { source: 'def f(a):\n    return a', tags: ['serve:g'] }]);
    assert.deepEqual(errors(unknown), [{ cell: 1, line: 1, message: "serve:g: the serve cell defines no function 'g'; it defines 'f' (line 1)" }]);
  });

  it('a name no step produces, read directly or through a notebook function', async () => {
    const direct = await plan([{ source: 'x = 1', tags: ['step:a'] }, { source: 'def predict(f):\n    y = f["a"]\n    return y * missing_model', tags: ['serve'] }]);
    assert.deepEqual(errors(direct), [
      { cell: 1, line: 3, message: "name 'missing_model' is read by the serving function 'predict' but no step, import, parameter or shared cell defines it" },
    ]);
    const through = await plan([
      { source: 'def prep(f):\n    return f * factor', tags: ['functions'] },
      { source: 'x = 1', tags: ['step:a'] },
      { source: 'def predict(f):\n    return prep(f) + x', tags: ['serve'] },
    ]);
    assert.deepEqual(errors(through).map((e) => [e.cell, e.line, e.message]), [
      [0, 2, "name 'factor' is read by function 'prep', which the serving function 'predict' calls, but no step, import, parameter or shared cell defines it"],
    ]);
  });

  it('two serve cells; a serve tag in a TypeScript notebook', async () => {
    const two = await plan([
      { source: 'x = 1', tags: ['step:a'] },
      { source: 'def predict(f):\n    return x', tags: ['serve'] },
      { source: 'def predict2(f):\n    return x', tags: ['serve'] },
    ]);
    assert.deepEqual(errors(two), [{ cell: 2, line: 1, message: 'a notebook has at most one serve cell: cell 1 is the serve cell already (remove the serve tag from one of them)' }]);
    assert.equal(two.serve!.function, 'predict');
    const ts = await plan([{ source: 'const x = 1;', tags: ['step:a'] }, { source: 'function predict(f: number) { return f * x; }', tags: ['serve'] }], 'typescript');
    assert.deepEqual(errors(ts), [{ cell: 1, line: 1, message: 'the serve tag is for Python notebooks only; this notebook is typescript' }]);
    assert.equal(ts.serve, undefined);
  });

  it('productionize refuses with the file, cell and line', async () => {
    const dir = tempDir();
    writeNotebook(dir, 'bad.ipynb', [{ source: 'x = 1', tags: ['step:a'] }, { source: 'def predict(f):\n    return f * nowhere', tags: ['serve'], id: 'srv' }]);
    await assert.rejects(productionize('bad.ipynb', { cwd: dir }), (error: Error & { describe?: () => string }) => {
      const text = error.describe ? error.describe() : error.message;
      assert.match(text, /bad\.ipynb, cell 1 \(id srv\), line 2(:\d+)?: name 'nowhere' is read by the serving function 'predict'/);
      return true;
    });
  });
});

/** Replays the recorded calls through serving.py with the artifacts the run saved: the skew guard's core. */
const REPLAY = `
import json, math, os, sys
sys.path.insert(0, os.getcwd())
pkg, run_dir = sys.argv[1], sys.argv[2]
runtime = __import__(pkg + "._runtime", fromlist=["_load"])
serving = __import__(pkg + ".serving", fromlist=["bind"])
manifest = json.load(open("pipeline.json"))["serve"]
run = json.load(open(os.path.join(run_dir, "run.json")))
saved = {(a["step"], a["name"]): os.path.join(run_dir, a["path"]) for a in run["artifacts"]}
serving.bind({n["name"]: runtime._load(saved[(n["step"], n["name"])]) for n in manifest["needs"]})
calls = runtime._load(saved[(manifest["calls"]["step"], manifest["calls"]["artifact"])])
function = getattr(serving, manifest["function"])
def equal(a, b):
    if isinstance(a, float) or isinstance(b, float):
        return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9)
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(equal(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(equal(x, y) for x, y in zip(a, b))
    return a == b and type(a) == type(b)
different = [i for i, call in enumerate(calls) if not equal(function(*call["args"], **call["kwargs"]), call["result"])]
print(json.dumps({"calls": len(calls), "different": different, "cells": sorted({c["cell"] for c in calls}), "first": calls[0]["args"][0]}))
`;

describe('serve cell: the generated package', () => {
  it('a serving function reading no step value (the shared module holds it): the calls a step makes are recorded, keywords and all', async () => {
    const dir = tempDir();
    writeNotebook(dir, 'pure.ipynb', [
      { source: 'def predict(x: int, *, scale: float = 1.0) -> dict:\n    return {"y": x * scale, "label": "big" if x > 1 else "small"}', tags: ['serve'] },
      { source: 'ys = [predict(i, scale=0.5) for i in range(3)]\nprint(ys)', tags: ['step:use'] },
    ]);
    const { outDir, plan: p } = await productionize('pure.ipynb', { cwd: dir });
    assert.deepEqual(p.serve!.calls, { step: 'use', artifact: 'serve_calls' });
    assert.match(readFileSync(path.join(outDir, 'pure', 'steps', 'use.py'), 'utf8'), /^from \.\.shared import predict as /m);
    const run = spawnSync(PYTHON, ['-m', 'pure', '--run-id', 'r'], { cwd: outDir, encoding: 'utf8' });
    assert.equal(run.status, 0, run.stderr);
    assert.equal(run.stdout, "[{'y': 0.0, 'label': 'small'}, {'y': 0.5, 'label': 'small'}, {'y': 1.0, 'label': 'big'}]\n");
    const replay = spawnSync(
      PYTHON,
      ['-c', 'import pickle\nfrom pure import serving\nserving.bind({})\ncalls = pickle.load(open("artifacts/r/use/serve_calls.pkl", "rb"))\nprint([(c["args"], c["kwargs"], c["cell"], serving.predict(*c["args"], **c["kwargs"]) == c["result"]) for c in calls])'],
      { cwd: outDir, encoding: 'utf8' },
    );
    assert.equal(replay.status, 0, replay.stderr);
    assert.equal(replay.stdout, "[((0,), {'scale': 0.5}, 1, True), ((1,), {'scale': 0.5}, 1, True), ((2,), {'scale': 0.5}, 1, True)]\n");
  });

  it('a whole run and an --only run save serve_calls; replaying them through serving.py with the saved artifacts gives the recorded results', async (t) => {
    if (!hasSklearn()) {
      if (process.env.CI === 'true') assert.fail(`${SCIENTIFIC_PYTHON} lacks pandas/scikit-learn`);
      t.skip(`${SCIENTIFIC_PYTHON} has no pandas/scikit-learn`);
      return;
    }
    const dir = tempDir();
    copyFileSync(CHURN, path.join(dir, 'churn.ipynb'));
    const { outDir } = await productionize('churn.ipynb', { cwd: dir });
    const run = spawnSync(SCIENTIFIC_PYTHON, ['-m', 'churn', '--run-id', 'whole'], { cwd: outDir, encoding: 'utf8' });
    assert.equal(run.status, 0, run.stderr);
    assert.match(run.stdout, /holdout accuracy: 0\.\d+/);
    const record = JSON.parse(readFileSync(path.join(outDir, 'artifacts', 'whole', 'run.json'), 'utf8'));
    const calls = record.artifacts.find((a: { name: string }) => a.name === 'serve_calls');
    assert.deepEqual([calls.step, calls.path], ['evaluate', 'evaluate/serve_calls.pkl']);
    assert.match(calls.sha256, /^[0-9a-f]{64}$/);

    writeFileSync(path.join(outDir, 'replay.py'), REPLAY);
    const replay = spawnSync(SCIENTIFIC_PYTHON, ['replay.py', 'churn', path.join('artifacts', 'whole')], { cwd: outDir, encoding: 'utf8' });
    assert.equal(replay.status, 0, replay.stderr);
    assert.deepEqual(JSON.parse(replay.stdout), {
      calls: 51,
      different: [],
      cells: [8],
      first: { tenure: 12, monthly_charges: 70.5, contract: 'month-to-month' },
    });

    // A step run on its own (as a launcher runs it) loads its inputs and records its calls the same way.
    const only = spawnSync(SCIENTIFIC_PYTHON, ['-m', 'churn', '--only', 'evaluate', '--run-id', 'whole'], { cwd: outDir, encoding: 'utf8' });
    assert.equal(only.status, 0, only.stderr);
    const again = JSON.parse(readFileSync(path.join(outDir, 'artifacts', 'whole', 'run.json'), 'utf8'));
    assert.equal(again.artifacts.find((a: { name: string }) => a.name === 'serve_calls').sha256, calls.sha256, 'the same calls, byte for byte');

    // Importing serving.py loads nothing: an unbound function says what bind() needs.
    const unbound = spawnSync(SCIENTIFIC_PYTHON, ['-c', 'from churn import serving\ntry:\n    serving.bind({})\nexcept KeyError as e:\n    print(e)'], { cwd: outDir, encoding: 'utf8' });
    assert.equal(unbound.status, 0, unbound.stderr);
    assert.match(unbound.stdout, /also reads 'scaler' \(step prepare\), 'model' \(step train\), 'threshold' \(step train\)/);
  });
});
