import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { after, describe, it } from 'node:test';
import type { GeneratedFile } from '../../src/core/generate/files';
import { generateTypeScriptPackage } from '../../src/core/generate/typescript/index';
import { newStep, type Plan, type Step } from '../../src/core/plan/model';
import { planNotebook, productionize, readNotebookFile } from '../../src/core/pipeline';
import { writeNotebook } from '../helpers/notebooks';
import { runNotebookAsModule } from '../helpers/typescript';

const TSLAB = { kernelspec: { name: 'tslab', language: 'typescript', display_name: 'TypeScript' } };

const fixtures = path.resolve(__dirname, '../../../test/fixtures');
const scratch = mkdtempSync(path.join(tmpdir(), 'nb2prod-ts-'));
after(() => rmSync(scratch, { recursive: true, force: true }));

const HASH = 'ab'.repeat(32);
const options = { notebookPath: 'demo.ipynb', slug: 'demo', packageName: 'demo', baseImage: 'node:20-slim', pins: [], runtime: 'node' as const };

function step(name: string, code: string, extra: Partial<Step> = {}): Step {
  return { ...newStep(name, name, [{ index: 0, id: 'c0' }], [{ cell: 0, cellId: 'c0', body: code }]), ...extra };
}

function plan(steps: Step[], extra: Partial<Plan> = {}): Plan {
  return {
    notebook: 'demo.ipynb',
    notebookHash: HASH,
    language: 'typescript',
    params: {},
    steps,
    definitions: [],
    sharedImports: [],
    sharedCode: [],
    requirements: { pins: [], modules: [] },
    diagnostics: [],
    ...extra,
  };
}

function writePackage(files: GeneratedFile[], name: string): string {
  const dir = path.join(scratch, name);
  for (const f of files) {
    mkdirSync(path.dirname(path.join(dir, f.path)), { recursive: true });
    writeFileSync(path.join(dir, f.path), f.content);
  }
  return dir;
}

