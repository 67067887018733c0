/**
 * The step contract launchers drive (Kubeflow, Argo, `nb2prod run --jobs`): `python -m PKG --only
 * STEP` in a process of its own, told where its inputs, outputs, state and metrics live, computes,
 * prints and saves what the whole run does, and the run's record is merged from every step's.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, readdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { before, describe, it, type TestContext } from 'node:test';
import type { PipelineManifest } from '../../src/core/generate/manifest';
import type { RunJson } from '../../src/core/lineage/artifacts';
import { productionize } from '../../src/core/pipeline';
import { PYTHON, RUN_NOTEBOOK_AS_SCRIPT, SCIENTIFIC_PYTHON } from '../helpers/cli';
import { type CellSpec, FIXTURES, tempDir, writeNotebook } from '../helpers/notebooks';

type Manifest = PipelineManifest;
type StepRecord = RunJson['steps'][number] & { params: Record<string, unknown>; artifacts: RunJson['artifacts']; metrics: Record<string, unknown> };

function run(interpreter: string, args: string[], cwd: string): SpawnSyncReturns<string> {
  return spawnSync(interpreter, args, { cwd, encoding: 'utf8', timeout: 120_000, env: { ...process.env, NB2PROD_RUN_ID: '' } });
}

function readJson<T>(file: string): T {
  return JSON.parse(readFileSync(file, 'utf8')) as T;
}

function sha256(file: string): string {
  return createHash('sha256').update(readFileSync(file)).digest('hex');
}

/** A notebook of these cells productionized in a fresh folder: the package's directory and name. */
async function packageOf(name: string, cells: CellSpec[]): Promise<{ out: string; pkg: string }> {
  const dir = tempDir();
  writeNotebook(dir, `${name}.ipynb`, cells);
  const result = await productionize(`${name}.ipynb`, { cwd: dir });
  return { out: result.outDir, pkg: readJson<Manifest>(path.join(result.outDir, 'pipeline.json')).package };
}

