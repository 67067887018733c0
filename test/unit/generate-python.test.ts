import assert from 'node:assert/strict';
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { findDataFiles, MAX_GLOB_FILES, stringLiterals } from '../../src/core/generate/dataFiles';
import { indentPython } from '../../src/core/generate/python/indent';
import { pyLiteral } from '../../src/core/generate/python/literal';
import { renderRequirements } from '../../src/core/generate/requirements';
import { productionize, type ProductionizeResult } from '../../src/core/pipeline';
import { writeTree } from '../../src/core/write/writer';
import { PYTHON } from '../helpers/cli';
import { type CellSpec, tempDir, writeNotebook } from '../helpers/notebooks';

/** The package run whole, and each of `steps` run alone (`--only`, one process each) sharing one artifacts folder. */
function wholeAndAlone(outDir: string, pkg: string, steps: string[]): { whole: SpawnSyncReturns<string>; alone: string; artifacts: string } {
  const whole = spawnSync(PYTHON, ['-m', pkg], { cwd: outDir, encoding: 'utf8' });
  const artifacts = tempDir();
  const alone = steps.map((step) => {
    const run = spawnSync(PYTHON, ['-m', pkg, '--only', step, '--artifacts', artifacts], { cwd: outDir, encoding: 'utf8' });
    assert.equal(run.status, 0, run.stderr);
    return run.stdout;
  });
  return { whole, alone: alone.join(''), artifacts };
}

/** A notebook of these cells, productionized in a fresh folder. */
async function productionizeCells(name: string, cells: CellSpec[]): Promise<ProductionizeResult> {
  const dir = tempDir();
  writeNotebook(dir, `${name}.ipynb`, cells);
  return productionize(`${name}.ipynb`, { cwd: dir });
}

describe('requirements', () => {
  it('filters the standard library, maps import names to distributions, applies pins', () => {
    const { text } = renderRequirements({
      modules: ['os', 'json', 'sklearn', 'cv2', 'PIL', 'yaml', 'pandas', 'helpers'],
      explicit: ['xgboost==2.0.3'],
      pins: ['pandas==2.1.4', 'scikit_learn>=1.3'],
      localModules: new Set(['helpers']),
    });
    const lines = text.split('\n').filter((l) => l && !l.startsWith('#'));
    assert.deepEqual(lines, ['opencv-python', 'pandas==2.1.4', 'Pillow', 'PyYAML', 'scikit_learn>=1.3', 'xgboost==2.0.3']);
  });

  it('lists optional modules (the code falls back without them) as comments, unless pinned or asked for', () => {
    const { text } = renderRequirements({ modules: ['pandas', 'ujson', 'tqdm', 'sklearn'], optional: ['ujson', 'tqdm', 'sklearn'], explicit: ['tqdm'], pins: ['scikit-learn==1.2.2'], localModules: new Set() });
    const lines = text.split('\n').filter(Boolean);
    assert.deepEqual(lines.filter((l) => !l.startsWith('#')), ['pandas', 'scikit-learn==1.2.2', 'tqdm']);
    assert.ok(lines.includes('# ujson'), text);
  });

  it('never lets a %pip line smuggle in options or URLs', () => {
    const { text, skipped } = renderRequirements({ modules: [], explicit: ['--index-url http://evil', 'git+https://x/y.git', 'ok-pkg'], pins: [], localModules: new Set() });
    assert.doesNotMatch(text, /evil|git\+/);
    assert.match(text, /ok-pkg/);
    assert.equal(skipped.length, 2);
  });
});

describe('Python source helpers', () => {
  it('writes JSON values as Python literals', () => {
    assert.equal(pyLiteral({ a: [1, 2.5, true, null], 'b"\n': 'x' }), '{"a": [1, 2.5, True, None], "b\\"\\n": "x"}');
  });

  it('indents code into a function without changing multi-line strings', () => {
    const code = 'sql = """\nSELECT 1\n"""\nif sql:\n    print(sql)';
    assert.equal(indentPython(code), '    sql = """\nSELECT 1\n"""\n    if sql:\n        print(sql)');
  });
});

