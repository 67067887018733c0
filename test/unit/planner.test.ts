import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Plan } from '../../src/core/plan/model';
import { notebookFromCells, planNotebook } from '../../src/core/pipeline';

type Cell = string | { source: string; tags?: string[]; kind?: 'code' | 'markdown' };

function plan(cells: Cell[]): Promise<Plan> {
  return planNotebook(
    notebookFromCells(
      'test.ipynb',
      'python',
      cells.map((c, i) => (typeof c === 'string' ? { kind: 'code' as const, source: c, tags: [], id: `c${i}` } : { kind: c.kind ?? 'code', source: c.source, tags: c.tags ?? [], id: `c${i}` })),
    ),
  );
}

const step = (p: Plan, name: string) => {
  const s = p.steps.find((s) => s.name === name);
  assert.ok(s, `no step ${name} in ${p.steps.map((s) => s.name)}`);
  return s;
};
const errors = (p: Plan) => p.diagnostics.filter((d) => d.severity === 'error');

describe('planner: top-level await', () => {
  it('a step whose cells await is a coroutine; await in shared code is an error', async () => {
    const p = await plan([
      { source: 'import asyncio', tags: ['imports'] },
      { source: 'x = await asyncio.sleep(0, 1)', tags: ['step:a'] },
      { source: 'print(x)', tags: ['step:b'] },
    ]);
    assert.equal(step(p, 'a').awaits, true);
    assert.equal(step(p, 'b').awaits, undefined);
    assert.deepEqual(errors(p), []);
    const shared = await plan([{ source: 'import asyncio\nawait asyncio.sleep(0)', tags: ['imports'] }, { source: 'print(1)', tags: ['step:a'] }]);
    assert.deepEqual(errors(shared).map((d) => [d.cell, /top-level await in shared code/.test(d.message)]), [[0, true]]);
  });
});

describe('planner: process-wide settings', () => {
  it('a step keeps the settings that read only imports, for a later step run on its own', async () => {
    const p = await plan([
      { source: 'import logging\nimport pandas as pd', tags: ['imports'] },
      { source: 'rows = 5\nlogging.basicConfig(level=logging.INFO)\npd.options.display.max_rows = rows\nframe = pd.DataFrame()\nframe.attrs["a"] = 1', tags: ['step:a'] },
      { source: 'print(frame)', tags: ['step:b'] },
    ]);
    assert.deepEqual(step(p, 'a').settings, ['logging.basicConfig(level=logging.INFO)']);
    assert.equal(step(p, 'b').settings, undefined);
  });

  it('settings in a setup cell are the shared module\'s, which imports what its code reads', async () => {
    const p = await plan([
      { source: 'import numpy as np\nimport json\nnp.set_printoptions(precision=2)', tags: ['imports'] },
      { source: 'print(np.array([1 / 3]), json.dumps(1))', tags: ['step:a'] },
    ]);
    assert.deepEqual(p.sharedSettings, ['np.set_printoptions(precision=2)']);
    assert.deepEqual(p.sharedImports.map((i) => i.code), ['import numpy as np', 'import json']);
  });
});