describe('a diamond notebook run one step per process with explicit paths, as a launcher runs it', () => {
  // load -> left (numpy's generator), right (Python's, never imports numpy) -> join -> summary.
  let scientific = true;
  let out: string;
  let manifest: Manifest;
  let notebook: SpawnSyncReturns<string>;
  let whole: SpawnSyncReturns<string>;
  let wholeRecord: RunJson;
  let launcher: string;
  /** Where the launcher keeps a step's things; none of these directories exists before the step runs. */
  const volume = (step: string, ...rest: string[]) => path.join(launcher, 'volumes', step, ...rest);
  /** Each step runs with an artifacts folder of its own, as in a machine of its own. */
  const artifactsOf = (step: string) => path.join(launcher, 'artifacts', step);
  const alone = new Map<string, SpawnSyncReturns<string>>();

  before(async () => {
    scientific = run(SCIENTIFIC_PYTHON, ['-c', 'import numpy, pandas'], '.').status === 0;
    if (!scientific) return;
    const dir = tempDir();
    copyFileSync(path.join(FIXTURES, 'notebooks', 'diamond.ipynb'), path.join(dir, 'diamond.ipynb'));
    notebook = run(SCIENTIFIC_PYTHON, [...RUN_NOTEBOOK_AS_SCRIPT, 'diamond.ipynb'], dir);
    out = (await productionize('diamond.ipynb', { cwd: dir })).outDir;
    manifest = readJson<Manifest>(path.join(out, 'pipeline.json'));
    whole = run(SCIENTIFIC_PYTHON, ['-m', 'diamond', '--run-id', 'whole'], out);
    wholeRecord = readJson<RunJson>(path.join(out, 'artifacts', 'whole', 'run.json'));

    launcher = tempDir();
    let lastState: string | undefined;
    for (const step of manifest.steps) {
      const args = ['-m', 'diamond', '--only', step.name, '--run-id', 'launched'];
      // Nothing reaches a step through a shared artifacts folder.
      args.push('--artifacts', artifactsOf(step.name));
      for (const input of step.inputs) args.push('--input', `${input.name}=${volume(input.from, 'outputs', input.name)}`);
      for (const output of step.outputs) args.push('--output', `${output}=${volume(step.name, 'outputs', output)}`);
      // As the orchestrator does: the state the nearest earlier state-touching step left.
      if (lastState) args.push('--state-in', volume(lastState, 'state'));
      args.push('--state-out', volume(step.name, 'state'), '--metrics-out', volume(step.name, 'metrics', 'metrics.json'));
      if (step.state) lastState = step.name;
      alone.set(step.name, run(SCIENTIFIC_PYTHON, args, out));
    }
  });

  const needsScience = (t: TestContext) => {
    if (!scientific) t.skip(`${SCIENTIFIC_PYTHON} has no numpy/pandas`);
    return scientific;
  };

  it('the notebook, the whole run and the steps one by one print the same, random numbers included', (t) => {
    if (!needsScience(t)) return;
    assert.equal(notebook.status, 0, notebook.stderr);
    assert.equal(whole.status, 0, whole.stderr);
    assert.equal(whole.stdout, notebook.stdout);
    for (const [step, result] of alone) assert.equal(result.status, 0, `--only ${step}:\n${result.stderr}`);
    assert.equal([...alone.values()].map((r) => r.stdout).join(''), notebook.stdout);
  });

  it('the state analysis marks the steps that draw numbers, and the step that only uses Python\'s generator passes numpy\'s on', (t) => {
    if (!needsScience(t)) return;
    assert.deepEqual(manifest.steps.filter((s) => s.state).map((s) => s.name), ['load', 'left', 'right', 'join']);
    assert.deepEqual(readdirSync(volume('right', 'state')).sort(), ['.numpy-random-state.pkl', '.random-state.pkl']);
  });

  it('every output is one file in its --output directory, with the sha256 the whole run saved', (t) => {
    if (!needsScience(t)) return;
    const expected = new Map(wholeRecord.artifacts.map((a) => [`${a.step}/${a.name}`, a.sha256]));
    const outputs = manifest.steps.flatMap((s) => s.outputs.map((name) => ({ step: s.name, name })));
    assert.equal(outputs.length, expected.size);
    for (const { step, name } of outputs) {
      const files = readdirSync(volume(step, 'outputs', name));
      assert.equal(files.length, 1, `${step}/${name}: ${files}`);
      assert.match(files[0], new RegExp(`^${name}\\.(npy|pandas\\.pkl|pkl)$`));
      const file = volume(step, 'outputs', name, files[0]);
      assert.equal(sha256(file), expected.get(`${step}/${name}`), `${step}/${name}`);
      // Outside the run directory: the step's record names it by its absolute path.
      const record = readJson<StepRecord>(path.join(artifactsOf(step), 'launched', step, '.step.json'));
      assert.deepEqual(
        record.artifacts.find((a) => a.name === name),
        { path: file, sha256: sha256(file), bytes: readFileSync(file).length, step, name },
      );
    }
    assert.ok(outputs.some((o) => readdirSync(volume(o.step, 'outputs', o.name))[0].endsWith('.npy')));
    assert.ok(outputs.some((o) => readdirSync(volume(o.step, 'outputs', o.name))[0].endsWith('.pandas.pkl')));
  });

  it('--metrics-out holds each step\'s metrics as strict JSON, {} for a step without', (t) => {
    if (!needsScience(t)) return;
    for (const step of manifest.steps) {
      const metrics = readJson<Record<string, unknown>>(volume(step.name, 'metrics', 'metrics.json'));
      const expected = Object.fromEntries(step.metrics.map((m) => [m, wholeRecord.metrics[m]]));
      assert.deepEqual(metrics, expected, step.name);
    }
    assert.deepEqual(Object.keys(readJson(volume('summary', 'metrics', 'metrics.json'))), ['total']);
  });
});

