/**
 * The server every serving package carries (`<pkg>/_serve.py`), run on a hand-made bundle with
 * Debian's Python (scikit-learn, FastAPI, uvicorn), spoken to over real HTTP on 127.0.0.1.
 */
import assert from 'assert/strict';
import { spawnSync } from 'child_process';
import { cpSync, readFileSync, rmSync, writeFileSync } from 'fs';
import { after, before, describe, it } from 'node:test';
import * as path from 'path';
import { servingRuntimeFiles } from '../../src/core/generate/python/serve-runtime';
import { SCIENTIFIC_PYTHON } from '../helpers/cli';
import { REPO_ROOT, tempDir } from '../helpers/notebooks';
import { FEATURES, load, makeServeBundle, RunningServer, runServe, SERVE_MODEL, SERVE_RUN_ID, ServeBundle, startServer } from '../helpers/serve-bundle';

const STACK = spawnSync(SCIENTIFIC_PYTHON, ['-c', 'import sklearn, fastapi, uvicorn'], { encoding: 'utf8' });
const skip = STACK.status === 0 ? false : `${SCIENTIFIC_PYTHON} lacks scikit-learn, FastAPI or uvicorn`;

function post(url: string, body: unknown, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(url, { method: 'POST', body: typeof body === 'string' ? body : JSON.stringify(body), headers: { 'content-type': 'application/json', ...headers } });
}

/** Within 1e-9 (the skew guard's tolerance), position by position. */
function assertClose(got: number[], expected: number[], what: string): void {
  assert.equal(got.length, expected.length, what);
  got.forEach((g, i) => assert.ok(Math.abs(g - expected[i]) <= 1e-9, `${what}[${i}]: ${g} != ${expected[i]}`));
}

/** What the server logs about `request` (it logs once the response is sent): up to the line wanted. */
async function logged(server: RunningServer, request: () => Promise<unknown>, line: RegExp): Promise<string> {
  const from = server.log().length;
  await request();
  for (let i = 0; i < 100 && !line.test(server.log().slice(from)); i++) await new Promise((resolve) => setTimeout(resolve, 20));
  assert.match(server.log().slice(from), line);
  return server.log().slice(from);
}

/** A copy of the bundle with serve.json changed. */
function variant(bundle: string, change: (spec: Record<string, unknown>) => void): string {
  const dir = path.join(tempDir('nb2prod-serve-'), 'bundle');
  cpSync(bundle, dir, { recursive: true });
  const spec = JSON.parse(readFileSync(path.join(dir, 'serve.json'), 'utf8')) as Record<string, unknown>;
  change(spec);
  writeFileSync(path.join(dir, 'serve.json'), JSON.stringify(spec));
  return dir;
}

