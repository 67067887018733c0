/**
 * The step contract of a generated TypeScript/JavaScript package (CONTRACT.md): a launcher runs
 * each step in its own process (`node main.mjs --only STEP ...`) with the paths it chose, and
 * gets what the whole run in one process gets.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { before, describe, it } from 'node:test';
import type { PipelineManifest } from '../../src/core/generate/manifest';
import { productionize } from '../../src/core/pipeline';
import { FIXTURES, tempDir, writeNotebook, type CellSpec } from '../helpers/notebooks';
import { node } from '../helpers/typescript';

const TSLAB = { kernelspec: { name: 'tslab', language: 'typescript', display_name: 'TypeScript' } };
const DIAMOND = path.join(FIXTURES, 'notebooks', 'ts_diamond.ipynb');

type Manifest = PipelineManifest;
type Step = Manifest['steps'][number];
interface Artifact {
  path: string;
  sha256: string;
  bytes: number;
  step: string;
  name: string;
}

async function packageOf(notebook: string): Promise<{ dir: string; manifest: Manifest }> {
  const dir = path.join(tempDir(), 'pipeline');
  const { manifest } = await productionize(notebook, { cwd: path.dirname(notebook), out: dir, force: true, env: {} });
  return { dir, manifest };
}

async function packageOfCells(cells: CellSpec[]): Promise<string> {
  return (await packageOf(writeNotebook(tempDir(), 'notebook.ipynb', cells, TSLAB))).dir;
}

const sha256 = (file: string) => createHash('sha256').update(readFileSync(file)).digest('hex');
const readJson = (file: string) => JSON.parse(readFileSync(file, 'utf8'));
const pick = (from: Record<string, unknown>, names: string[]) => Object.fromEntries(names.map((n) => [n, from[n]]));

/** A stack trace's last lines say what went wrong. */
const tail = (text: string) => text.trimEnd().split('\n').slice(-12).join('\n');