describe('planner: data flow', () => {
  it('takes each input from the nearest earlier producer', async () => {
    const p = await plan([
      { source: 'x = 1', tags: ['step:a'] },
      { source: 'x = x + 1', tags: ['step:b'] },
      { source: 'print(x)', tags: ['step:c'] },
    ]);
    assert.deepEqual(step(p, 'c').inputs, [{ name: 'x', from: 'b' }]);
    assert.deepEqual(step(p, 'b').inputs, [{ name: 'x', from: 'a' }]);
    assert.deepEqual(step(p, 'a').outputs, ['x']);
  });

  it("calling a notebook class's method that changes its instance (directly or through another method) changes the value", async () => {
    const p = await plan([
      { source: 'class Tracker:\n    def __init__(self):\n        self.events = []\n    def _push(self, e):\n        self.events.append(e)\n    def record(self, e):\n        self._push(e)\n    def summary(self):\n        return len(self.events)', tags: ['functions'] },
      { source: 'tracker = Tracker()\nshown = Tracker()', tags: ['step:a'] },
      { source: 'tracker.record("x")\nprint(shown.summary())', tags: ['step:b'] },
      { source: 'print(tracker.summary(), shown.summary())', tags: ['step:c'] },
    ]);
    assert.deepEqual(step(p, 'c').inputs, [{ name: 'tracker', from: 'b' }, { name: 'shown', from: 'a' }]);
  });

  it('a method that calls an inherited one changing the instance changes it too', async () => {
    const p = await plan([
      { source: 'class Base:\n    def keep(self, x):\n        self.items.append(x)', tags: ['functions'] },
      { source: 'class Bag(Base):\n    def __init__(self):\n        self.items = []\n    def keep_twice(self, x):\n        self.keep(x)\n        self.keep(x)', tags: ['functions'] },
      { source: 'bag = Bag()', tags: ['step:a'] },
      { source: 'bag.keep_twice(1)', tags: ['step:b'] },
      { source: 'print(bag.items)', tags: ['step:c'] },
    ]);
    assert.deepEqual(step(p, 'c').inputs, [{ name: 'bag', from: 'b' }]);
  });

  it('outputs only what a later step needs', async () => {
    const p = await plan([{ source: 'a = 1\nunused = 2', tags: ['step:one'] }, { source: 'print(a)', tags: ['step:two'] }]);
    assert.deepEqual(step(p, 'one').outputs, ['a']);
    assert.deepEqual(step(p, 'one').defines.sort(), ['a', 'unused']);
  });

  for (const [what, mutation] of [
    ['subscript assignment', 'df["b"] = 2'],
    ['append', 'df.append(3)'],
    ['inplace=True', 'df.drop(columns=["a"], inplace=True)'],
    ['attribute assignment', 'df.flag = True'],
    ['augmented subscript', 'df["a"] += 1'],
  ]) {
    it(`a mutation (${what}) of a received value makes it an output of the mutating step`, async () => {
      const p = await plan([
        { source: 'df = make()', tags: ['step:load'] },
        { source: mutation, tags: ['step:change'] },
        { source: 'print(df)', tags: ['step:use'] },
      ].map((c, i) => (i === 0 ? { ...c, source: 'def make():\n    return {}\n' + c.source } : c)));
      assert.deepEqual(step(p, 'use').inputs, [{ name: 'df', from: 'change' }]);
      assert.ok(step(p, 'change').outputs.includes('df'));
    });
  }

  it('a notebook function that mutates its argument makes the argument an output of the calling step', async () => {
    const p = await plan([
      { source: 'def clean(frame):\n    frame.dropna(inplace=True)\n\ndef prepare(frame):\n    clean(frame)', tags: ['functions'] },
      { source: 'df = load()\nother = load()', tags: ['step:load'] },
      { source: 'prepare(df)\nclean(frame=other)', tags: ['step:clean'] },
      { source: 'print(df, other)', tags: ['step:use'] },
    ].map((c, i) => (i === 1 ? { ...c, source: 'def load():\n    return {}\n' + c.source } : c)));
    assert.deepEqual(step(p, 'use').inputs, [{ name: 'df', from: 'clean' }, { name: 'other', from: 'clean' }]);
  });

  it('a function that rebinds a global produces it in the step that calls it, and lives in that step', async () => {
    const p = await plan([
      { source: 'total = 0\ndef add(n):\n    global total\n    total += n', tags: ['step:setup'] },
      { source: 'add(2)', tags: ['step:work'] },
      { source: 'print(total)', tags: ['step:show'] },
    ]);
    assert.deepEqual(step(p, 'show').inputs, [{ name: 'total', from: 'work' }]);
    assert.deepEqual(step(p, 'work').localDefinitions.map((d) => d.name), ['add']);
  });

  it('a name used but produced nowhere is an error naming cell and line', async () => {
    const p = await plan([{ source: 'a = 1', tags: ['step:one'] }, { source: 'b = a\nprint(missing)', tags: ['step:two'] }]);
    const [e] = errors(p);
    assert.match(e.message, /'missing'/);
    assert.equal(e.cell, 1);
    assert.equal(e.line, 2);
  });

  it('a name read where the notebook catches NameError is an input when a step made it, and no error when none did', async () => {
    const p = await plan([
      { source: 'try:\n    cache\nexcept NameError:\n    cache = {}\nprint(cache)', tags: ['step:a'] },
      { source: 'try:\n    print(cache, missing)\nexcept Exception as e:\n    print(e)', tags: ['step:b'] },
    ]);
    assert.deepEqual(errors(p), []);
    assert.deepEqual(step(p, 'a').inputs, []);
    assert.deepEqual(step(p, 'b').inputs, [{ name: 'cache', from: 'a' }]);
  });

  it('a name defined only in a later cell is an error (the notebook would fail too)', async () => {
    const p = await plan([{ source: 'print(later)', tags: ['step:one'] }, { source: 'later = 1', tags: ['step:two'] }]);
    assert.equal(errors(p).length, 1);
  });

  it('builtins and imports are never inputs', async () => {
    const p = await plan([{ source: 'import os\nfrom math import pi', tags: ['imports'] }, { source: 'print(len(os.sep), pi, sorted([2, 1]))', tags: ['step:a'] }]);
    assert.deepEqual(errors(p), []);
    assert.deepEqual(step(p, 'a').inputs, []);
    assert.deepEqual(step(p, 'a').imports.map((i) => i.code).sort(), ['from math import pi', 'import os']);
  });

  it('untagged cells continue the step above and names bound earlier in the step are not inputs', async () => {
    const p = await plan([{ source: 'a = 1', tags: ['step:one'] }, 'b = a + 1', { source: 'print(b)', tags: ['step:two'] }]);
    assert.deepEqual(step(p, 'one').inputs, []);
    assert.deepEqual(step(p, 'one').cells.map((c) => c.index), [0, 1]);
    assert.deepEqual(step(p, 'two').inputs, [{ name: 'b', from: 'one' }]);
  });

  it('skip cells are left out entirely', async () => {
    const p = await plan([{ source: 'a = 1', tags: ['step:one'] }, { source: 'print(nonexistent)', tags: ['skip'] }]);
    assert.deepEqual(errors(p), []);
    assert.ok(!step(p, 'one').code.includes('nonexistent'));
  });
});

