/**
 * A serving bundle made by hand (what `nb2prod serve` assembles from a run): a package like a
 * generated one (`_runtime.py`, the server `_serve.py`, a `serving.py` with bind() and the
 * function), a scikit-learn model, scaler and numpy array fitted here and saved the way a step
 * saves its outputs, the notebook's recorded calls, and serve.json. The server runs on loopback.
 */
import { ChildProcess, spawn, spawnSync, SpawnSyncReturns } from 'child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'fs';
import * as path from 'path';
import RUNTIME_PY from '../../src/core/generate/python/_runtime.py';
import { servingRuntimeFiles } from '../../src/core/generate/python/serve-runtime';
import { SCIENTIFIC_PYTHON } from './cli';

export const SERVE_PACKAGE = 'iris_pipeline';
export const SERVE_MODEL = 'iris-pipeline';
export const SERVE_RUN_ID = '20261206T101500Z-5e7e01';
export const FEATURES = ['sepal_length', 'sepal_width', 'petal_length', 'petal_width'];

/** The serve cell's function with hand-written preprocessing (log, centring) before the scaler. */
const SERVING_PY = `"""The serve cell's function, its fitted values set by bind()."""
import numpy as np

FEATURES = ("sepal_length", "sepal_width", "petal_length", "petal_width")
SPECIES = ("setosa", "versicolor", "virginica")
model = None
scaler = None
log_means = None


def bind(values):
    globals().update(values)


def features_of(record):
    if record["petal_width"] < 0:
        raise ValueError("petal_width must not be negative, got %r" % record["petal_width"])
    return np.log1p([record[name] for name in FEATURES]) - log_means


def predict(features: dict) -> dict:
    x = scaler.transform([features_of(features)])
    label = model.predict(x)[0]
    return {"label": label, "proba": model.predict_proba(x)[0], "species": SPECIES[label], "setosa": label == 0}


def predict_rows(rows: list) -> list:
    x = scaler.transform(np.array([features_of(row) for row in rows]))
    return [{"label": label, "proba": proba} for label, proba in zip(model.predict(x), model.predict_proba(x))]
`;

/**
 * Fits the model, saves each value as a step would (the runtime's own snapshot), records the
 * notebook's calls, and writes expected.json: 50 held-out rows and what predict answers in-process.
 */
const MAKE_PY = `import hashlib, json, os, pickle, sys
import numpy as np
from sklearn.datasets import load_iris
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler

bundle, package, run_id, model_name = sys.argv[1:5]
sys.path.insert(0, bundle)
runtime = __import__(package + "._runtime", fromlist=["_"])
serving = __import__(package + ".serving", fromlist=["_"])

X, y = load_iris(return_X_y=True)
X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=50, random_state=7, stratify=y)
log_means = np.log1p(X_train).mean(axis=0)
scaler = StandardScaler().fit(np.log1p(X_train) - log_means)
model = LogisticRegression(max_iter=1000).fit(scaler.transform(np.log1p(X_train) - log_means), y_train)
serving.bind({"model": model, "scaler": scaler, "log_means": log_means})

def save(name, step, value, named=True):
    ext, parts = runtime._snapshot(value)
    data = b"".join(parts)
    digest = hashlib.sha256(data).hexdigest()
    with open(os.path.join(bundle, "artifacts", digest), "wb") as handle:
        handle.write(data)
    entry = {"name": name, "step": step, "sha256": digest, "path": "artifacts/" + digest}
    if named:  # the file name the run wrote, whose suffix says the format
        entry["file"] = name + ext
    return entry

# log_means (a .npy file) comes without its file name: the server tells numpy files by their bytes.
artifacts = [save("model", "train", model), save("scaler", "prepare", scaler), save("log_means", "prepare", log_means, named=False)]
rows = [dict(zip(serving.FEATURES, map(float, x))) for x in X_test]
calls = [{"args": (row,), "kwargs": {}, "result": serving.predict(row), "cell": 9} for row in rows[:12]]
calls_entry = save("serve_calls", "evaluate", calls)
spec = {
    "schema": 1, "model": model_name, "package": package, "module": package + ".serving", "function": "predict",
    "form": "record", "fields": [{"name": name, "type": "number"} for name in serving.FEATURES], "fieldsFrom": "hints",
    "runId": run_id, "version": "v-" + run_id, "artifacts": artifacts,
    "calls": {"sha256": calls_entry["sha256"], "path": calls_entry["path"], "file": calls_entry["file"]},
}
with open(os.path.join(bundle, "serve.json"), "w") as handle:
    json.dump(spec, handle, indent=2)
expected = [serving.predict(row) for row in rows]
with open(os.path.join(bundle, "expected.json"), "w") as handle:
    json.dump({"rows": rows, "results": [{"label": int(r["label"]), "proba": r["proba"].tolist(), "species": r["species"], "setosa": bool(r["setosa"])} for r in expected]}, handle)
`;