describe('steps of one run in separate processes (--only, one --run-id)', () => {
  const cells: CellSpec[] = [
    { source: 'start = 1', tags: ['parameters'] },
    { source: 'first = [start, start + 1]', tags: ['step:a'] },
    { source: 'second = [v * 10 for v in first]\nprint("b", second)', tags: ['step:b'] },
    { source: 'score = sum(second)\nprint("c", score)', tags: ['step:c'] },
    { source: 'score', tags: ['metrics'] },
  ];

  it('--only a, then --only b with the same run id reads a\'s output of this run, also when a later run saved another', async () => {
    const { out, pkg } = await packageOf('steps', cells);
    const step = (name: string, ...more: string[]) => run(PYTHON, ['-m', pkg, '--only', name, '--run-id', 'launched', ...more], out);
    const record = () => readJson<RunJson>(path.join(out, 'artifacts', 'launched', 'run.json'));

    const a = step('a', '--param', 'start=1');
    assert.equal(a.status, 0, a.stderr);
    assert.deepEqual([record().status, record().steps.map((s) => s.name)], ['partial', ['a']]);

    const other = run(PYTHON, ['-m', pkg, '--run-id', 'later', '--param', 'start=5'], out);
    assert.equal(other.status, 0, other.stderr);

    const b = step('b');
    assert.equal(b.status, 0, b.stderr);
    assert.equal(b.stdout, 'b [10, 20]\n');
    assert.match(b.stderr, /loading first from .*launched/);
    assert.deepEqual([record().status, record().steps.map((s) => s.name)], ['partial', ['a', 'b']]);

    const c = step('c');
    assert.equal(c.status, 0, c.stderr);
    const merged = record();
    assert.equal(merged.status, 'succeeded');
    assert.deepEqual(merged.steps.map((s) => [s.name, s.status]), [['a', 'succeeded'], ['b', 'succeeded'], ['c', 'succeeded']]);
    assert.deepEqual(merged.artifacts.map((x) => x.path), ['a/first.pkl', 'b/second.pkl', 'c/score.pkl']);
    assert.deepEqual(merged.metrics, { score: 30 });
    assert.deepEqual(merged.params, { start: 1 });
    for (const name of ['a', 'b', 'c']) {
      const own = readJson<StepRecord>(path.join(out, 'artifacts', 'launched', name, '.step.json'));
      assert.equal(own.status, 'succeeded');
      assert.deepEqual(own.artifacts, merged.artifacts.filter((x) => x.step === name));
    }
  });

  it('two branches run at the same time both end up in run.json', async () => {
    const { out, pkg } = await packageOf('branches', [
      cells[0],
      cells[1],
      { source: 'left = first[0]', tags: ['step:left'] },
      { source: 'right = first[1]', tags: ['step:right'] },
    ]);
    assert.equal(run(PYTHON, ['-m', pkg, '--only', 'a', '--run-id', 'r'], out).status, 0);
    const both = ['left', 'right'].map(
      (step) =>
        new Promise<string>((resolve) => {
          const child = spawn(PYTHON, ['-m', pkg, '--only', step, '--run-id', 'r'], { cwd: out, stdio: ['ignore', 'ignore', 'pipe'] });
          let stderr = '';
          child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
          child.on('close', (code) => resolve(`${step}: exit ${code}${code === 0 ? '' : `\n${stderr}`}`));
        }),
    );
    assert.deepEqual(await Promise.all(both), ['left: exit 0', 'right: exit 0']);
    const merged = readJson<RunJson>(path.join(out, 'artifacts', 'r', 'run.json'));
    assert.deepEqual([merged.status, merged.steps.map((s) => s.name)], ['succeeded', ['a', 'left', 'right']]);
  });

  it('a step that fails makes the merged run failed; the steps before keep their records', async () => {
    const { out, pkg } = await packageOf('fails', [cells[0], cells[1], { source: 'second = first[5]', tags: ['step:b'] }]);
    assert.equal(run(PYTHON, ['-m', pkg, '--only', 'a', '--run-id', 'r'], out).status, 0);
    const b = run(PYTHON, ['-m', pkg, '--only', 'b', '--run-id', 'r'], out);
    assert.equal(b.status, 1);
    const merged = readJson<RunJson>(path.join(out, 'artifacts', 'r', 'run.json'));
    assert.equal(merged.status, 'failed');
    assert.deepEqual(merged.steps.map((s) => [s.name, s.status]), [['a', 'succeeded'], ['b', 'failed']]);
    assert.match(merged.steps[1].error ?? '', /IndexError/);
  });
});