describe('serve server (_serve.py)', { skip }, () => {
  let bundle: ServeBundle;
  let server: RunningServer;
  const good = () => bundle.rows[0];
  const goodAnswer = async (): Promise<void> => {
    const response = await post(`${server.url}/predict`, good());
    assert.equal(response.status, 200, 'the server still answers a good request');
    assert.equal(((await response.json()) as { label: number }).label, bundle.results[0].label);
  };

  before(async () => {
    bundle = makeServeBundle(path.join(tempDir('nb2prod-serve-'), 'bundle'));
    server = await startServer(bundle.dir);
  });
  after(async () => {
    await server?.stop();
  });

  it('is the source file _serve.py, verbatim, shipped as <pkg>/_serve.py', () => {
    const source = readFileSync(path.join(REPO_ROOT, 'src', 'core', 'generate', 'python', '_serve.py'), 'utf8');
    assert.deepEqual(servingRuntimeFiles('iris_pipeline'), [{ path: 'iris_pipeline/_serve.py', content: source }]);
  });

  it('answers POST /predict with what predict computes in-process, for 50 held-out rows', async () => {
    for (const [i, row] of bundle.rows.entries()) {
      const response = await post(`${server.url}/predict`, row);
      assert.equal(response.status, 200);
      assert.equal(response.headers.get('x-model-version'), SERVE_RUN_ID);
      const got = (await response.json()) as { label: number; proba: number[]; species: string; setosa: boolean };
      const expected = bundle.results[i];
      assert.equal(got.label, expected.label, `row ${i}: label`);
      assert.equal(got.species, expected.species);
      assert.equal(got.setosa, expected.setosa);
      assertClose(got.proba, expected.proba, `row ${i}: proba`);
    }
  });

  it('answers the Open Inference Protocol: one input tensor per field, one output per key', async () => {
    const inputs = FEATURES.map((name) => ({ name, shape: [bundle.rows.length], datatype: 'FP64', data: bundle.rows.map((r) => r[name]) }));
    const response = await post(`${server.url}/v2/models/${SERVE_MODEL}/infer`, { id: 'req-1', inputs });
    assert.equal(response.status, 200);
    assert.equal(response.headers.get('x-model-version'), SERVE_RUN_ID);
    const body = (await response.json()) as { model_name: string; model_version: string; id: string; outputs: { name: string; datatype: string; shape: number[]; data: unknown[] }[] };
    assert.equal(body.model_name, SERVE_MODEL);
    assert.equal(body.model_version, SERVE_RUN_ID);
    assert.equal(body.id, 'req-1');
    const out = Object.fromEntries(body.outputs.map((o) => [o.name, o]));
    assert.deepEqual(Object.keys(out), ['label', 'proba', 'species', 'setosa']);
    assert.deepEqual([out.label.datatype, out.proba.datatype, out.species.datatype, out.setosa.datatype], ['INT64', 'FP64', 'BYTES', 'BOOL']);
    assert.deepEqual(out.label.data, bundle.results.map((r) => r.label));
    assert.deepEqual(out.proba.shape, [50, 3]);
    assertClose(out.proba.data as number[], bundle.results.flatMap((r) => r.proba), 'proba');
    assert.deepEqual(out.species.data, bundle.results.map((r) => r.species));

    const versioned = await post(`${server.url}/v2/models/${SERVE_MODEL}/versions/${SERVE_RUN_ID}/infer`, { inputs: inputs.map((i) => ({ ...i, shape: [1], data: i.data.slice(0, 1) })), outputs: [{ name: 'label' }] });
    assert.deepEqual(((await versioned.json()) as { outputs: { name: string; data: unknown[] }[] }).outputs.map((o) => [o.name, o.data]), [['label', [bundle.results[0].label]]]);
  });

  it('serves health, server and model metadata; an unknown model or version is a 404', async () => {
    const get = async (route: string) => {
      const response = await fetch(server.url + route);
      assert.equal(response.headers.get('x-model-version'), SERVE_RUN_ID, route);
      return { status: response.status, body: (await response.json()) as Record<string, unknown> };
    };
    assert.deepEqual(await get('/v2/health/live'), { status: 200, body: { live: true } });
    assert.deepEqual(await get('/v2/health/ready'), { status: 200, body: { ready: true } });
    assert.equal((await get(`/v2/models/${SERVE_MODEL}/ready`)).body.ready, true);
    assert.equal((await get('/v2')).status, 200);
    const metadata = await get(`/v2/models/${SERVE_MODEL}`);
    assert.equal(metadata.body.name, SERVE_MODEL);
    assert.deepEqual(metadata.body.versions, [SERVE_RUN_ID]);
    assert.deepEqual(metadata.body.inputs, FEATURES.map((name) => ({ name, datatype: 'FP64', shape: [-1] })));
    assert.deepEqual((metadata.body.outputs as { name: string }[]).map((o) => o.name), ['label', 'proba', 'species', 'setosa']);
    const unknown = await get('/v2/models/other');
    assert.equal(unknown.status, 404);
    assert.match(String(unknown.body.error), /unknown model 'other'/);
    const inputs = FEATURES.map((name) => ({ name, shape: [1], datatype: 'FP64', data: [1] }));
    const wrongVersion = await post(`${server.url}/v2/models/${SERVE_MODEL}/versions/old/infer`, { inputs });
    assert.equal(wrongVersion.status, 404);
    assert.equal((await fetch(`${server.url}/docs`)).status, 200);
    const openapi = (await (await fetch(`${server.url}/openapi.json`)).json()) as { paths: Record<string, unknown> };
    assert.ok(openapi.paths['/predict'] && openapi.paths['/v2/models/{name}/infer']);
  });

  it('answers bad requests with a 4xx naming the problem, and keeps serving', async () => {
    const row = good();
    const cases: [string, () => Promise<Response>, number, RegExp][] = [
      ['missing field', () => post(`${server.url}/predict`, { ...row, petal_width: undefined }), 422, /field 'petal_width' is missing/],
      ['wrong type', () => post(`${server.url}/predict`, { ...row, sepal_length: 'long' }), 422, /field 'sepal_length' must be a number, got a string/],
      ['not an object', () => post(`${server.url}/predict`, [row]), 422, /expected a JSON object/],
      ['invalid JSON', () => post(`${server.url}/predict`, '{"sepal_length": 5.1,'), 400, /not valid JSON/],
      ['NaN (not JSON)', () => post(`${server.url}/predict`, JSON.stringify(row).replace(/"sepal_length":[\d.]+/, '"sepal_length":NaN')), 400, /not valid JSON: NaN is not a JSON value/],
      ['10 MB body', () => post(`${server.url}/predict`, 'x'.repeat(10 * 1024 * 1024)), 413, /limit is 1048576/],
      ['10 MB body, streamed', () => fetch(`${server.url}/predict`, { method: 'POST', body: streamed(10), duplex: 'half' } as RequestInit), 413, /over the limit of 1048576 bytes/],
      ['the function raises', () => post(`${server.url}/predict`, { ...row, petal_width: -1 }), 422, /^predict raised ValueError: petal_width must not be negative, got -1$/],
      ['V2: missing input', () => post(`${server.url}/v2/models/${SERVE_MODEL}/infer`, { inputs: [{ name: 'sepal_length', shape: [1], datatype: 'FP64', data: [1] }] }), 422, /input 'sepal_width' is missing/],
      ['V2: mistyped input', () => post(`${server.url}/v2/models/${SERVE_MODEL}/infer`, { inputs: FEATURES.map((name) => ({ name, shape: [1], datatype: 'FP64', data: [name === 'petal_length' ? true : 1] })) }), 422, /input 'petal_length', element 0 must be a number, got a boolean/],
    ];
    for (const [what, request, status, message] of cases) {
      const response = await request();
      assert.equal(response.status, status, what);
      assert.equal(response.headers.get('x-model-version'), SERVE_RUN_ID, what);
      const body = (await response.json()) as { error: string };
      assert.match(body.error, message, what);
      assert.doesNotMatch(body.error, /Traceback|File "/, what);
      await goodAnswer();
    }
  });

  it('logs one line per request, without payloads (a raised error: its type and place only)', async () => {
    // Lines of earlier requests may still come in: each request's own line is looked for.
    await logged(server, () => post(`${server.url}/predict`, { ...good(), sepal_length: 4.321 }), /^POST \/predict 200 \d+\.\d ms$/m);
    await logged(server, () => post(`${server.url}/predict`, { ...good(), petal_width: -1.234 }), /^predict raised ValueError at serving\.py:17\nPOST \/predict 422 \d+\.\d ms$/m);
    assert.doesNotMatch(server.log(), /4\.321|1\.234|proba/);
  });

  it('--log-payloads logs request and response bodies', async () => {
    const logging = await startServer(bundle.dir, ['--log-payloads']);
    try {
      await logged(logging, () => post(`${logging.url}/predict`, { ...good(), sepal_length: 4.321 }), /POST \/predict 200 \d+\.\d ms response: \{"label":/);
      assert.match(logging.log(), /request body: .*4\.321/);
    } finally {
      await logging.stop();
    }
  });

  it('completes 2,000 requests at concurrency 16 with no errors', async () => {
    const rows = bundle.rows;
    let i = 0;
    const result = await load(2000, 16, async () => {
      const response = await post(`${server.url}/predict`, rows[i++ % rows.length]);
      const text = await response.text();
      if (response.status !== 200) throw new Error(`${response.status} ${text}`);
    });
    assert.deepEqual(result.failures, []);
    assert.equal(result.ms.length, 2000);
  });

  it('serves the rows form: a list of rows per call, on /predict and the V2 route', async () => {
    const dir = variant(bundle.dir, (spec) => Object.assign(spec, { function: 'predict_rows', form: 'rows', calls: null }));
    const rows = await startServer(dir);
    try {
      const response = await post(`${rows.url}/predict`, bundle.rows.slice(0, 5));
      const got = (await response.json()) as { label: number; proba: number[] }[];
      assert.deepEqual(got.map((r) => r.label), bundle.results.slice(0, 5).map((r) => r.label));
      assertClose(got[4].proba, bundle.results[4].proba, 'proba');
      const bad = await post(`${rows.url}/predict`, [bundle.rows[0], { ...bundle.rows[1], sepal_width: null }]);
      assert.equal(bad.status, 422);
      assert.match(((await bad.json()) as { error: string }).error, /^row 1: field 'sepal_width' must be a number, got null$/);
      const inputs = FEATURES.map((name) => ({ name, shape: [3], datatype: 'FP64', data: bundle.rows.slice(0, 3).map((r) => r[name]) }));
      const v2 = (await (await post(`${rows.url}/v2/models/${SERVE_MODEL}/infer`, { inputs })).json()) as { outputs: { name: string; data: unknown[] }[] };
      assert.deepEqual(v2.outputs.find((o) => o.name === 'label')?.data, bundle.results.slice(0, 3).map((r) => r.label));
    } finally {
      assert.equal(await rows.stop(), 0, 'SIGTERM stops the server cleanly');
    }
    const checked = runServe(dir, ['--check']);
    assert.equal(checked.status, 0, checked.stderr);
    assert.equal(checked.stdout.trim(), 'skew guard: the notebook never calls predict_rows; nothing to replay');
  });

  it('turns results into JSON (numpy, pandas, tuples; NaN and infinities as null), compares them as the skew guard does, and types fields', () => {
    const script = [
      'import json, sys',
      'import numpy as np, pandas as pd',
      'sys.path.insert(0, sys.argv[1])',
      'from iris_pipeline import _serve as s',
      'print(s.dumps({',
      '  "numpy": s.to_json({"a": np.int64(3), "b": np.float32(0.5), "c": np.array([[1, 2]]), "d": np.bool_(True)}),',
      '  "pandas": s.to_json({"s": pd.Series([1.5, 2.5]), "f": pd.DataFrame({"x": [1, 2], "y": ["a", "b"]})}),',
      '  "tuple": s.to_json((1, "a", None)),',
      '  "nan": s.to_json([float("nan"), np.inf, np.float64("nan")]),',
      '}).decode())',
      'diffs = lambda a, b: [path for path, _, _ in s.compare(a, b)]',
      'print(json.dumps({',
      '  "close": diffs({"p": np.array([0.1, 2e9])}, {"p": [0.1 + 1e-12, 2e9 + 1]}),',
      '  "far": diffs({"p": np.array([0.1, 0.2])}, {"p": [0.1, 0.2 + 1e-6]}),',
      '  "nan": diffs([float("nan")], [np.nan]),',
      '  "bool": diffs({"x": True}, {"x": 1}),',
      '  "series": diffs(pd.Series([1.0, 2.0], index=["a", "b"]), pd.Series([1.0, 2.0], index=["a", "c"])),',
      '  "frame": diffs(pd.DataFrame({"x": [1, 2]}), pd.DataFrame({"x": [1, 3]})),',
      '  "keys": diffs({"a": 1}, {"a": 1, "b": 2}),',
      '  "length": diffs([1, 2], (1, 2, 3)),',
      '  "class": diffs("setosa", "virginica"),',
      '  "int": diffs(np.int64(2), 2),',
      '}))',
      'print(json.dumps([s._type_error(t, v) for t, v in [("integer", 12.5), ("integer", 12.0), ("number", True), ("string", None), ("boolean", 1), ("array", {}), ("any", None)]]))',
    ].join('\n');
    const r = spawnSync(SCIENTIFIC_PYTHON, ['-c', script, bundle.dir], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    const [json, diffs, typeErrors] = r.stdout.trim().split('\n').map((line) => JSON.parse(line) as Record<string, unknown>);
    assert.deepEqual(typeErrors, ['must be an integer, got 12.5', null, 'must be a number, got a boolean', 'must be a string, got null', 'must be a boolean, got an integer', 'must be an array, got an object', null]);
    assert.deepEqual(json, {
      numpy: { a: 3, b: 0.5, c: [[1, 2]], d: true },
      pandas: { s: [1.5, 2.5], f: [{ x: 1, y: 'a' }, { x: 2, y: 'b' }] },
      tuple: [1, 'a', null],
      nan: [null, null, null],
    });
    assert.deepEqual(diffs, {
      close: [],
      far: ["result['p'][1]"],
      nan: [],
      bool: ["result['x']"],
      series: ["result['index'][1]"],
      frame: ["result['data'][1][0]"],
      keys: ["result['b']"],
      length: ['result (length)'],
      class: ['result'],
      int: [],
    });
  });

  it('skew guard: --check replays the recorded calls and passes when every answer is equal', () => {
    const checked = runServe(bundle.dir, ['--check']);
    assert.equal(checked.status, 0, checked.stderr);
    assert.equal(checked.stdout.trim(), 'skew guard: 12 calls replayed, all equal');
  });

  it('skew guard: a recorded result the function no longer gives fails it, located', () => {
    const dir = variant(bundle.dir, () => undefined);
    const calls = JSON.parse(readFileSync(path.join(dir, 'serve.json'), 'utf8')).calls as { sha256: string; path: string };
    // The notebook's third call computed a different probability (as if serving preprocessed differently).
    const altered = spawnSync(
      SCIENTIFIC_PYTHON,
      ['-c', 'import hashlib,json,pickle,sys\nd=sys.argv[1]\ns=json.load(open(d+"/serve.json"))\np=d+"/"+s["calls"]["path"]\nc=pickle.load(open(p,"rb"))\nc[2]["result"]["proba"][1]+=1e-6\nb=pickle.dumps(c)\nh=hashlib.sha256(b).hexdigest()\nopen(d+"/artifacts/"+h,"wb").write(b)\ns["calls"].update(sha256=h,path="artifacts/"+h)\njson.dump(s,open(d+"/serve.json","w"))', dir],
      { encoding: 'utf8' },
    );
    assert.equal(altered.status, 0, altered.stderr);
    assert.notEqual(JSON.parse(readFileSync(path.join(dir, 'serve.json'), 'utf8')).calls.sha256, calls.sha256);
    const checked = runServe(dir, ['--check']);
    assert.equal(checked.status, 1, checked.stderr);
    assert.match(checked.stderr, /skew guard: 1 of 12 recorded calls of predict answer differently from the notebook/);
    assert.match(checked.stderr, /cell 9, call 3: result\['proba'\]\[1\]: expected [\d.e-]+, got [\d.e-]+/);
  });

  it('refuses to start (exit 3, naming it) when an artifact is not the one the run recorded', async () => {
    const dir = variant(bundle.dir, () => undefined);
    const spec = JSON.parse(readFileSync(path.join(dir, 'serve.json'), 'utf8')) as { artifacts: { name: string; sha256: string; path: string }[] };
    const scaler = spec.artifacts.find((a) => a.name === 'scaler')!;
    const file = path.join(dir, scaler.path);
    const bytes = readFileSync(file);
    bytes[bytes.length - 2] ^= 1;
    writeFileSync(file, bytes);
    for (const args of [[], ['--check']]) {
      const refused = runServe(dir, ['--port', '0', ...args]);
      assert.equal(refused.status, 3, refused.stderr);
      assert.equal(refused.stdout, '');
      assert.match(refused.stderr, new RegExp(`^nb2prod serve: artifact 'scaler' \\(step prepare\\) does not match its recorded sha256 ${scaler.sha256} \\(found [0-9a-f]{64}\\): refusing to start\\n$`));
    }
    await assert.rejects(startServer(dir), /exited \(3\) before listening/);
    rmSync(file);
    const missing = runServe(dir, ['--check']);
    assert.equal(missing.status, 3);
    assert.match(missing.stderr, new RegExp(`artifact 'scaler' \\(step prepare\\) does not match its recorded sha256 ${scaler.sha256} \\(found no file at ${scaler.path}\\)`));
  });
});

function streamed(megabytes: number): ReadableStream<Uint8Array> {
  const chunk = new Uint8Array(1024 * 1024).fill(0x20);
  let sent = 0;
  return new ReadableStream({
    pull(controller) {
      if (sent++ < megabytes) controller.enqueue(chunk);
      else controller.close();
    },
  });
}