describe('generated package', () => {
  it('names cells in headers and keeps hostile tags, ids and paths out of code', async () => {
    const dir = tempDir();
    const nasty = 'x"""\nimport os; os.system("boom")\n#';
    writeNotebook(dir, 'n.ipynb', [
      { source: 'a = 1', tags: [`step:${nasty}`], id: 'ok-id' },
      { source: 'print(a)', tags: ['step:"><script>alert(1)</script>'], id: 'second' },
    ]);
    const result = await productionize('n.ipynb', { cwd: dir });
    const files = readdirSync(path.join(result.outDir, 'n', 'steps'));
    for (const f of files) assert.match(f, /^[a-z_][a-z0-9_]*\.py$/);
    const all = files.map((f) => readFileSync(path.join(result.outDir, 'n', 'steps', f), 'utf8')).join('\n');
    assert.doesNotMatch(all, /os\.system|<script>/);
    assert.match(all, /Source cells: 0 \(id ok-id\)/);
    const run = spawnSync(PYTHON, ['-m', 'n'], { cwd: result.outDir, encoding: 'utf8' });
    assert.equal(run.status, 0, run.stderr);
    assert.equal(run.stdout, '1\n');
  });

  it('rewrites IPython syntax so the package runs without IPython', async () => {
    const result = await productionizeCells('magic', [
      { source: '%matplotlib inline\n%load_ext autoreload\nvalue = 41', tags: ['step:one'] },
      { source: '%%time\nvalue += 1\nprint("before")\n!echo shell-ok\nprint(value)', tags: ['step:two'] },
      { source: '%%writefile out.txt\nhello', tags: ['step:three'] },
    ]);
    const run = spawnSync(PYTHON, ['-m', 'magic'], { cwd: result.outDir, encoding: 'utf8' });
    assert.equal(run.status, 0, run.stderr);
    // Into a pipe Python's prints are buffered: the shell's output must not overtake them.
    assert.equal(run.stdout, 'before\nshell-ok\n42\nWriting out.txt\n');
    assert.equal(readFileSync(path.join(result.outDir, 'out.txt'), 'utf8').trim(), 'hello');
  });

  it("a step run on its own resumes random's global generator where the step before left it", async () => {
    const result = await productionizeCells('draws', [
      { source: 'import random\nrandom.seed(7)\nprint(random.random())', tags: ['step:seed'] },
      { source: 'print("no draws here")', tags: ['step:quiet'] },
      { source: 'print(random.random(), random.randint(0, 99))', tags: ['step:draw'] },
    ]);
    const { whole, alone } = wholeAndAlone(result.outDir, 'draws', ['seed', 'quiet', 'draw']);
    assert.equal(whole.status, 0, whole.stderr);
    assert.equal(alone, whole.stdout);
  });

  it('a seed set in the imports cell is set before the first step, also when no step uses a shared name', async () => {
    const result = await productionizeCells('seeded', [
      { source: 'import random\nrandom.seed(7)', tags: ['imports'] },
      { source: 'print(random.random())', tags: ['step:first'] },
      { source: 'print(random.randint(0, 999))', tags: ['step:second'] },
    ]);
    const expected = spawnSync(PYTHON, ['-c', 'import random\nrandom.seed(7)\nprint(random.random())\nprint(random.randint(0, 999))'], { encoding: 'utf8' }).stdout;
    const { whole, alone } = wholeAndAlone(result.outDir, 'seeded', ['first', 'second']);
    assert.equal(whole.stdout, expected, whole.stderr);
    assert.equal(alone, expected);
  });

  it('a counter in the functions cell that a helper rebinds (global) counts on from step to step', async () => {
    const result = await productionizeCells('counts', [
      { source: 'calls = 0\ndef bump():\n    global calls\n    calls += 1\n    return calls\ndef report():\n    return f"calls={calls}"', tags: ['functions'] },
      { source: 'bump()', tags: ['step:first'] },
      { source: 'print(bump(), report())', tags: ['step:second'] },
      { source: 'print(calls, report())', tags: ['step:third'] },
    ]);
    const { whole, alone } = wholeAndAlone(result.outDir, 'counts', ['first', 'second', 'third']);
    assert.equal(whole.stdout, '2 calls=2\n2 calls=2\n', whole.stderr);
    assert.equal(alone, whole.stdout);
  });

  it('a step that calls helpers reading a parameter, then rebinds the parameter, runs them on its value', async () => {
    const result = await productionizeCells('rebind', [
      { source: 'top_n = 2', tags: ['parameters'] },
      { source: 'def topk(items):\n    return items[:top_n]', tags: ['functions'] },
      { source: 'items = list(range(5))\nprint(topk(items), topk(items[::-1]))\ntop_n = 4', tags: ['step:a'] },
      { source: 'print(topk(items), topk(items[::-1]))', tags: ['step:b'] },
    ]);
    const { whole, alone } = wholeAndAlone(result.outDir, 'rebind', ['a', 'b']);
    assert.equal(whole.stdout, '[0, 1] [4, 3]\n[0, 1, 2, 3] [4, 3, 2, 1]\n', whole.stderr);
    assert.equal(alone, whole.stdout);
  });

  it('a cell tagged raises-exception shows its error and the pipeline goes on, as nbclient runs the notebook', async () => {
    const result = await productionizeCells('oops', [
      { source: 'rows = [3, 1, 2]\nprint("loaded", len(rows))', tags: ['step:load'] },
      { source: 'first = rows[0]\nprint("before", first)\nrows.append(1 / 0)\nprint("never")', tags: ['step:demo', 'raises-exception'] },
      { source: 'print(undefined_on_purpose)', tags: ['raises-exception'] },
      { source: 'print("no syntax" ', tags: ['raises-exception'] },
      { source: 'print("after", first, sorted(rows))', tags: ['step:report'] },
    ]);
    assert.ok(result.plan.diagnostics.every((d) => d.severity !== 'error'), JSON.stringify(result.plan.diagnostics));
    assert.match(result.warnings.join('\n'), /raises-exception: left out/);
    const { whole, alone } = wholeAndAlone(result.outDir, 'oops', ['load', 'demo', 'report']);
    assert.equal(whole.status, 0, whole.stderr);
    assert.equal(whole.stdout, 'loaded 3\nbefore 3\nafter 3 [1, 2, 3]\n');
    assert.match(whole.stderr, /ZeroDivisionError[\s\S]*NameError: name 'undefined_on_purpose' is not defined/);
    assert.equal(alone, whole.stdout);
  });

  it('a step that awaits at top level runs on an event loop, whole and alone', async () => {
    const result = await productionizeCells('aw', [
      { source: 'import asyncio\nasync def double(x):\n    await asyncio.sleep(0)\n    return 2 * x\nprint("defined")', tags: ['step:define'] },
      { source: 'values = await asyncio.gather(*(double(i) for i in range(3)))\nprint(values)', tags: ['step:gather'] },
      { source: 'async def count(n):\n    for i in range(n):\n        yield i\ntotal = 0\nasync for i in count(3):\n    total += i\nprint(sum(values), total)', tags: ['step:sum'] },
    ]);
    assert.match(readFileSync(path.join(result.outDir, 'aw', 'steps', 'gather.py'), 'utf8'), /^async def run\(\):$/m);
    assert.match(readFileSync(path.join(result.outDir, 'aw', 'steps', 'define.py'), 'utf8'), /^def run\(\):$/m);
    const { whole, alone } = wholeAndAlone(result.outDir, 'aw', ['define', 'gather', 'sum']);
    assert.equal(whole.stdout, 'defined\n[0, 2, 4]\n6 3\n', whole.stderr);
    assert.equal(alone, whole.stdout);
  });

  it('a step run on its own gets the logging and display settings earlier steps made', async () => {
    const result = await productionizeCells('cfg', [
      { source: 'import logging\nimport sys\nlogging.basicConfig(stream=sys.stdout, level=logging.INFO, format="%(message)s", force=True)\nfactor = 2', tags: ['step:setup'] },
      { source: 'print("quiet")', tags: ['step:middle'] },
      { source: 'logging.getLogger("x").info("factor %d", factor)', tags: ['step:log'] },
    ]);
    const { whole, alone, artifacts } = wholeAndAlone(result.outDir, 'cfg', ['setup', 'middle', 'log']);
    assert.equal(whole.stdout, 'quiet\nfactor 2\n', whole.stderr);
    assert.equal(alone, whole.stdout);
    const from = spawnSync(PYTHON, ['-m', 'cfg', '--from', 'middle', '--artifacts', artifacts], { cwd: result.outDir, encoding: 'utf8' });
    assert.equal(from.stdout, whole.stdout, from.stderr);
  });

  it('a failing step is recorded in run.json and the exit code is non-zero', async () => {
    const dir = tempDir();
    writeNotebook(dir, 'fail.ipynb', [{ source: 'a = 1', tags: ['step:ok'] }, { source: 'raise ValueError(a)', tags: ['step:bad'] }]);
    const result = await productionize('fail.ipynb', { cwd: dir });
    const run = spawnSync(PYTHON, ['-m', 'fail', '--run-id', 'x'], { cwd: result.outDir, encoding: 'utf8' });
    assert.equal(run.status, 1);
    const record = JSON.parse(readFileSync(path.join(result.outDir, 'artifacts', 'x', 'run.json'), 'utf8'));
    assert.equal(record.status, 'failed');
    assert.deepEqual(record.steps.map((s: { status: string }) => s.status), ['succeeded', 'failed']);
    assert.match(record.steps[1].error, /ValueError: 1/);
  });

  it('a function defined in a step that rebinds a global rebinds the step\'s value (nonlocal), one run() does not bind stays global', async () => {
    const result = await productionizeCells('counts', [
      { source: 'count = 0\ndef bump():\n    global count, last\n    count += 1\n    last = count', tags: ['step:setup'] },
      { source: 'bump()\nbump()\nprint(count, last)', tags: ['step:work'] },
      { source: 'print(count, last)', tags: ['step:show'] },
    ]);
    assert.match(readFileSync(path.join(result.outDir, 'counts', 'steps', 'work.py'), 'utf8'), /^ {8}nonlocal count\n {8}global last$/m);
    for (const args of [[], ['--only', 'show']]) {
      const run = spawnSync(PYTHON, ['-m', 'counts', ...args], { cwd: result.outDir, encoding: 'utf8' });
      assert.equal(run.stdout, args.length ? '2 2\n' : '2 2\n2 2\n', run.stderr);
    }
  });

  it('a definition runs where it stood: a default or class body reads the value the code above it bound', async () => {
    const result = await productionizeCells('inplace', [
      { source: 'SCALE = 2\ndef scaled(x, factor=SCALE):\n    return x * factor\nclass Config:\n    limit = SCALE + 1\nprint(scaled(3), Config.limit)', tags: ['step:setup'] },
      { source: 'print(scaled(4), Config.limit)', tags: ['step:use'] },
    ]);
    const { whole, alone } = wholeAndAlone(result.outDir, 'inplace', ['setup', 'use']);
    assert.equal(whole.stdout, '6 3\n8 3\n', whole.stderr);
    assert.equal(alone, '6 3\n8 3\n');
  });

  it('a function whose default read a value a later step rebinds keeps the old default', async () => {
    const result = await productionizeCells('stale', [
      { source: 'SCALE = 2\ndef scaled(x, factor=SCALE):\n    return x * factor', tags: ['step:setup'] },
      { source: 'SCALE = 10\nprint(scaled(3), SCALE)', tags: ['step:change'] },
    ]);
    const run = spawnSync(PYTHON, ['-m', 'stale'], { cwd: result.outDir, encoding: 'utf8' });
    assert.equal(run.stdout, '6 10\n', run.stderr);
  });

  it('code in a functions cell that calls a function defined above it runs after that definition', async () => {
    const result = await productionizeCells('bins', [
      { source: 'def make_bins(n):\n    return list(range(n))\n\nBINS = make_bins(3)\n\ndef first():\n    return BINS[0]', tags: ['functions'] },
      { source: 'print(BINS, first())', tags: ['step:show'] },
    ]);
    const run = spawnSync(PYTHON, ['-m', 'bins'], { cwd: result.outDir, encoding: 'utf8' });
    assert.equal(run.stdout, '[0, 1, 2] 0\n', run.stderr);
  });

  it('a function redefined in a later step is the old one in the steps before', async () => {
    const result = await productionizeCells('redefine', [
      { source: 'def clean(s):\n    return s.strip()\nprint(clean(" a "))', tags: ['step:a'] },
      { source: 'K = 2\ndef f(x):\n    return x * K\nprint(f(1))', tags: ['step:b'] },
      { source: 'def clean(s):\n    return s.strip().upper()\ndef f(x):\n    return x + K\nprint(clean(" b "), f(1))', tags: ['step:c'] },
    ]);
    const { whole, alone } = wholeAndAlone(result.outDir, 'redefine', ['a', 'b', 'c']);
    assert.equal(whole.stdout, 'a\n2\nB 3\n', whole.stderr);
    assert.equal(alone, 'a\n2\nB 3\n');
  });

  it('a decorator that registers the function runs when its step does, once', async () => {
    const result = await productionizeCells('registry', [
      { source: 'class Features:\n    order = []\n    @classmethod\n    def add(cls, fn):\n        cls.order.append(fn.__name__)\n        return fn\n\n@Features.add\ndef length(w):\n    return len(w)\nprint(Features.order)', tags: ['step:a'] },
      { source: '@Features.add\ndef caps(w):\n    return w.upper()\nprint(Features.order)', tags: ['step:b'] },
      { source: 'print(Features.order, caps("x"), length("ab"))', tags: ['step:c'] },
    ]);
    const run = spawnSync(PYTHON, ['-m', 'registry'], { cwd: result.outDir, encoding: 'utf8' });
    assert.equal(run.stdout, "['length']\n['length', 'caps']\n['length', 'caps'] X 2\n", run.stderr);
  });

  it('instances of a namedtuple or Enum made in a step are saved for a step run on its own', async () => {
    const result = await productionizeCells('tuples', [
      { source: 'import collections, enum\nRow = collections.namedtuple("Row", "name score")\nLevel = enum.Enum("Level", "LOW HIGH")\nbest = Row("b", 3)\nlevel = Level.HIGH', tags: ['step:a'] },
      { source: 'print(best, best._asdict(), level)', tags: ['step:b'] },
    ]);
    const { whole, alone } = wholeAndAlone(result.outDir, 'tuples', ['a', 'b']);
    const expected = "Row(name='b', score=3) {'name': 'b', 'score': 3} Level.HIGH\n";
    assert.equal(whole.stdout, expected, whole.stderr);
    assert.equal(alone, expected);
  });

  it('globals() in a step is the notebook namespace: values of earlier steps and of the step itself', async () => {
    const result = await productionizeCells('names', [
      { source: 'name = "alpha"\nn = 3', tags: ['step:a'] },
      { source: 'print("%(name)s/%(n)d" % globals())\nif "model" not in globals():\n    model = "fresh"\nprint(model, "model" in globals())', tags: ['step:b'] },
      { source: 'if "model" not in globals():\n    model = "again"\nprint(model)', tags: ['step:c'] },
    ]);
    const { whole, alone } = wholeAndAlone(result.outDir, 'names', ['a', 'b', 'c']);
    assert.equal(whole.stdout, 'alpha/3\nfresh True\nfresh\n', whole.stderr);
    assert.equal(alone, 'alpha/3\nfresh True\nfresh\n');
  });

  it('a step that rebinds a function\'s name to its result (score = score(4)) calls the function first', async () => {
    const result = await productionizeCells('rebind', [
      { source: 'def score(x):\n    return x * 2\nprint(score(1))', tags: ['step:a'] },
      { source: 'score = score(4)', tags: ['step:b'] },
      { source: 'print(score)', tags: ['step:c'] },
    ]);
    const { whole, alone } = wholeAndAlone(result.outDir, 'rebind', ['a', 'b', 'c']);
    assert.equal(whole.stdout, '2\n8\n', whole.stderr);
    assert.equal(alone, '2\n8\n');
  });

  it('a class or function defined inside a step prints its name as the notebook did, not run.<locals>', async () => {
    const result = await productionizeCells('local', [
      { source: 'from dataclasses import dataclass\nLIMIT = 0.5\n@dataclass\nclass Result:\n    score: float\n    def passed(self):\n        return self.score > LIMIT\ndef check(x):\n    return x > LIMIT', tags: ['step:a'] },
      { source: 'print(Result(0.7), Result(0.7).passed())\ntry:\n    check()\nexcept TypeError as e:\n    print(e)', tags: ['step:b'] },
    ]);
    const run = spawnSync(PYTHON, ['-m', 'local'], { cwd: result.outDir, encoding: 'utf8' });
    assert.equal(run.stdout, "Result(score=0.7) True\ncheck() missing 1 required positional argument: 'x'\n", run.stderr);
  });

  it('code under `if __name__ == "__main__":` runs, and `__file__` is the notebook at the pipeline root', async () => {
    const result = await productionizeCells('script', [
      { source: 'import os\nif __name__ == "__main__":\n    print("main", os.path.basename(__file__))', tags: ['step:a'] },
      { source: 'def f():\n    pass\nprint(f.__name__)', tags: ['step:b'] },
    ]);
    assert.doesNotMatch(readFileSync(path.join(result.outDir, 'script', 'steps', 'b.py'), 'utf8'), /__name__ = /);
    const run = spawnSync(PYTHON, ['-m', 'script'], { cwd: result.outDir, encoding: 'utf8' });
    assert.equal(run.stdout, 'main script.ipynb\nf\n', run.stderr);
  });

  it('an output that cannot be pickled leaves no half-written artifact for a later --only run', async () => {
    const dir = tempDir();
    writeNotebook(dir, 'lazy.ipynb', [{ source: 'squares = (i * i for i in range(3))', tags: ['step:make'] }, { source: 'print(sum(squares))', tags: ['step:use'] }]);
    const result = await productionize('lazy.ipynb', { cwd: dir });
    const all = spawnSync(PYTHON, ['-m', 'lazy', '--run-id', 'all'], { cwd: result.outDir, encoding: 'utf8' });
    assert.equal(all.stdout, '5\n', all.stderr);
    const saved = readdirSync(path.join(result.outDir, 'artifacts', 'all', 'make'));
    // Hidden files are the step's record and state, never outputs.
    assert.deepEqual(saved.filter((f) => !f.startsWith('.')), []);
    const only = spawnSync(PYTHON, ['-m', 'lazy', '--only', 'use', '--run-id', 'only'], { cwd: result.outDir, encoding: 'utf8' });
    assert.match(only.stderr, /input 'squares' from step 'make' is not in memory and no earlier run has it/);
  });
});