describe('a value that cannot be saved, between two steps run alone', () => {
  for (const [kind, source, hint] of [
    ['a generator', 'squares = (i * i for i in range(3))', /e\.g\. list\(\.\.\.\) of it instead of a generator/],
    ['a lambda', 'squares = lambda n: n * n', /e\.g\. a function defined with def in a functions cell instead of a lambda/],
  ] as const) {
    it(`${kind}: the producing step exits 1 naming the value, the steps and the fix`, async () => {
      const { out, pkg } = await packageOf('unsaved', [
        { source, tags: ['step:make'] },
        { source: 'print(squares)', tags: ['step:use'] },
      ]);
      const make = run(PYTHON, ['-m', pkg, '--only', 'make', '--run-id', 'r'], out);
      assert.equal(make.status, 1, make.stderr);
      assert.match(make.stderr, /output 'squares' of step 'make' cannot be saved \((PicklingError|TypeError|AttributeError): .+\), and step 'use' reads it in another process\. Fix: make it picklable/);
      assert.match(make.stderr, hint);
      assert.match(make.stderr, /or merge step 'make' into step 'use'/);
      assert.doesNotMatch(make.stderr, /Traceback/);
      assert.deepEqual(readdirSync(path.join(out, 'artifacts', 'r', 'make')).filter((f) => !f.startsWith('.')), []);
      const merged = readJson<RunJson>(path.join(out, 'artifacts', 'r', 'run.json'));
      assert.equal(merged.status, 'failed');
      assert.match(merged.steps[0].error ?? '', /output 'squares' of step 'make' cannot be saved/);
      // One process runs both: the value flows in memory, as before.
      const whole = run(PYTHON, ['-m', pkg, '--run-id', 'whole'], out);
      assert.equal(whole.status, 0, whole.stderr);
      assert.match(whole.stderr, /warning: output 'squares' of step 'make' cannot be saved/);
    });
  }
});

describe('command line of a step', () => {
  let out: string;
  let pkg: string;
  before(async () => {
    ({ out, pkg } = await packageOf('cli', [
      { source: 'x = 1', tags: ['step:a'] },
      { source: 'print(x)', tags: ['step:b'] },
    ]));
  });

  it('a launcher\'s run id (a UUID) names the run directory', () => {
    const id = '3f2b8c1e-9a4d-4e5f-8b6a-0c1d2e3f4a5b';
    const r = run(PYTHON, ['-m', pkg, '--run-id', id], out);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(readJson<RunJson>(path.join(out, 'artifacts', id, 'run.json')).run_id, id);
  });

  for (const id of ['../x', 'a/b', '', '.hidden', '..', 'x'.repeat(129)]) {
    it(`run id ${JSON.stringify(id.length > 20 ? `${id.slice(0, 5)}…(${id.length})` : id)} is a usage error`, () => {
      const r = run(PYTHON, ['-m', pkg, '--run-id', id], out);
      assert.equal(r.status, 2, r.stderr);
      assert.match(r.stderr, /error: run id .*: use 1 to 128 letters, digits/);
      assert.ok(!existsSync(path.join(out, 'x')) && !existsSync(path.join(out, 'artifacts', 'a')));
    });
  }

  for (const [args, message] of [
    [['--input', 'x=dir'], /error: --input needs --only STEP/],
    [['--state-out', 'd', '--metrics-out', 'm.json'], /error: --state-out, --metrics-out need --only STEP/],
    [['--only', 'b', '--input', 'y=dir'], /error: step 'b' has no input 'y'; its inputs: x/],
    [['--only', 'a', '--output', 'nope=dir'], /error: step 'a' has no output 'nope'; its outputs: x/],
    [['--only', 'a', '--output', 'x'], /error: --output expects NAME=PATH, got 'x'/],
  ] as const) {
    it(`${args.join(' ')} is a usage error`, () => {
      const r = run(PYTHON, ['-m', pkg, ...args], out);
      assert.equal(r.status, 2, r.stderr);
      assert.match(r.stderr, message);
    });
  }

  it('--input of a missing path fails the step, naming it', () => {
    const r = run(PYTHON, ['-m', pkg, '--only', 'b', '--input', 'x=missing/x', '--run-id', 'missing'], out);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /--input x=missing\/x: no such file or directory/);
  });
});