describe('planner: parameters, metrics, functions, edges', () => {
  it('literal assignments in the parameters cell become params of the steps that read them', async () => {
    const p = await plan([{ source: 'lr = 0.1\nname = "x"\nlayers = [1, 2]', tags: ['parameters'] }, { source: 'print(lr, layers)', tags: ['step:train'] }]);
    assert.deepEqual(p.params, { lr: 0.1, name: 'x', layers: [1, 2] });
    assert.deepEqual(step(p, 'train').params, ['lr', 'layers']);
    assert.deepEqual(step(p, 'train').inputs, []);
  });

  it('metrics cell names become metrics and outputs of their producer', async () => {
    const p = await plan([{ source: 'acc = 0.9', tags: ['step:evaluate'] }, { source: 'acc', tags: ['metrics'] }]);
    assert.deepEqual(step(p, 'evaluate').metrics, ['acc']);
    assert.deepEqual(step(p, 'evaluate').outputs, ['acc']);
  });

  it('a metrics cell that computes says it only names values, instead of calling a function a missing metric', async () => {
    const p = await plan([
      { source: 'from sklearn.metrics import accuracy_score', tags: ['imports'] },
      { source: 'y, pred = [1, 0], [1, 1]', tags: ['step:evaluate'] },
      { source: 'accuracy = accuracy_score(y, pred)\naccuracy', tags: ['metrics'] },
    ]);
    const messages = errors(p).map((d) => d.message);
    assert.equal(messages.length, 1, messages.join('\n'));
    assert.match(messages[0], /metrics cell: 'accuracy_score' is a function or module, not a value/);
  });

  it('pure functions go to the shared module; a function reading step values is defined in the step', async () => {
    const p = await plan([
      { source: 'def double(x):\n    return 2 * x\n', tags: ['functions'] },
      { source: 'factor = 3', tags: ['step:setup'] },
      { source: 'def scale(x):\n    return x * factor\n\nprint(scale(double(1)))', tags: ['step:use'] },
    ]);
    const use = step(p, 'use');
    assert.deepEqual(use.sharedUses, ['double']);
    assert.deepEqual(use.localDefinitions.map((d) => d.name), ['scale']);
    assert.deepEqual(use.inputs, [{ name: 'factor', from: 'setup' }]);
  });

  it('a function defined in the step that calls it brings the imports and shared names its body reads', async () => {
    const p = await plan([
      { source: 'ROUND = 2', tags: ['functions'] },
      { source: 'import math\nBASE = 10\ndef logb(x):\n    return round(math.log(x, BASE), ROUND)', tags: ['step:a'] },
      { source: 'print(logb(1000))', tags: ['step:b'] },
    ]);
    const use = step(p, 'b');
    assert.deepEqual(use.localDefinitions.map((d) => d.name), ['logb']);
    assert.deepEqual(use.imports.map((i) => i.code), ['import math']);
    assert.deepEqual(use.sharedUses, ['ROUND']);
    assert.deepEqual(use.inputs, [{ name: 'BASE', from: 'a' }]);
  });

  it('a step calls the definition of a name made up to its cells, not one a later step makes', async () => {
    const p = await plan([
      { source: 'K = 2\ndef f(x):\n    return x * K\nprint(f(1))', tags: ['step:a'] },
      { source: 'print(f(2))', tags: ['step:b'] },
      { source: 'def f(x):\n    return x + K\nprint(f(1))', tags: ['step:c'] },
    ]);
    assert.match(step(p, 'b').localDefinitions[0]?.code ?? '', /x \* K/);
    assert.match(step(p, 'c').localDefinitions[0]?.code ?? '', /x \+ K/);
  });

  it('a function whose def statement read a value rebound since travels as a value', async () => {
    const p = await plan([
      { source: 'calls = []\nSCALE = 2\ndef scaled(x, k=SCALE):\n    calls.append(x)\n    return x * k', tags: ['step:a'] },
      { source: 'print(scaled(1))', tags: ['step:b'] },
      { source: 'SCALE = 3\nprint(scaled(1), calls)', tags: ['step:c'] },
    ]);
    assert.deepEqual(step(p, 'b').localDefinitions.map((d) => d.name), ['scaled']);
    assert.deepEqual(step(p, 'c').localDefinitions, []);
    // The values its body reads and changes come along: the step returns what it changed.
    const inputs = step(p, 'c').inputs;
    assert.deepEqual(inputs.filter((i) => i.name !== 'SCALE'), [{ name: 'scaled', from: 'a' }, { name: 'calls', from: 'b' }]);
    assert.ok(step(p, 'a').outputs.includes('scaled'));
  });

  it('after:/prev: add edges; Kale prev:a:b names two', async () => {
    const p = await plan([
      { source: 'a = 1', tags: ['step:a'] },
      { source: 'b = 2', tags: ['step:b'] },
      { source: 'c = 3', tags: ['step:c', 'prev:a:b'] },
    ]);
    assert.deepEqual(step(p, 'c').after.sort(), ['a', 'b']);
  });

  it('an after: edge pointing forward reorders execution', async () => {
    const p = await plan([{ source: 'a = 1', tags: ['step:a', 'after:b'] }, { source: 'b = 2', tags: ['step:b'] }]);
    assert.deepEqual(p.steps.map((s) => s.name), ['b', 'a']);
  });

  it('hostile step names become safe identifiers', async () => {
    const p = await plan([{ source: 'a = 1', tags: ['step:../../etc/passwd'] }, { source: 'b = a', tags: ['step:"><script>alert(1)</script>'] }]);
    for (const s of p.steps) assert.match(s.name, /^[a-z_][a-z0-9_]*$/);
    assert.equal(new Set(p.steps.map((s) => s.name)).size, 2);
  });

  it('a step with only imports and definitions is dropped, its definitions kept', async () => {
    const p = await plan([{ source: 'import math\ndef f():\n    return math.pi\n', tags: ['step:defs'] }, { source: 'print(f())', tags: ['step:report'] }]);
    assert.deepEqual(p.steps.map((s) => s.name), ['report']);
    assert.deepEqual(step(p, 'report').sharedUses, ['f']);
  });

  it('plans a 5,000-cell notebook without going quadratic', async () => {
    const cells: Cell[] = [];
    for (let i = 0; i < 5000; i++) cells.push({ source: `v${i} = ${i === 0 ? 0 : `v${i - 1}`} + 1`, tags: i % 10 === 0 ? [`step:s${i}`] : [] });
    const p = await plan(cells);
    assert.equal(p.steps.length, 500);
    assert.deepEqual(errors(p), []);
    assert.deepEqual(step(p, 's4990').inputs, [{ name: 'v4989', from: 's4980' }]);
  });
});