describe('TypeScript package: each step in its own process, the way a launcher drives it', () => {
  let pkg: string;
  let manifest: Manifest;
  let whole: { stdout: string; runDir: string; record: { artifacts: Artifact[]; metrics: Record<string, unknown> } };
  const stepNamed = (name: string): Step => manifest.steps.find((s) => s.name === name) ?? assert.fail(`no step ${name}`);
  const wholeArtifact = (step: string, name: string) =>
    whole.record.artifacts.find((a) => a.step === step && a.name === name) ?? assert.fail(`whole run saved no ${step}/${name}`);

  before(async () => {
    ({ dir: pkg, manifest } = await packageOf(DIAMOND));
    const artifacts = tempDir();
    const r = node(['main.mjs', '--run-id', 'whole', '--artifacts', artifacts], pkg);
    assert.equal(r.status, 0, tail(r.stderr));
    const runDir = path.join(artifacts, 'whole');
    whole = { stdout: r.stdout, runDir, record: readJson(path.join(runDir, 'run.json')) };
  });

  it('the fixture is a diamond: load feeds two branches that join reads', () => {
    assert.deepEqual(
      manifest.steps.map((s) => [s.name, s.inputs.map((i) => i.from)]),
      [['load', []], ['by_region', ['load']], ['stats', ['load']], ['join', ['by_region', 'stats']]],
    );
  });

  it('every step run alone with the paths a launcher chose: same artifacts (sha256), same printed output, every output and metrics file there', () => {
    const work = tempDir();
    // Nothing below `launcher` exists yet: the steps create what they write.
    const at = (...parts: string[]) => path.join(work, 'launcher', ...parts);
    const valueDir = (step: string, name: string) => at('values', step, name);
    const printed = new Map<string, string>();
    let state: string | undefined;
    // An order the edges allow other than the notebook's: the branches do not need each other.
    for (const name of ['load', 'stats', 'by_region', 'join']) {
      const step = stepNamed(name);
      const args = ['main.mjs', '--only', name, '--run-id', 'launched', '--artifacts', path.join(work, 'artifacts')];
      for (const i of step.inputs) args.push('--input', `${i.name}=${valueDir(i.from, i.name)}`);
      for (const o of step.outputs) args.push('--output', `${o}=${valueDir(name, o)}`);
      if (state) args.push('--state-in', state);
      state = at('state', name);
      args.push('--state-out', state, '--metrics-out', at('metrics', name, 'metrics.json'));
      const r = node(args, pkg);
      assert.equal(r.status, 0, `--only ${name}:\n${tail(r.stderr)}`);
      printed.set(name, r.stdout);
      for (const o of step.outputs) {
        assert.deepEqual(readdirSync(valueDir(name, o)), [`${o}.json`], `${name}/${o}`);
        assert.equal(sha256(path.join(valueDir(name, o), `${o}.json`)), wholeArtifact(name, o).sha256, `${name}/${o}`);
      }
      assert.deepEqual(readJson(at('metrics', name, 'metrics.json')), pick(whole.record.metrics, step.metrics));
      assert.ok(statSync(state).isDirectory());
    }
    assert.equal(manifest.steps.map((s) => printed.get(s.name)).join(''), whole.stdout);

    // run.json merges the step records, in pipeline order; values written outside the run directory are recorded where they are.
    const record = readJson(path.join(work, 'artifacts', 'launched', 'run.json'));
    assert.equal(record.status, 'succeeded');
    assert.deepEqual(record.steps.map((s: { name: string }) => s.name), manifest.steps.map((s) => s.name));
    assert.deepEqual(record.metrics, whole.record.metrics);
    assert.deepEqual(
      record.artifacts.map((a: Artifact) => [a.path, a.sha256]),
      whole.record.artifacts.map((a) => [path.join(valueDir(a.step, a.name), `${a.name}.json`), a.sha256]),
    );
  });

  it('a whole run writes a record per step too: params it used, artifacts, metrics', () => {
    const join = readJson(path.join(whole.runDir, 'join', '.step.json'));
    assert.deepEqual(Object.keys(join), ['name', 'status', 'started', 'finished', 'seconds', 'params', 'artifacts', 'metrics']);
    assert.deepEqual([join.name, join.status, join.params, join.metrics], ['join', 'succeeded', { label: 'Q1' }, whole.record.metrics]);
    assert.deepEqual(join.artifacts, [wholeArtifact('join', 'share')]);
  });

  it('--only a, then --only b in the same run: b reads this run\u2019s value before a newer run\u2019s, run.json has both', () => {
    const artifacts = tempDir();
    const run = (...args: string[]) => {
      const r = node(['main.mjs', '--artifacts', artifacts, ...args], pkg);
      assert.equal(r.status, 0, tail(r.stderr));
      return r;
    };
    run('--only', 'load', '--run-id', 'mine', '--param', 'scale=3');
    run('--only', 'load', '--run-id', 'newer', '--param', 'scale=7');
    const b = run('--only', 'stats', '--run-id', 'mine');
    assert.match(b.stderr, new RegExp(`loading orders from ${path.join(artifacts, 'mine', 'load', 'orders.json').replace(/[.\\]/g, '\\$&')}`));
    assert.match(b.stdout, /^total 141 /);
    const record = readJson(path.join(artifacts, 'mine', 'run.json'));
    assert.deepEqual(record.steps.map((s: { name: string; status: string }) => [s.name, s.status]), [['load', 'succeeded'], ['stats', 'succeeded']]);
    assert.deepEqual(record.artifacts.map((a: Artifact) => a.path), ['load/orders.json', 'stats/stats.json']);
    assert.equal(record.status, 'partial');
    assert.equal(record.params.scale, 3);
    run('--only', 'by_region', '--run-id', 'mine');
    run('--only', 'join', '--run-id', 'mine');
    assert.equal(readJson(path.join(artifacts, 'mine', 'run.json')).status, 'succeeded');
  });

  it('run ids: a UUID is fine; one that could leave the artifacts directory is a usage error (exit 2)', () => {
    const artifacts = tempDir();
    const uuid = '123e4567-e89b-12d3-a456-426614174000';
    const ok = node(['main.mjs', '--only', 'load', '--run-id', uuid, '--artifacts', artifacts], pkg);
    assert.equal(ok.status, 0, tail(ok.stderr));
    assert.equal(readJson(path.join(artifacts, uuid, 'run.json')).run_id, uuid);
    for (const bad of ['..', '../up', 'a/b', '', '.hidden', '-x', 'x'.repeat(129)]) {
      const r = node(['main.mjs', `--run-id=${bad}`, '--artifacts', path.join(artifacts, 'refused')], pkg);
      assert.equal(r.status, 2, JSON.stringify(bad));
      assert.match(r.stderr, /run id .* is not allowed/);
    }
    assert.equal(node(['main.mjs', '--artifacts', path.join(artifacts, 'refused')], pkg, { NB2PROD_RUN_ID: '../up' }).status, 2);
    assert.equal(existsSync(path.join(artifacts, 'refused')), false);
  });

  it('step paths without --only, or naming what the step does not have, are usage errors (exit 2)', () => {
    const cases = [
      ['--input', 'orders=x'],
      ['--metrics-out', 'm.json'],
      ['--only', 'stats', '--input', 'rows=x'],
      ['--only', 'stats', '--output', 'orders=x'],
      ['--only', 'stats', '--input', 'orders=x', '--input', 'orders=y'],
      ['--only', 'stats', '--input', 'orders'],
    ];
    for (const args of cases) {
      const r = node(['main.mjs', '--artifacts', tempDir(), ...args], pkg);
      assert.equal(r.status, 2, args.join(' '));
      assert.match(r.stderr, /^error: --(input|output|metrics-out)/m, args.join(' '));
    }
  });

  it('an --input that is not one value file, or a --state-in that is not a directory, fails the step (exit 1) saying so', () => {
    const work = tempDir();
    writeFileSync(path.join(work, 'a.json'), '1');
    writeFileSync(path.join(work, 'b.json'), '2');
    writeFileSync(path.join(work, 'orders.pkl'), '');
    const run = (...args: string[]) => node(['main.mjs', '--only', 'stats', '--artifacts', tempDir(), ...args], pkg);
    const two = run('--input', `orders=${work}`);
    assert.equal(two.status, 1);
    assert.match(two.stderr, /--input orders=.*: expected the one value file a --output directory holds, found a\.json, b\.json, orders\.pkl/);
    assert.match(run('--input', `orders=${path.join(work, 'orders.pkl')}`).stderr, /is not a value this runtime saves/);
    assert.match(run('--input', `orders=${path.join(work, 'missing')}`).stderr, /no such file or directory/);
    const state = run('--state-in', path.join(work, 'missing'));
    assert.equal(state.status, 1);
    assert.match(state.stderr, /--state-in .*missing: not a directory/);
  });
});