function node(dir: string, args: string[]) {
  const r = spawnSync(process.execPath, args, { cwd: dir, encoding: 'utf8', env: { ...process.env, NB2PROD_RUN_ID: '' } });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

const fileOf = (files: GeneratedFile[], p: string) => files.find((f) => f.path === p)?.content ?? assert.fail(`no ${p}`);

/** What running the notebook's code cells top to bottom prints. */
function referenceOutput(notebookFile: string, name: string): string {
  const dir = path.join(scratch, `${name}-reference`);
  mkdirSync(dir, { recursive: true });
  const r = runNotebookAsModule(notebookFile, dir);
  assert.equal(r.status, 0, r.stderr);
  return r.stdout;
}

async function productionized(notebook: string, name: string): Promise<string> {
  const plan = await planNotebook(await readNotebookFile(notebook));
  assert.deepEqual(plan.diagnostics.filter((d) => d.severity === 'error'), []);
  return writePackage(generateTypeScriptPackage(plan, options), name);
}

describe('TypeScript generator: package files', () => {
  const p = plan(
    [
      step('load', "const rows: number[] = [3, 1, 2];\nconst { z } = await import('npm:zod@3');", {
        outputs: ['rows'],
        params: ['limit'],
        imports: [{ names: ['chunk'], modules: ['lodash'], code: "import { chunk } from 'lodash';", line: 1 }],
      }),
      step('delete', 'rows.sort();\nlet rows2 = rows;\nconsole.log(rows, limit);', { inputs: [{ name: 'rows', from: 'load' }], params: ['limit'] }),
    ],
    { params: { limit: 2 }, requirements: { pins: ['zod@3'], modules: ['jsr:@std/path', 'lodash', 'zod'] } },
  );
  const files = generateTypeScriptPackage(p, options);

  it('writes one ES module per step, a runner, a runtime, package.json, Dockerfile and .dockerignore', () => {
    assert.deepEqual(files.map((f) => f.path).sort(), ['.dockerignore', 'Dockerfile', '_runtime.mjs', 'main.mjs', 'package.json', 'steps/delete.mjs', 'steps/load.mjs']);
  });

  it('step modules are plain JavaScript with explicit inputs, params and outputs', () => {
    const load = fileOf(files, 'steps/load.mjs');
    assert.match(load, /^\/\/ Step load of the pipeline generated from demo\.ipynb\./);
    assert.match(load, /export async function run\(\{\} = \{\}, \{ limit \} = \{\}\) \{/);
    assert.match(load, /const rows = \[3, 1, 2\];/); // type annotation stripped
    assert.match(load, /return \{ rows \};/);
    assert.match(load, /import \{ chunk \} from 'lodash';/);
    assert.match(load, /await import\("zod"\)/); // Deno's npm: specifier, for node
    assert.match(fileOf(files, 'steps/delete.mjs'), /export async function run\(\{ rows \} = \{\}, \{ limit \} = \{\}\)/);
  });

  it('main.mjs imports a step when it runs, by file name (a step may be named after a reserved word)', () => {
    assert.match(fileOf(files, 'main.mjs'), /\{ name: "delete", load: \(\) => import\("\.\/steps\/delete\.mjs"\),/);
    assert.doesNotMatch(fileOf(files, 'main.mjs'), /^import .*steps\//m);
  });

  it('package.json: ES module package, dependencies from imports with pins, jsr through its npm registry', () => {
    const pkg = JSON.parse(fileOf(files, 'package.json'));
    assert.equal(pkg.type, 'module');
    assert.equal(pkg.main, 'main.mjs');
    assert.deepEqual(pkg.dependencies, { '@std/path': 'npm:@jsr/std__path@*', lodash: '*', zod: '3' });
  });

  it('Dockerfile: the chosen base, deps before sources, non-root, one ENTRYPOINT, labels', () => {
    const docker = fileOf(files, 'Dockerfile');
    assert.match(docker, /^FROM node:20-slim$/m);
    const install = docker.indexOf('RUN npm install');
    assert.ok(docker.indexOf('COPY package.json') < install && install < docker.indexOf('COPY pipeline.json'));
    assert.match(docker, /^USER pipeline$/m);
    assert.equal(docker.match(/^ENTRYPOINT /gm)?.length, 1);
    assert.match(docker, /ENTRYPOINT \["node", "main.mjs"\]/);
    assert.match(docker, /nb2prod\.notebook\.hash="a/);
    assert.match(docker, /org\.opencontainers\.image\.title="demo"/);
    const chosen = fileOf(generateTypeScriptPackage(p, { ...options, baseImage: 'node:22.1-bookworm-slim' }), 'Dockerfile');
    assert.match(chosen, /^FROM node:22\.1-bookworm-slim$/m);
    assert.throws(() => generateTypeScriptPackage(p, { ...options, baseImage: 'node' }), /not pinned/);
  });

  it('the runtime is the source file _runtime.mjs, verbatim, and valid JavaScript', () => {
    const source = path.resolve(__dirname, '../../../src/core/generate/typescript/_runtime.mjs');
    assert.equal(fileOf(files, '_runtime.mjs'), readFileSync(source, 'utf8'));
    const check = spawnSync(process.execPath, ['--check', source], { encoding: 'utf8' });
    assert.equal(check.status, 0, check.stderr);
  });

  it('Deno runtime keeps npm: specifiers and runs with deno', () => {
    const deno = generateTypeScriptPackage(p, { ...options, runtime: 'deno', baseImage: 'denoland/deno:debian-2.1.4' });
    assert.match(fileOf(deno, 'steps/load.mjs'), /await import\('npm:zod@3'\)/);
    assert.match(fileOf(deno, 'Dockerfile'), /ENTRYPOINT \["deno", "run", "-A", "main.mjs"\]/);
  });

  it('a notebook path cannot break out of a comment or a label', () => {
    const evil = generateTypeScriptPackage(p, { ...options, notebookPath: 'x\nRUN rm -rf /"$HOME.ipynb' });
    assert.doesNotMatch(fileOf(evil, 'Dockerfile'), /^RUN rm/m);
    assert.match(fileOf(evil, 'Dockerfile'), /description="Pipeline generated by nb2prod from x RUN rm -rf \/\\"\\\$HOME\.ipynb"/);
    assert.doesNotMatch(fileOf(evil, 'main.mjs'), /^RUN rm/m);
  });
});

describe('TypeScript generator: code transformations', () => {
  it('a name declared again in a later cell of the same step becomes an assignment', () => {
    const s = step('s', '', {
      inputs: [{ name: 'total', from: 'a' }],
      bodies: [
        { cell: 1, cellId: 'c1', body: 'const x = 1;\nlet total = total + x;' },
        { cell: 2, cellId: 'c2', body: 'const x = 2;\nconst { y, z } = { y: x, z: 3 };\nconsole.log(x, y, z, total);' },
      ],
    });
    const dir = writePackage(generateTypeScriptPackage(plan([step('a', 'const total = 10;', { outputs: ['total'] }), s]), options), 'redeclare');
    const code = readFileSync(path.join(dir, 'steps/s.mjs'), 'utf8');
    assert.match(code, /let x = 1;/);
    assert.match(code, /\(total = total \+ x\);/);
    const r = node(dir, ['main.mjs']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, '2 2 3 11\n');
  });

  it('relative imports mean the notebook\'s directory, the package root, also from steps/', () => {
    const s = step('s', 'console.log(sum([1, 2]), twice(3));', {
      imports: [
        { names: ['sum'], modules: [], code: "import { sum } from './lib/util.mjs';", line: 1 },
        { names: ['twice'], modules: [], code: "const { twice } = require('./lib/twice.cjs');", line: 2 },
      ],
    });
    const dir = writePackage(generateTypeScriptPackage(plan([s], { language: 'javascript' }), options), 'relative');
    mkdirSync(path.join(dir, 'lib'));
    writeFileSync(path.join(dir, 'lib/util.mjs'), 'export const sum = (xs) => xs.reduce((a, b) => a + b, 0);\n');
    writeFileSync(path.join(dir, 'lib/twice.cjs'), 'exports.twice = (x) => 2 * x;\n');
    const r = node(dir, ['main.mjs']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, '3 6\n');
  });

  it('require() imports work in ES modules', () => {
    const s = step('s', "console.log(join('a', 'b'));", { imports: [{ names: ['join'], modules: [], code: "const { join } = require('node:path');", line: 1 }] });
    const dir = writePackage(generateTypeScriptPackage(plan([s], { language: 'javascript' }), options), 'require');
    const r = node(dir, ['main.mjs']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'a/b\n');
  });
});

describe('TypeScript generator: runtime', () => {
  const make = (value: string, name: string) =>
    writePackage(
      generateTypeScriptPackage(
        plan([step('make', `const v = ${value};`, { outputs: ['v'] }), step('use', 'console.log(v);', { inputs: [{ name: 'v', from: 'make' }] })]),
        options,
      ),
      name,
    );

  it('a value JSON cannot hold flows in memory with a warning naming the value and where; --only later says it is missing', () => {
    const dir = make('{ ok: 1, nested: { fn: () => 1 } }', 'unserialisable');
    const r = node(dir, ['main.mjs', '--artifacts', 'out', '--run-id', 'r1']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, '{ ok: 1, nested: { fn: [Function: fn] } }\n');
    assert.match(r.stderr, /output "v" of step "make" cannot be saved as JSON \(v\.nested\.fn is a function\); it is passed in memory only/);
    const record = JSON.parse(readFileSync(path.join(dir, 'out/r1/run.json'), 'utf8'));
    assert.equal(record.status, 'succeeded');
    assert.deepEqual(record.artifacts, []);
    const alone = node(dir, ['main.mjs', '--artifacts', 'out', '--run-id', 'r2', '--only', 'use']);
    assert.equal(alone.code, 1);
    assert.match(alone.stderr, /input "v" from step "make" is not in memory and no earlier run has it/);
  });

  it('circular values are named too', () => {
    const dir = make('(() => { const a: any = { b: {} }; a.b.back = a; return a; })()', 'circular');
    assert.match(node(dir, ['main.mjs']).stderr, /v\.b\.back refers back to itself/);
  });

  it('Map, Set, Date, BigInt, undefined and NaN survive a resumed run (--only loads them from artifacts)', () => {
    const value = "new Map<string, unknown>([['set', new Set([1, 2])], ['when', new Date(0)], ['big', 10n ** 20n], ['none', undefined], ['nan', NaN], ['$nb2prod', 'x']])";
    const dir = make(value, 'rich');
    const first = node(dir, ['main.mjs', '--artifacts', 'out', '--run-id', 'r1']);
    assert.equal(first.code, 0, first.stderr);
    const second = node(dir, ['main.mjs', '--artifacts', 'out', '--run-id', 'r2', '--only', 'use']);
    assert.equal(second.code, 0, second.stderr);
    assert.equal(second.stdout, first.stdout);
    assert.match(second.stderr, /loading v from out\/r1\/make\/v\.json/);
  });

  it('run.json has the Python runtime\u2019s shape: run id, params, steps, artifacts with sha256 and bytes, metrics', () => {
    const p = plan([step('train', 'const acc = 0.5 * factor;', { outputs: ['acc'], metrics: ['acc'], params: ['factor'] })], { params: { factor: 1 } });
    const dir = writePackage(generateTypeScriptPackage(p, options), 'record');
    const r = node(dir, ['main.mjs', '--param', 'factor=1.5', '--artifacts', 'runs', '--run-id', 'r1']);
    assert.equal(r.code, 0, r.stderr);
    const record = JSON.parse(readFileSync(path.join(dir, 'runs/r1/run.json'), 'utf8'));
    assert.deepEqual(Object.keys(record), ['run_id', 'params', 'status', 'started', 'finished', 'steps', 'artifacts', 'metrics']);
    assert.deepEqual([record.run_id, record.params, record.status, record.metrics], ['r1', { factor: 1.5 }, 'succeeded', { acc: 0.75 }]);
    assert.match(record.started, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+00:00$/);
    assert.deepEqual(Object.keys(record.steps[0]), ['name', 'status', 'seconds']);
    assert.deepEqual(record.artifacts.map((a: Record<string, unknown>) => [a.path, a.step, a.name, a.bytes]), [['train/acc.json', 'train', 'acc', 5]]);
    assert.match(record.artifacts[0].sha256, /^[a-f0-9]{64}$/);
  });

  it('a --param value keeps the type of its default; one that does not fit is a usage error (exit 2), not text', () => {
    const params = { rate: 0.5, name: 'base', flag: true, sizes: [1, 2], opts: { a: 1 }, seed: null };
    const p = plan([step('show', 'console.log(JSON.stringify([rate, name, flag, sizes, opts, seed]));', { params: Object.keys(params) })], { params });
    const dir = writePackage(generateTypeScriptPackage(p, options), 'param-types');
    const ok = node(dir, ['main.mjs', '--run-id', 'r1', ...['rate=2', 'name=7', 'flag=no', 'sizes=[3]', 'opts={"b":[2.5]}', 'seed=12'].flatMap((v) => ['--param', v])]);
    assert.equal(ok.code, 0, ok.stderr);
    assert.equal(ok.stdout, '[2,"7",false,[3],{"b":[2.5]},12]\n');
    assert.deepEqual(JSON.parse(readFileSync(path.join(dir, 'artifacts/r1/run.json'), 'utf8')).params, { rate: 2, name: '7', flag: false, sizes: [3], opts: { b: [2.5] }, seed: 12 });
    for (const [bad, expected] of [['sizes=abc', 'expected JSON array'], ['sizes="x"', 'expected JSON array'], ['opts=3', 'expected JSON object'], ['opts=[1]', 'expected JSON object'], ['rate=fast', 'expected a number'], ['flag=maybe', 'expected true or false']]) {
      const r = node(dir, ['main.mjs', '--param', bad]);
      assert.equal(r.code, 2, bad);
      assert.match(r.stderr, new RegExp(`parameter ${bad.split('=')[0]}: ${expected}`));
    }
  });

  it('run.json records the parameters the run was given, also when a step changes one in place', () => {
    const p = plan([step('tune', 'opts.depth += 1;\nconsole.log(opts);', { params: ['opts'], outputs: ['opts'] })], { params: { opts: { depth: 2 } } });
    const dir = writePackage(generateTypeScriptPackage(p, options), 'param-record');
    const r = node(dir, ['main.mjs', '--run-id', 'r1', '--param', 'opts={"depth":5}']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, '{ depth: 6 }\n');
    assert.deepEqual(JSON.parse(readFileSync(path.join(dir, 'artifacts/r1/run.json'), 'utf8')).params, { opts: { depth: 5 } });
  });

  it('metrics are strict JSON in run.json: NaN and infinity as "nan"/"inf"/"-inf", a BigInt exact, Maps and Sets as objects and arrays', () => {
    const code = 'const nan = 0 / 0;\nconst inf = 1 / 0;\nconst small = 42n;\nconst big = 2n ** 70n;\nconst scores = new Map([["f1", NaN], ["auc", 0.75]]);\nconst seen = new Set([-Infinity, 1]);';
    const names = ['nan', 'inf', 'small', 'big', 'scores', 'seen'];
    const dir = writePackage(generateTypeScriptPackage(plan([step('score', code, { outputs: names, metrics: names })]), options), 'metrics');
    const r = node(dir, ['main.mjs', '--run-id', 'r1']);
    assert.equal(r.code, 0, r.stderr);
    const text = readFileSync(path.join(dir, 'artifacts/r1/run.json'), 'utf8');
    assert.deepEqual(JSON.parse(text).metrics, { nan: 'nan', inf: 'inf', small: 42, big: '1180591620717411303424', scores: { f1: 'nan', auc: 0.75 }, seen: ['-inf', 1] });
  });

  it('unknown steps and parameters are usage errors (exit 2)', () => {
    const dir = make('1', 'usage');
    assert.equal(node(dir, ['main.mjs', '--only', 'nope']).code, 2);
    assert.equal(node(dir, ['main.mjs', '--param', 'nope=1']).code, 2);
    assert.equal(readdirSync(dir).includes('artifacts'), false);
  });
});

describe('TypeScript generator: definitions that read parameters', () => {
  it('a class reading a parameter is one class in every step: instanceof holds, instances are saved and revived, --param reaches it', async () => {
    const notebook = writeNotebook(scratch, 'param-class.ipynb', [
      { source: 'const rate = 2;', tags: ['parameters'] },
      { source: 'class Price {\n  constructor(public amount: number) {}\n  total(): number {\n    return this.amount * rate;\n  }\n}', tags: ['functions'] },
      { source: 'const price = new Price(5);', tags: ['step:make'] },
      { source: 'console.log(price instanceof Price, price.total());', tags: ['step:use'] },
    ], TSLAB);
    const dir = await productionized(notebook, 'param-class');
    const whole = node(dir, ['main.mjs', '--artifacts', 'out', '--run-id', 'r1', '--param', 'rate=3']);
    assert.equal(whole.code, 0, whole.stderr);
    assert.equal(whole.stdout, 'true 15\n');
    const alone = node(dir, ['main.mjs', '--artifacts', 'out', '--run-id', 'r2', '--only', 'use']);
    assert.equal(alone.code, 0, alone.stderr);
    assert.equal(alone.stdout, 'true 10\n');
  });
});

describe('TypeScript generator: helper functions bound to a const', () => {
  it('an arrow helper defined in one step works in a later step run alone (--only)', async () => {
    const notebook = writeNotebook(scratch, 'arrow-helpers.ipynb', [
      { source: 'const factor = 3;\nconst round2 = (x: number): number => Math.round(x * 100) / 100;\nconst scale = (x: number) => x * factor;\nconsole.log(round2(1.234), scale(2));', tags: ['step:make'] },
      { source: 'console.log(round2(2.345), scale(5));', tags: ['step:use'] },
    ], TSLAB);
    const dir = await productionized(notebook, 'arrow-helpers');
    const whole = node(dir, ['main.mjs', '--artifacts', 'out', '--run-id', 'r1']);
    assert.equal(whole.code, 0, whole.stderr);
    assert.equal(whole.stdout, '1.23 6\n2.35 15\n');
    assert.doesNotMatch(whole.stderr, /cannot be saved/);
    const alone = node(dir, ['main.mjs', '--artifacts', 'out', '--run-id', 'r2', '--only', 'use']);
    assert.equal(alone.code, 0, alone.stderr);
    assert.equal(alone.stdout, '2.35 15\n');
  });
});

describe('TypeScript notebooks: local modules', () => {
  it('a module the notebook imports from its folder is copied into the package', async () => {
    const project = path.join(scratch, 'local-module');
    mkdirSync(path.join(project, 'lib'), { recursive: true });
    writeFileSync(path.join(project, 'lib/util.mjs'), 'export const sum = (xs) => xs.reduce((a, b) => a + b, 0);\n');
    writeNotebook(project, 'uses-lib.ipynb', [
      { source: "import { sum } from './lib/util.mjs';\nconst xs = [1, 2, 3];", tags: ['step:load'] },
      { source: 'console.log(sum(xs));', tags: ['step:report'] },
    ], TSLAB);
    const out = path.join(project, 'out');
    await productionize('uses-lib.ipynb', { cwd: project, out, force: true, env: {} });
    const r = node(out, ['main.mjs', '--artifacts', 'artifacts']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.split('\n').filter((l) => !l.startsWith('[pipeline]')).join('\n'), '6\n');
  });
});

describe('TypeScript notebooks: base image', () => {
  it('a Node base when nobody chose one, recorded as such in pipeline.json; a chosen one is kept', async () => {
    const notebook = path.join(fixtures, 'notebooks/ts_pipeline.ipynb');
    const out = path.join(scratch, 'base-image');
    const byDefault = await productionize(notebook, { cwd: scratch, out, force: true, env: {} });
    assert.equal(byDefault.manifest.baseImage, 'node:20-slim');
    assert.match(readFileSync(path.join(out, 'Dockerfile'), 'utf8'), /^FROM node:20-slim$/m);
    const chosen = await productionize(notebook, { cwd: scratch, out, force: true, env: { NB2PROD_BASE_IMAGE: 'node:22.1-bookworm-slim' } });
    assert.equal(chosen.manifest.baseImage, 'node:22.1-bookworm-slim');
    assert.match(readFileSync(path.join(out, 'Dockerfile'), 'utf8'), /^FROM node:22\.1-bookworm-slim$/m);
  });
});

describe('TypeScript notebooks end to end: the package prints what the notebook prints', () => {
  it('ts_pipeline.ipynb (imports, destructuring, a class, async code, a mutation)', async () => {
    const notebook = path.join(fixtures, 'notebooks/ts_pipeline.ipynb');
    const dir = await productionized(notebook, 'ts_pipeline');
    const r = node(dir, ['main.mjs', '--artifacts', 'artifacts']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, referenceOutput(notebook, 'ts_pipeline'));
  });

  it('tslab_naive_fib.ipynb', async () => {
    const notebook = path.join(fixtures, 'corpus/wild/tslab_naive_fib.ipynb');
    const dir = await productionized(notebook, 'naive_fib');
    const r = node(dir, ['main.mjs']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.split('\n')[0], 'naiveFib(33) = 5702887');
    assert.match(r.stdout, /^Took: \d+ms$/m);
  });

  it('js_pipeline.ipynb', async () => {
    const notebook = path.join(fixtures, 'notebooks/js_pipeline.ipynb');
    const dir = await productionized(notebook, 'js_pipeline');
    const r = node(dir, ['main.mjs']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, referenceOutput(notebook, 'js_pipeline'));
  });
});