describe('planner: imports inside step cells', () => {
  it("a step keeps its own cells' imports even when it binds them before use", async () => {
    const p = await plan([{ source: 'import json\nx = json.dumps([1])', tags: ['step:a'] }, { source: 'print(x)', tags: ['step:b'] }]);
    assert.deepEqual(step(p, 'a').imports.map((i) => i.code), ['import json']);
  });
});

describe('planner: rebinding builtins and module attributes', () => {
  it('a builtin name rebound by an earlier step is an input, not the builtin', async () => {
    const p = await plan([{ source: 'max = 3', tags: ['step:a'] }, { source: 'print(max)', tags: ['step:b'] }]);
    assert.deepEqual(step(p, 'b').inputs, [{ name: 'max', from: 'a' }]);
  });

  it('setting a module attribute does not turn the module into a step value', async () => {
    const p = await plan([{ source: 'import json', tags: ['imports'] }, { source: 'json.x = 1', tags: ['step:a'] }, { source: 'print(json.dumps(1))', tags: ['step:b'] }]);
    assert.deepEqual(step(p, 'b').inputs, []);
    assert.deepEqual(errors(p), []);
  });

  it('a function using a shell command gets subprocess in the shared module', async () => {
    const p = await plan([{ source: 'def ls():\n    !echo hi\n', tags: ['functions'] }, { source: 'ls()', tags: ['step:a'] }]);
    assert.deepEqual(errors(p), []);
    assert.ok(p.sharedImports.some((i) => i.names.includes('subprocess')));
  });
});