export interface ExpectedResult {
  label: number;
  proba: number[];
  species: string;
  setosa: boolean;
}

export interface ServeBundle {
  dir: string;
  /** 50 held-out rows and predict's answers to them, computed in-process. */
  rows: Record<string, number>[];
  results: ExpectedResult[];
}

export function makeServeBundle(dir: string, python = SCIENTIFIC_PYTHON): ServeBundle {
  const pkg = path.join(dir, SERVE_PACKAGE);
  mkdirSync(pkg, { recursive: true });
  mkdirSync(path.join(dir, 'artifacts'), { recursive: true });
  writeFileSync(path.join(pkg, '__init__.py'), '"""Pipeline generated by nb2prod from the notebook\'s tagged cells."""\n');
  writeFileSync(path.join(pkg, '_runtime.py'), RUNTIME_PY);
  writeFileSync(path.join(pkg, 'serving.py'), SERVING_PY);
  for (const file of servingRuntimeFiles(SERVE_PACKAGE)) writeFileSync(path.join(dir, file.path), file.content);
  const made = spawnSync(python, ['-c', MAKE_PY, dir, SERVE_PACKAGE, SERVE_RUN_ID, SERVE_MODEL], { encoding: 'utf8', timeout: 120_000 });
  if (made.status !== 0) throw new Error(`making the serving bundle failed: ${made.stderr}`);
  const expected = JSON.parse(readFileSync(path.join(dir, 'expected.json'), 'utf8')) as { rows: Record<string, number>[]; results: ExpectedResult[] };
  return { dir, ...expected };
}

/** `python -m <pkg>._serve --bundle DIR ARGS` to its end (the skew guard, a refused start). */
export function runServe(bundle: string, args: string[], python = SCIENTIFIC_PYTHON): SpawnSyncReturns<string> {
  return spawnSync(python, ['-m', `${SERVE_PACKAGE}._serve`, '--bundle', bundle, ...args], { cwd: bundle, encoding: 'utf8', timeout: 120_000 });
}

export interface RunningServer {
  url: string;
  child: ChildProcess;
  /** What the server logged on stderr so far. */
  log(): string;
  /** SIGTERM, then its exit code. */
  stop(): Promise<number | null>;
}

/** The server on 127.0.0.1, a free port, once it printed its `listening on` line. */
export function startServer(bundle: string, args: string[] = [], python = SCIENTIFIC_PYTHON): Promise<RunningServer> {
  const child = spawn(python, ['-m', `${SERVE_PACKAGE}._serve`, '--bundle', bundle, '--host', '127.0.0.1', '--port', '0', ...args], { cwd: bundle, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill();
      reject(new Error(`the server did not start within 60 s: ${stderr}`));
    }, 60_000);
    child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk;
      const listening = /^listening on (http:\/\/\S+)$/m.exec(stdout);
      if (!listening) return;
      clearTimeout(timer);
      resolve({
        url: listening[1],
        child,
        log: () => stderr,
        stop: () => {
          if (child.exitCode === null) child.kill('SIGTERM');
          return exited;
        },
      });
    });
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`the server exited (${code}) before listening: ${stderr}`));
    });
  });
}

/** `count` requests, `concurrency` at a time; each one's ms, and why those that failed (threw) did. */
export async function load(count: number, concurrency: number, request: () => Promise<void>): Promise<{ ms: number[]; failures: string[]; seconds: number }> {
  const ms: number[] = [];
  const failures: string[] = [];
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next++ < count) {
        const t = performance.now();
        try {
          await request();
        } catch (e) {
          failures.push(e instanceof Error ? `${e.message} ${String((e as { cause?: unknown }).cause ?? '')}` : String(e));
        }
        ms.push(performance.now() - t);
      }
    }),
  );
  return { ms, failures, seconds: (performance.now() - started) / 1000 };
}

export function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))];
}