describe('writer', () => {
  it('is all-or-nothing: a failure restores the previous files', async () => {
    const dir = tempDir();
    const out = path.join(dir, 'out');
    mkdirSync(path.join(out, 'pkg'), { recursive: true });
    writeFileSync(path.join(out, 'pkg', 'a.py'), 'old a\n');
    writeFileSync(path.join(out, 'user-notes.md'), 'mine\n');
    // A directory where a file must go makes the second rename fail.
    mkdirSync(path.join(out, 'pkg', 'b.py', 'blocker'), { recursive: true });
    await assert.rejects(
      writeTree(out, [{ path: 'pkg/a.py', content: 'new a\n' }, { path: 'pkg/b.py', content: 'b\n' }, { path: 'pipeline.json', content: '{}' }], [], undefined, new Set()),
    );
    assert.equal(readFileSync(path.join(out, 'pkg', 'a.py'), 'utf8'), 'old a\n');
    assert.equal(readFileSync(path.join(out, 'user-notes.md'), 'utf8'), 'mine\n');
    assert.ok(!existsSync(path.join(out, 'pipeline.json')));
    assert.deepEqual(readdirSync(dir).sort(), ['out'], 'no staging directory left behind');
  });

  it('refuses paths outside the pipeline directory', async () => {
    const dir = tempDir();
    await assert.rejects(writeTree(path.join(dir, 'out'), [{ path: '../escape.py', content: 'x' }], [], undefined, new Set()), /outside the pipeline directory/);
    assert.ok(!existsSync(path.join(dir, 'escape.py')));
  });

  it('removes files a previous generation wrote that the new one does not, keeping others', async () => {
    const dir = tempDir();
    const out = path.join(dir, 'out');
    await writeTree(out, [{ path: 'pkg/steps/old.py', content: 'x' }, { path: 'pipeline.json', content: '{}' }], [], undefined, new Set());
    writeFileSync(path.join(out, 'mine.txt'), 'keep');
    const previous = { files: { 'pkg/steps/old.py': require('crypto').createHash('sha256').update('x').digest('hex') } };
    const r = await writeTree(out, [{ path: 'pkg/steps/new.py', content: 'y' }, { path: 'pipeline.json', content: '{}' }], [], previous, new Set());
    assert.deepEqual(r.removed, ['pkg/steps/old.py']);
    assert.ok(existsSync(path.join(out, 'mine.txt')));
  });
});