describe('planner: notebook order', () => {
  it('a step tag that comes back after another step starts a step of its own, so reads and prints keep the notebook order', async () => {
    const p = await plan([
      { source: 'values = [3, 1, 2]', tags: ['step:make'] },
      { source: 'print(values)', tags: ['step:show'] },
      { source: 'values.sort()\nprint(values)', tags: ['step:make'] },
    ]);
    assert.deepEqual(p.steps.map((s) => s.name), ['make', 'show', 'make_2']);
    assert.deepEqual(step(p, 'show').inputs, [{ name: 'values', from: 'make' }]);
    assert.deepEqual(step(p, 'make_2').inputs, [{ name: 'values', from: 'make' }]);
    assert.match(p.diagnostics.find((d) => d.cell === 2)?.message ?? '', /continues after another step/);
  });

  it('names no cell defines are taken from a star import run before them', async () => {
    const p = await plan([
      { source: 'from math import *', tags: ['step:a'] },
      { source: 'print(ceil(pi))', tags: ['step:b'] },
      { source: 'print(floor(2.5))\nfrom statistics import *', tags: ['step:c'] },
    ]);
    assert.deepEqual(errors(p), []);
    assert.deepEqual(step(p, 'b').imports.map((i) => i.code), ['from math import *']);
    assert.deepEqual(step(p, 'c').imports.map((i) => i.code).sort(), ['from math import *', 'from statistics import *']);
    const without = await plan([{ source: 'print(nowhere)', tags: ['step:a'] }, { source: 'from math import *', tags: ['step:b'] }]);
    assert.match(errors(without)[0]?.message ?? '', /'nowhere' is used but never defined/);
  });

  it('a shared value a notebook function changes in place is imported by the step that returns it', async () => {
    const p = await plan([
      { source: 'CALLS = []\ndef track(x):\n    CALLS.append(x)\n    return x', tags: ['functions'] },
      { source: 'y = track(1)', tags: ['step:a'] },
      { source: 'print(CALLS, y)', tags: ['step:b'] },
    ]);
    assert.deepEqual(step(p, 'a').outputs.sort(), ['CALLS', 'y']);
    assert.ok(step(p, 'a').sharedUses.includes('CALLS'), step(p, 'a').sharedUses.join(', '));
  });

  it('marks steps that read __name__ or __file__, which meant the notebook', async () => {
    const p = await plan([{ source: 'if __name__ == "__main__":\n    print(__file__)', tags: ['step:a'] }, { source: 'print(f.__name__)', tags: ['step:b'] }]);
    assert.deepEqual(step(p, 'a').notebookGlobals, ['__file__', '__name__']);
    assert.equal(step(p, 'b').notebookGlobals, undefined);
  });
});

