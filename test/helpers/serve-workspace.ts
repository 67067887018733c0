/**
 * A workspace where the churn fixture (test/fixtures/serve/churn.ipynb) was productionized and
 * run, as a user would before `nb2prod serve`: the lineage, the object store, and what the
 * notebook's own calls of `predict` answered in-process (the run's `serve_calls` artifact).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { cliInProcess, SCIENTIFIC_PYTHON } from './cli';
import { FIXTURES, tempDir } from './notebooks';

export const CHURN_FIXTURE = path.join(FIXTURES, 'serve', 'churn.ipynb');
/** Has scikit-learn, pandas, FastAPI and uvicorn: the pipelines' and the server's stack. */
export const ML_BASE_IMAGE = 'nb2prod-base/python-ml:bookworm';

export interface RecordedCall {
  args: unknown[];
  kwargs: Record<string, unknown>;
  result: unknown;
  cell: number;
}

export interface TrainedWorkspace {
  dir: string;
  notebook: string;
  runId: string;
  /** The notebook's calls of predict, with what it answered in-process. */
  calls: RecordedCall[];
}

/**
 * Copies the notebook (or writes `cells` changed by `edit`) into a fresh workspace, productionizes
 * it on the ML base image and runs it with Debian's Python.
 */
export async function trainedWorkspace(name = 'churn', edit?: (cells: Record<string, unknown>[]) => void, runArgs: string[] = []): Promise<TrainedWorkspace> {
  const dir = tempDir('nb2prod-serve-ws-');
  const notebook = `${name}.ipynb`;
  if (edit) {
    const nb = JSON.parse(readFileSync(CHURN_FIXTURE, 'utf8')) as { cells: Record<string, unknown>[] };
    edit(nb.cells);
    writeFileSync(path.join(dir, notebook), JSON.stringify(nb, null, 1));
  } else copyFileSync(CHURN_FIXTURE, path.join(dir, notebook));
  const made = await cliInProcess(['productionize', notebook, '--base-image', ML_BASE_IMAGE], dir);
  assert.equal(made.code, 0, made.err);
  const ran = await cliInProcess(['run', path.join('pipelines', name), '--local', '--python', SCIENTIFIC_PYTHON, '--jobs', '1', ...runArgs], dir);
  assert.equal(ran.code, 0, ran.err);
  const runId = /^run (\S+) succeeded/m.exec(ran.out)?.[1];
  assert.ok(runId, ran.out);
  return { dir, notebook, runId, calls: recordedCalls(path.join(dir, 'pipelines', name, 'artifacts', runId, 'evaluate', 'serve_calls.pkl')) };
}

/** The `serve_calls` pickle as JSON (numbers stay numbers: Python floats print with 17 digits). */
export function recordedCalls(file: string): RecordedCall[] {
  const script = [
    'import json, pickle, sys',
    'calls = pickle.load(open(sys.argv[1], "rb"))',
    'print(json.dumps([{"args": list(c["args"]), "kwargs": c["kwargs"], "result": c["result"], "cell": c["cell"]} for c in calls], default=lambda v: v.item()))',
  ].join('\n');
  const r = spawnSync(SCIENTIFIC_PYTHON, ['-c', script, file], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout) as RecordedCall[];
}

/** A step after the calls sets `threshold` again: serving reads that value, the calls saw the fitted one. */
export function retuneThresholdAfterTheCalls(cells: Record<string, unknown>[]): void {
  const metrics = cells.findIndex((c) => ((c.metadata as { tags?: string[] })?.tags ?? []).includes('metrics'));
  cells.splice(metrics, 0, {
    cell_type: 'code',
    execution_count: null,
    id: 'retune',
    metadata: { tags: ['step:retune'] },
    outputs: [],
    source: ['threshold = 0.99\n', 'print("threshold", threshold)'],
  });
}

/** predict also reads a parameter, `cutoff_shift` (default 0.0), added to the fitted threshold. */
export function shiftThresholdByAParameter(cells: Record<string, unknown>[]): void {
  const tagged = (tag: string) => cells.find((c) => ((c.metadata as { tags?: string[] })?.tags ?? []).includes(tag))!;
  const source = (c: Record<string, unknown>) => (Array.isArray(c.source) ? c.source.join('') : String(c.source));
  const params = tagged('parameters');
  params.source = source(params) + '\ncutoff_shift = 0.0\n';
  const serve = tagged('serve');
  serve.source = source(serve).replace('probability >= threshold', 'probability >= threshold + cutoff_shift');
}

export interface Prediction {
  churn: number;
  probability: number;
}

/** Exact for the class, 1e-9 for the probability. */
export function assertSamePrediction(got: Prediction, expected: Prediction, what: string): void {
  assert.equal(got.churn, expected.churn, `${what}: churn`);
  assert.ok(Math.abs(got.probability - expected.probability) <= 1e-9, `${what}: probability ${got.probability} vs ${expected.probability}`);
}

export async function postJson(url: string, body: unknown): Promise<Response> {
  return fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
}

/** The held-out rows (the notebook's calls after its one example) through POST /predict and one V2 infer, checked against the notebook's answers. */
export async function checkPredictions(url: string, model: string, runId: string, calls: RecordedCall[]): Promise<number> {
  const holdout = calls.slice(1);
  assert.equal(holdout.length, 50, 'the fixture calls predict on 50 held-out rows');
  for (const [i, call] of holdout.entries()) {
    const response = await postJson(`${url}/predict`, call.args[0]);
    assert.equal(response.status, 200, await response.clone().text());
    assert.equal(response.headers.get('x-model-version'), runId);
    assertSamePrediction((await response.json()) as Prediction, call.result as Prediction, `row ${i}`);
  }
  const rows = holdout.map((c) => c.args[0] as Record<string, unknown>);
  const datatype: Record<string, string> = { tenure: 'INT64', monthly_charges: 'FP64', contract: 'BYTES' };
  const inputs = Object.keys(datatype).map((name) => ({ name, shape: [rows.length], datatype: datatype[name], data: rows.map((r) => r[name]) }));
  const v2 = await postJson(`${url}/v2/models/${model}/infer`, { inputs });
  assert.equal(v2.status, 200, await v2.clone().text());
  assert.equal(v2.headers.get('x-model-version'), runId);
  const { outputs, model_version } = (await v2.json()) as { outputs: { name: string; data: number[] }[]; model_version?: string };
  if (model_version !== undefined) assert.equal(model_version, runId);
  const out = (name: string) => outputs.find((o) => o.name === name)!.data;
  holdout.forEach((call, i) => assertSamePrediction({ churn: out('churn')[i], probability: out('probability')[i] }, call.result as Prediction, `V2 row ${i}`));
  return holdout.length;
}