describe('data files next to the notebook', () => {
  it('copies files the code reads by relative path, never secrets or files outside the notebook folder', async () => {
    const dir = tempDir();
    mkdirSync(path.join(dir, 'data'));
    writeFileSync(path.join(dir, 'data', 'train.csv'), 'a,b\n1,2\n');
    writeFileSync(path.join(dir, 'credentials.json'), '{"key": "s3cr3t"}');
    writeFileSync(path.join(dir, 'unused.bin'), 'x');
    writeNotebook(dir, 'd.ipynb', [
      { source: 'rows = open("data/train.csv").read().splitlines()\ncreds = open("credentials.json").read()\nother = "../outside.txt"', tags: ['step:load'] },
    ]);
    const result = await productionize('d.ipynb', { cwd: dir });
    assert.ok(existsSync(path.join(result.outDir, 'data', 'train.csv')));
    assert.ok(!existsSync(path.join(result.outDir, 'credentials.json')), 'a secret is not copied');
    assert.ok(!existsSync(path.join(result.outDir, 'unused.bin')));
    assert.ok(result.warnings.some((w) => /credentials\.json.*looks like a secret/.test(w)));
    assert.match(readFileSync(path.join(result.outDir, 'Dockerfile'), 'utf8'), /COPY .*data/);
  });

  it('finds paths built from pieces: os.path.join, pathlib / and f-strings of literals', async () => {
    const dir = tempDir();
    mkdirSync(path.join(dir, 'data', 'raw'), { recursive: true });
    for (const f of ['data/raw/a.csv', 'data/b.csv', 'data/c_v2.csv', 'data/other.csv', 'd.txt']) writeFileSync(path.join(dir, f), 'x');
    const found = await findDataFiles(dir, stringLiterals([
      'DATA = "data"',
      'a = os.path.join(DATA, "raw", "a.csv")',
      'b = Path(DATA) / "b.csv"',
      'name = "c"',
      'c = f"{DATA}/{name}_v2.csv"',
      'd = f"{DATA}/{x + 1}.csv"',
      'e = f"../{DATA}/b.csv"',
    ].join('\n')));
    assert.deepEqual(found.map((f) => f.relPath), ['data/b.csv', 'data/c_v2.csv', 'data/raw/a.csv']);
  });

  it('files a literal glob pattern or a listed directory reaches are copied, within bounds', async () => {
    const dir = tempDir();
    mkdirSync(path.join(dir, 'data', 'raw', 'deep'), { recursive: true });
    mkdirSync(path.join(dir, 'logs'));
    for (const f of ['data/a.csv', 'data/b.csv', 'data/.hidden.csv', 'data/notes.txt', 'data/raw/r1.json', 'data/raw/deep/r2.json', 'logs/x.log', 'top.csv', 'many/keep.txt']) {
      mkdirSync(path.dirname(path.join(dir, f)), { recursive: true });
      writeFileSync(path.join(dir, f), 'x');
    }
    const found = async (code: string) => (await findDataFiles(dir, stringLiterals(code))).map((f) => f.relPath);
    assert.deepEqual(await found('files = glob.glob("data/*.csv")'), ['data/a.csv', 'data/b.csv']);
    assert.deepEqual(await found('files = sorted(Path("data").glob("[a]*.csv"))'), ['data/a.csv']);
    assert.deepEqual(await found('files = list(Path("data").rglob("*.json"))'), ['data/raw/deep/r2.json', 'data/raw/r1.json']);
    assert.deepEqual(await found('for f in os.listdir("logs"): pass\nfor p in Path("data/raw").iterdir(): pass'), ['data/raw/r1.json', 'logs/x.log']);
    assert.deepEqual(await found('top = glob.glob("*.csv")'), ['top.csv']);
    assert.deepEqual(await found('DATA = "data"\nfiles = glob.glob(f"{DATA}/b*.csv")'), ['data/b.csv']);
    assert.deepEqual(await found('print("*" * 40, "**", "../*.csv", "/etc/*")'), []);
    for (let i = 0; i <= MAX_GLOB_FILES; i++) writeFileSync(path.join(dir, 'many', `f${i}.txt`), 'x');
    assert.deepEqual(await found('g = glob.glob("many/*.txt")'), [], 'past the bound the pattern copies nothing rather than part');
  });

  it('a file named among the words of a shell line is copied', async () => {
    const dir = tempDir();
    mkdirSync(path.join(dir, 'data'));
    writeFileSync(path.join(dir, 'data', 'words.txt'), 'x');
    const literals = stringLiterals('print(subprocess.run("wc -l  data/words.txt", shell=True).stdout)');
    assert.deepEqual((await findDataFiles(dir, literals)).map((f) => f.relPath), ['data/words.txt']);
  });
});

describe('a step whose package is missing', () => {
  it('fails as that step, recorded in run.json, and does not stop --only of the others', async () => {
    const result = await productionizeCells('m', [
      { source: 'x = 2\nprint("first", x)', tags: ['step:first'] },
      { source: 'import surely_not_installed_pkg\nprint(surely_not_installed_pkg, x)', tags: ['step:second'] },
    ]);
    const all = spawnSync(PYTHON, ['-m', 'm', '--run-id', 'all'], { cwd: result.outDir, encoding: 'utf8' });
    assert.equal(all.status, 1);
    assert.equal(all.stdout, 'first 2\n');
    const record = JSON.parse(readFileSync(path.join(result.outDir, 'artifacts', 'all', 'run.json'), 'utf8'));
    assert.deepEqual(record.steps.map((s: { name: string; status: string }) => `${s.name}:${s.status}`), ['first:succeeded', 'second:failed']);
    assert.match(record.steps[1].error, /ModuleNotFoundError.*surely_not_installed_pkg/);
    const only = spawnSync(PYTHON, ['-m', 'm', '--only', 'first'], { cwd: result.outDir, encoding: 'utf8' });
    assert.equal(only.status, 0, only.stderr);
  });
});