describe('re-planning', () => {
  it('analyses only the cells whose source changed', async () => {
    const { memoizeAnalyzer } = await import('../../src/core/analysis/memo');
    const { createPythonAnalyzer } = await import('../../src/core/analysis/python');
    const { buildPlan } = await import('../../src/core/plan/planner');
    const real = await createPythonAnalyzer();
    const seen: string[] = [];
    const counting = { language: 'python', analyzeCell: (source: string, cell: number) => (seen.push(source), real.analyzeCell(source, cell)) };
    const analyzer = memoizeAnalyzer(counting);
    const nb = (second: string) =>
      notebookFromCells('t.ipynb', 'python', [
        { kind: 'code', source: 'a = 1', tags: ['step:one'] },
        { kind: 'code', source: second, tags: ['step:two'] },
      ]);
    const first = buildPlan(nb('b = a + 1'), analyzer);
    const again = buildPlan(nb('b = a + 2'), analyzer);
    assert.deepEqual(seen, ['a = 1', 'b = a + 1', 'b = a + 2']);
    assert.deepEqual(again.steps.map((s) => s.inputs), first.steps.map((s) => s.inputs));
    assert.match(again.steps[1].code, /a \+ 2/);
  });
});

describe('planner: IPython history names', () => {
  it('explains that _ and In exist only in a running notebook, and a notebook that binds _ itself plans', async () => {
    const p = await plan([
      { source: 'df = [3, 1]\nsorted(df)', tags: ['step:a'] },
      { source: 'top = _[0]\ncode = In[1]', tags: ['step:b'] },
    ]);
    const [underscore, history] = errors(p);
    assert.match(underscore.message, /name '_' is used but never defined .*output history.*assign the value to a name/);
    assert.equal(underscore.cell, 1);
    assert.match(history.message, /'In' is IPython's input history/);
    const ok = await plan([
      { source: 'for _ in range(2):\n    pass\n_ = 5', tags: ['step:a'] },
      { source: 'print(_)', tags: ['step:b'] },
    ]);
    assert.deepEqual(errors(ok), []);
  });
});

describe('planner: nothing to run', () => {
  it('warns when no step is left, and does not claim a notebook without code became one step', async () => {
    for (const cells of [[], [{ source: '# Title', kind: 'markdown' as const }], ['import os\n\ndef f():\n    return os.sep']]) {
      const p = await plan(cells);
      assert.equal(p.steps.length, 0);
      assert.ok(p.diagnostics.some((d) => d.severity === 'warning' && /no steps/.test(d.message)), JSON.stringify(p.diagnostics));
    }
    const empty = await plan([{ source: '# Title', kind: 'markdown' }]);
    assert.ok(!empty.diagnostics.some((d) => /becomes one step/.test(d.message)));
  });
});