describe('TypeScript package: a value a step run alone cannot save', () => {
  let pkg: string;
  before(async () => {
    pkg = await packageOfCells([
      { source: 'const later = Promise.resolve(42);', tags: ['step:make_promise'] },
      { source: "const token = Symbol('token');", tags: ['step:make_symbol'] },
      { source: 'const handlers = { double: (x: number) => x * 2 };', tags: ['step:make_closure'] },
      { source: 'const { double } = handlers;\nconsole.log(await later, token.toString(), double(2));', tags: ['step:use'] },
      { source: 'console.log(await later);', tags: ['step:again'] },
    ]);
  });

  it('flows in memory in a whole run, with a warning', () => {
    const r = node(['main.mjs', '--artifacts', tempDir()], pkg);
    assert.equal(r.status, 0, tail(r.stderr));
    assert.equal(r.stdout, '42 Symbol(token) 4\n42\n');
    assert.equal(r.stderr.match(/cannot be saved as JSON/g)?.length, 3);
  });

  for (const [step, value, reason, readers, hint, merge] of [
    ['make_promise', 'later', 'later is a Promise', 'Steps "use", "again" read it', 'await it in the step', 'merge step "make_promise" and the steps that read it into one step'],
    ['make_symbol', 'token', 'token is a symbol', 'Step "use" reads it', 'use a string in its place', 'merge step "make_symbol" into step "use"'],
    ['make_closure', 'handlers', 'handlers.double is a function', 'Step "use" reads it', 'define the function in a functions cell', 'merge step "make_closure" into step "use"'],
  ]) {
    it(`fails the step (exit 1) naming the value, the step, its readers, the reason and the fix: ${reason}`, () => {
      const work = tempDir();
      const artifacts = path.join(work, 'artifacts');
      const r = node(['main.mjs', '--only', step, '--run-id', 'r', '--artifacts', artifacts, '--output', `${value}=${path.join(work, 'out')}`, '--metrics-out', path.join(work, 'm.json')], pkg);
      assert.equal(r.status, 1);
      assert.ok(r.stderr.includes(`output "${value}" of step "${step}" cannot be saved as JSON: ${reason}`), r.stderr);
      assert.ok(r.stderr.includes(`${readers}, and a step run on its own hands its outputs on only as files`), r.stderr);
      assert.match(r.stderr, /^Fix: make it data JSON can hold/m);
      for (const fix of [hint, merge]) assert.ok(r.stderr.includes(fix), r.stderr);
      assert.equal(existsSync(path.join(work, 'out')), false);
      assert.equal(existsSync(path.join(work, 'm.json')), false);
      const record = readJson(path.join(artifacts, 'r', step, '.step.json'));
      assert.equal(record.status, 'failed');
      assert.ok(record.error.includes(`cannot be saved as JSON: ${reason}`), record.error);
      assert.equal(readJson(path.join(artifacts, 'r', 'run.json')).status, 'failed');
    });
  }
});

describe('TypeScript package: --param as launchers pass it', () => {
  it('JSON values (true, null, arrays with spaces, objects, exponents) take the default\u2019s type; a string default keeps the raw text', async () => {
    const pkg = await packageOfCells([
      { source: "const flag = false;\nconst seed = null;\nconst sizes = [1];\nconst opts = { a: 0 };\nconst name = 'base';\nconst rate = 0.5;", tags: ['parameters'] },
      { source: 'console.log(JSON.stringify([flag, seed, sizes, opts, name, rate]));', tags: ['step:show'] },
    ]);
    const given = ['flag=true', 'seed=null', 'sizes=[1, 2]', 'opts={"a": 1}', 'name="text"', 'rate=2.5e1'];
    const artifacts = tempDir();
    const r = node(['main.mjs', '--only', 'show', '--run-id', 'r', '--artifacts', artifacts, ...given.flatMap((p) => ['--param', p])], pkg);
    assert.equal(r.status, 0, tail(r.stderr));
    assert.equal(r.stdout, '[true,null,[1,2],{"a":1},"\\"text\\"",25]\n');
    assert.deepEqual(readJson(path.join(artifacts, 'r', 'show', '.step.json')).params, { flag: true, seed: null, sizes: [1, 2], opts: { a: 1 }, name: '"text"', rate: 25 });
    for (const bad of ['flag=null', 'rate=null', 'sizes={"a": 1}']) assert.equal(node(['main.mjs', '--param', bad], pkg).status, 2, bad);
  });
});
