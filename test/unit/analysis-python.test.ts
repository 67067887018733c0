/**
 * Python cell analysis: scoping. Each case is a cell and the facts the planner relies on;
 * only the fields a case names are checked.
 */
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { createPythonAnalyzer } from '../../src/core/analysis/python/index';
import type { CellAnalysis, CellAnalyzer } from '../../src/core/analysis/types';

interface Expected {
  uses?: string[];
  defines?: string[];
  deletes?: string[];
  mutates?: string[];
  globalWrites?: string[];
  /** Definition name -> the module names it reads. */
  definitions?: Record<string, string[]>;
  imports?: string[][];
  literals?: Record<string, unknown>;
}

const CASES: Array<[string, string, Expected]> = [
  // ---- top-level reads and bindings
  ['a plain read is a use', 'print(x)', { uses: ['x'], defines: [] }],
  ['builtins are not uses', 'print(len(range(3)), sorted([]), Exception, __name__)', { uses: [] }],
  ['IPython display and get_ipython are builtins', 'display(df)\nget_ipython()', { uses: ['df'] }],
  ['a name bound earlier in the cell is not a use', 'x = 1\nprint(x)', { uses: [], defines: ['x'] }],
  ['use before definition in the same cell is a use', 'print(x)\nx = 1', { uses: ['x'], defines: ['x'] }],
  ['the right side is read before the target binds', 'x = x + 1', { uses: ['x'], defines: ['x'] }],
  ['augmented assignment is a use and a define', 'total += 1', { uses: ['total'], defines: ['total'] }],
  ['augmented assignment after a binding is no use', 'n = 0\nn += 1', { uses: [], defines: ['n'] }],
  ['tuple targets bind every name', 'a, (b, c) = t', { uses: ['t'], defines: ['a', 'b', 'c'] }],
  ['list and star targets bind', '[first, *rest] = items', { uses: ['items'], defines: ['first', 'rest'] }],
  ['chained assignment binds all targets', 'a = b = compute()', { uses: ['compute'], defines: ['b', 'a'] }],
  ['attribute target root is read, not bound', 'obj.x = 2', { uses: ['obj'], defines: [], mutates: ['obj'] }],
  ['subscript target reads the key expression', 'd[key] = value', { uses: ['d', 'key', 'value'], defines: [], mutates: ['d'] }],
  ['annotated assignment binds and reads the annotation', 'x: MyType = 1', { uses: ['MyType'], defines: ['x'] }],
  ['a bare annotation binds nothing at module level', 'x: int', { uses: [], defines: [] }],
  ['for target binds, iterable is read', 'for i, row in enumerate(rows):\n    print(i, row)', { uses: ['rows'], defines: ['i', 'row'] }],
  ['for else clause is walked', 'for i in r:\n    pass\nelse:\n    done = True', { uses: ['r'], defines: ['i', 'done'] }],
  ['while condition and body', 'while k < limit:\n    k = step(k)', { uses: ['k', 'limit', 'step'], defines: ['k'] }],
  ['with-as binds', 'with open(path) as fh:\n    text = fh.read()', { uses: ['path'], defines: ['fh', 'text'] }],
  ['parenthesised with items bind', "with (open(a) as f, open(b) as g):\n    pass", { uses: ['a', 'b'], defines: ['f', 'g'] }],
  ['except-as binds, the exception type is read', 'try:\n    run()\nexcept MyError as err:\n    log(err)', { uses: ['run', 'MyError', 'log'], defines: ['err'] }],
  ['conditional binding counts as binding', 'if flag:\n    y = 1\nprint(y)', { uses: ['flag'], defines: ['y'] }],
  ['elif and else branches are walked', 'if a:\n    r = 1\nelif b:\n    r = c\nelse:\n    s = d', { uses: ['a', 'b', 'c', 'd'], defines: ['r', 's'] }],
  ['walrus binds at top level', 'if (n := len(data)) > 3:\n    print(n)', { uses: ['data'], defines: ['n'] }],
  ['del deletes and needs the name', 'del old', { uses: ['old'], deletes: ['old'], defines: [] }],
  ['del of a name bound in the cell is no use', 'tmp = 1\ndel tmp', { uses: [], deletes: ['tmp'], defines: [] }],
  ['rebinding after del defines again', 'del x\nx = 2', { uses: ['x'], deletes: [], defines: ['x'] }],
  ['del of a subscript mutates', 'del cache[key]', { uses: ['cache', 'key'], mutates: ['cache'], deletes: [] }],
  ['global at module level changes nothing', 'global g\ng = 1', { defines: ['g'] }],
  ['each use is reported once, at its first occurrence', 'f(a)\nf(a)', { uses: ['f', 'a'] }],
  ['assert, raise and return values are read', "assert ok, msg\nraise Err(why)", { uses: ['ok', 'msg', 'Err', 'why'] }],
  ['keyword argument names are not reads', 'f(x=1, y=v)', { uses: ['f', 'v'] }],
  ['attribute names are not reads', 'print(df.shape.count)', { uses: ['df'] }],
  ['f-string fields are read', "print(f\"{name!r:>{width}} {d['k']}\")", { uses: ['name', 'width', 'd'] }],
  ['nested f-strings with other quotes', "s = f\"{'a' + f'{inner}'}\"", { uses: ['inner'], defines: ['s'] }],
  ['star arguments are read', 'f(*args, **kwargs)', { uses: ['f', 'args', 'kwargs'] }],
  ['slices and ellipsis are read', 'y = arr[lo:hi, ..., ::step]', { uses: ['arr', 'lo', 'hi', 'step'], defines: ['y'] }],
  ['async for and await at top level', 'async for item in stream():\n    await handle(item)', { uses: ['stream', 'handle'], defines: ['item'] }],

  // ---- comprehensions
  ['comprehension targets do not leak', '[v * 2 for v in values]\nprint(v)', { uses: ['values', 'v'], defines: [] }],
  ['comprehension condition reads module names', '[v for v in values if v > cutoff]', { uses: ['values', 'cutoff'] }],
  ['nested comprehension clauses see earlier targets', '[c for row in grid for c in row]', { uses: ['grid'], defines: [] }],
  ['dict comprehension', '{k: v for k, v in pairs.items()}', { uses: ['pairs'] }],
  ['generator expression in a call', 'total = sum(x for x in xs)', { uses: ['xs'], defines: ['total'] }],
  ['walrus in a comprehension binds in the enclosing scope', '[y for x in data if (y := f(x))]\nprint(y)', { uses: ['data', 'f'], defines: ['y'] }],
  ['comprehension reading a name bound earlier in the cell', 'k = 2\n[k * v for v in vs]', { uses: ['vs'], defines: ['k'] }],

  // ---- lambdas
  ['lambda parameters are local', 'f = lambda a, b=1, *c, **d: a + b', { uses: [], defines: ['f'] }],
  ['lambda body reads a module name', 'f = lambda a: a * scale', { uses: ['scale'], defines: ['f'] }],
  ['lambda body reading a name the cell binds later is no use', 'f = lambda: later\nlater = 1', { uses: [], defines: ['f', 'later'] }],
  ['lambda defaults are read at definition', 'f = lambda a=default: a', { uses: ['default'] }],

  // ---- functions
  ['def is a definition, not a define', 'def f():\n    pass', { defines: [], definitions: { f: [] } }],
  ['function globals are listed on the definition, not as uses', 'def f(a):\n    return a + offset', { uses: [], definitions: { f: ['offset'] } }],
  ['parameters of every kind are local', 'def f(a, /, b, *args, c, d=1, **kw):\n    return a, b, args, c, d, kw', { definitions: { f: [] } }],
  ['typed parameters are local, annotations read at definition', 'def f(a: Frame, b: int = 1) -> Result:\n    return a', { uses: ['Frame', 'Result'], definitions: { f: ['Frame', 'Result'] } }],
  ['defaults are evaluated at definition time', 'def f(a=DEFAULT):\n    return a', { uses: ['DEFAULT'], definitions: { f: ['DEFAULT'] } }],
  ['decorators are evaluated at definition time', '@cache(size)\ndef f():\n    pass', { uses: ['cache', 'size'], definitions: { f: ['cache', 'size'] } }],
  ['a local assigned anywhere in the function is local everywhere in it', 'def f():\n    print(x)\n    x = 1', { definitions: { f: [] } }],
  ['locals, for targets and with targets of a function', 'def f(path):\n    with open(path) as fh:\n        for line in fh:\n            last = line\n    return last', { definitions: { f: [] } }],
  ['imports inside a function are local', 'def f():\n    import json\n    return json.dumps(data)', { imports: [], definitions: { f: ['data'] } }],
  ['global declaration makes an assignment a global write', 'def bump():\n    global counter\n    counter += 1', { globalWrites: ['counter'], defines: [], definitions: { bump: ['counter'] } }],
  ['global declaration without assignment is no write', 'def show():\n    global counter\n    print(counter)', { globalWrites: [], definitions: { show: ['counter'] } }],
  ['nested function reads the enclosing local (closure)', 'def outer():\n    k = 1\n    def inner():\n        return k + g\n    return inner', { definitions: { outer: ['g'] } }],
  ['nonlocal resolves to the enclosing function', 'def outer():\n    v = 0\n    def inner():\n        nonlocal v\n        v += 1\n    return inner', { definitions: { outer: [] }, globalWrites: [] }],
  ['a function calling itself reads its own name', 'def fib(n):\n    return n if n < 2 else fib(n - 1) + fib(n - 2)', { definitions: { fib: ['fib'] } }],
  ['a function calling another definition of the cell', 'def a():\n    return b()\ndef b():\n    return 1', { definitions: { a: ['b'], b: [] } }],
  ['calling a definition at top level is no use', 'def f():\n    return 1\nf()', { uses: [], definitions: { f: [] } }],
  ['calling a definition before it exists is a use', 'f()\ndef f():\n    return 1', { uses: ['f'] }],
  ['comprehension inside a function sees function locals', 'def f(items):\n    return [i * w for i in items]', { definitions: { f: ['w'] } }],
  ['walrus in a comprehension inside a function is a function local', 'def f(xs):\n    [y for x in xs if (y := x)]\n    return y', { definitions: { f: [] } }],
  ['lambda inside a function closes over its locals', 'def f(k):\n    return lambda x: x * k * m', { definitions: { f: ['m'] } }],
  ['async def with await', 'async def f(url):\n    async with session.get(url) as r:\n        return await r.json()', { definitions: { f: ['session'] } }],
  ['builtins are not function globals', 'def f(xs):\n    return len(xs) + sum(xs)', { definitions: { f: [] } }],
  ['a builtin the cell rebinds is a function global', 'input = "data.csv"\ndef f():\n    return input', { definitions: { f: ['input'] }, defines: ['input'] }],
  ['a def inside an if is a binding of the cell', 'if fast:\n    def f():\n        return helper()', { uses: ['fast', 'helper'], defines: ['f'] }],
  ['del inside a function makes the name local', 'def f():\n    del x', { definitions: { f: [] } }],

  // ---- classes
  ['class is a definition; bases are read at definition', 'class A(Base, metaclass=Meta):\n    pass', { uses: ['Base', 'Meta'], definitions: { A: ['Base', 'Meta'] } }],
  ['class body reads are the class globals', 'class A:\n    size = DEFAULT_SIZE', { uses: [], definitions: { A: ['DEFAULT_SIZE'] } }],
  ['class scope is not visible in methods', 'class A:\n    k = 1\n    def m(self):\n        return k', { definitions: { A: ['k'] } }],
  ['class attributes are visible later in the class body', 'class A:\n    k = 1\n    j = k + 1', { definitions: { A: [] } }],
  ['methods read module names', 'class A:\n    def m(self):\n        return np.zeros(self.n)', { definitions: { A: ['np'] } }],
  ['a method referring to its class reads the module name', 'class Node:\n    def copy(self):\n        return Node()', { definitions: { Node: ['Node'] } }],
  ['comprehension in a class body does not see class names', 'class A:\n    k = 2\n    v = [k * i for i in range(3)]', { definitions: { A: ['k'] } }],
  ['decorated methods and properties', 'class A:\n    @property\n    def x(self):\n        return self._x\n    @cached(ttl)\n    def y(self):\n        return 1', { definitions: { A: ['cached', 'ttl'] } }],

  // ---- match
  ['match capture patterns bind', 'match cmd:\n    case [op, *args]:\n        run(op, args)', { uses: ['cmd', 'run'], defines: ['op', 'args'] }],
  ['match value and class patterns are read, wildcard binds nothing', 'match p:\n    case Color.RED:\n        pass\n    case Point(x=0, y=yy):\n        pass\n    case _:\n        pass', { uses: ['p', 'Color', 'Point'], defines: ['yy'] }],
  ['match as-pattern, mapping rest and guard', "match m:\n    case {'k': v, **rest} if v > lim:\n        pass\n    case str() as s:\n        pass", { uses: ['m', 'lim'], defines: ['v', 'rest', 's'] }],
  ['match capture inside a function is local', 'def f(c):\n    match c:\n        case [x]:\n            return x', { definitions: { f: [] } }],

  // ---- mutation of received values
  ['method call in the mutating set', 'results.append(1)', { uses: ['results'], mutates: ['results'] }],
  ['estimator fit mutates', 'model.fit(X, y)', { uses: ['model', 'X', 'y'], mutates: ['model'] }],
  ['inplace=True mutates the receiver', "df.drop(columns=['a'], inplace=True)", { uses: ['df'], mutates: ['df'] }],
  ['inplace=False does not', "df2 = df.drop(columns=['a'], inplace=False)", { mutates: [] }],
  ['a chained receiver mutates the root', "df['a'].fillna(0, inplace=True)\ncfg.section.update(x=1)", { mutates: ['df', 'cfg'] }],
  ['attribute augmented assignment mutates', 'stats.count += 1', { uses: ['stats'], mutates: ['stats'] }],
  ['loc assignment mutates', "df.loc[df.a > 0, 'b'] = 1", { mutates: ['df'] }],
  ['random.shuffle mutates its argument (not the module)', 'import random\nrandom.shuffle(deck)', { mutates: ['deck'] }],
  ["a random generator's draws change its state", 'rng.normal(size=3)\nrng.integers(0, 9)\ngen.random()', { mutates: ['rng', 'gen'] }],
  ["a method of a notebook class is recorded, not judged, at top level", 'tracker.record(1)', { mutates: [] }],
  ['numpy writes into its out= argument, each of a tuple', 'np.clip(arr, 0, 1, out=arr)\nnp.divmod(a, b, out=(q, r))', { mutates: ['arr', 'q', 'r'] }],
  ['torch in-place methods (trailing underscore) mutate', 'weights.add_(delta)', { mutates: ['weights'] }],
  ['a value the cell created itself is not a mutation of a received value', "df = load()\ndf['a'] = 1\nitems = []\nitems.append(2)", { mutates: [], defines: ['df', 'items'] }],
  ['non-mutating calls are not mutation', 'print(df.head())\ny = model.predict(X)', { mutates: [] }],
  ['mutation inside a loop at top level counts', 'for k in keys:\n    table[k] = 0', { mutates: ['table'] }],
  ['a loop variable over a received collection mutates the collection', 'for df in frames:\n    df.dropna(inplace=True)', { mutates: ['frames'], defines: ['df'] }],
  ['enumerate and zip keep the link to their arguments', 'for i, m in enumerate(models):\n    m.fit(X)\nfor a, b in zip(xs, ys):\n    a.append(b)', { mutates: ['models', 'xs', 'ys'] }],
  ['an alias of part of a received value', "cfg = settings['db']\ncfg['host'] = 'x'", { mutates: ['settings'], defines: ['cfg'] }],
  ['a call result is not an alias (it may be a copy)', "X = df.copy()\nX['a'] = 1", { mutates: [], uses: ['df'] }],
  ['rebinding ends an alias', "row = table[0]\nrow = {}\nrow['a'] = 1", { mutates: [] }],
  ['mutation inside a function body is not a top-level mutation', 'def f():\n    registry.append(1)', { mutates: [], definitions: { f: ['registry'] } }],

  // ---- imports
  ['import binds without defining', 'import numpy as np\nx = np.zeros(3)', { uses: [], defines: ['x'], imports: [['np']] }],
  ['dotted import binds the top package', 'import os.path\nos.path.join("a")', { uses: [], imports: [['os']] }],
  ['from-import with aliases', 'from a.b import c, d as e', { imports: [['c', 'e']] }],
  ['a name used before its import in the cell is a use', 'np.zeros(1)\nimport numpy as np', { uses: ['np'] }],
  ['try/except ImportError moves as one import', 'try:\n    import torch\nexcept ImportError:\n    torch = None', { imports: [['torch']], defines: [] }],

  // ---- literals
  ['literals of every JSON kind', "a = 1\nb = -2.5\nc = 'x'\nd = None\ne = True\nf = [1, (2, 3)]\ng = {'k': [1]}\nh = 1_000", {
    literals: { a: 1, b: -2.5, c: 'x', d: null, e: true, f: [1, [2, 3]], g: { k: [1] }, h: 1000 },
  }],
  ['non-literals are not literals', "a = f()\nb = x\nc = f'{x}'\nd = {1, 2}\ne = b'x'\nf = 1j", { literals: {} }],
  ['a later non-literal assignment removes the literal', 'a = 1\na = load()', { literals: {} }],
  ['escapes, raw strings and implicit concatenation', "a = 'tab\\tq\\'s'\nb = r'c:\\dir'\nc = ('x' 'y')", { literals: { a: "tab\tq's", b: 'c:\\dir', c: 'xy' } }],
];

let analyzer: CellAnalyzer;
before(async () => {
  analyzer = await createPythonAnalyzer();
});

function check(code: string, expected: Expected): CellAnalysis {
  const result = analyzer.analyzeCell(code, 0);
  assert.deepEqual(result.diagnostics.filter((d) => d.severity === 'error'), [], 'unexpected syntax error');
  if (expected.uses) assert.deepEqual(result.uses.map((u) => u.name), expected.uses, 'uses');
  if (expected.defines) assert.deepEqual(result.defines, expected.defines, 'defines');
  if (expected.deletes) assert.deepEqual(result.deletes, expected.deletes, 'deletes');
  if (expected.mutates) assert.deepEqual(result.mutates, expected.mutates, 'mutates');
  if (expected.globalWrites) assert.deepEqual(result.globalWrites, expected.globalWrites, 'globalWrites');
  if (expected.imports) assert.deepEqual(result.imports.map((i) => i.names), expected.imports, 'imports');
  if (expected.literals) assert.deepEqual(result.literals, expected.literals, 'literals');
  if (expected.definitions) {
    const actual = Object.fromEntries(result.definitions.map((d) => [d.name, d.globals.map((g) => g.name)]));
    assert.deepEqual(actual, expected.definitions, 'definitions');
  }
  return result;
}

describe('Python analysis: scoping', () => {
  for (const [name, code, expected] of CASES) {
    it(name, () => {
      check(code, expected);
    });
  }

  it('has at least 60 scoping cases', () => {
    assert.ok(CASES.length >= 60, `${CASES.length} cases`);
  });
});

describe('Python analysis: body, imports and definitions', () => {
  it('removes top-level imports and definitions from the body and keeps the rest in order', () => {
    const result = analyzer.analyzeCell('import os\n\nx = 1\n\n\n@dec\ndef f():\n    return x\n\nprint(f())\nimport sys; y = 2\n', 0);
    assert.equal(result.body, 'x = 1\n\nprint(f())\ny = 2');
    assert.deepEqual(result.imports.map((i) => i.code), ['import os', 'import sys']);
    assert.equal(result.definitions[0].code, '@dec\ndef f():\n    return x');
    assert.equal(result.definitions[0].line, 6);
    assert.equal(result.definitions[0].kind, 'function');
  });

  it('a definition knows where it stood in the body and what its def statement itself reads', () => {
    const result = analyzer.analyzeCell('SCALE = 2\n\n@register(REG)\ndef scaled(x, k=SCALE):\n    return x * k * OTHER\n\nclass C(Base):\n    size = SIZE\n    def m(self):\n        return LATER\nprint(scaled(1))', 0);
    assert.equal(result.body, 'SCALE = 2\n\nprint(scaled(1))');
    assert.deepEqual(result.definitions.map((d) => [d.name, d.bodyLine, d.definitionReads]), [
      ['scaled', 2, ['register', 'REG', 'SCALE']],
      ['C', 2, ['Base', 'SIZE']],
    ]);
  });

  it('lists the names decorators that may act start from, known wrappers left out', () => {
    const result = analyzer.analyzeCell('@Features.register("x")\n@functools.lru_cache(maxsize=2)\ndef f():\n    pass\n@dataclass\nclass A:\n    x: int\n@app.route("/")\n@property\ndef g():\n    pass', 0);
    assert.deepEqual(result.definitions.map((d) => [d.name, d.decoratorRoots]), [['f', ['Features']], ['A', undefined], ['g', ['app']]]);
  });

  it('a class made by namedtuple/Enum under its own name is a class definition; other calls stay in the body', () => {
    const result = analyzer.analyzeCell('from collections import namedtuple\nRow = namedtuple("Row", FIELDS)\nColor = enum.Enum("Color", "RED GREEN")\nOther = namedtuple("Renamed", "a")\nrows = [Row(1)]', 0);
    assert.deepEqual(result.definitions.map((d) => [d.name, d.kind, d.globals.map((g) => g.name)]), [['Row', 'class', ['namedtuple', 'FIELDS']], ['Color', 'class', ['enum']]]);
    assert.equal(result.body, 'Other = namedtuple("Renamed", "a")\nrows = [Row(1)]');
    assert.deepEqual(result.defines, ['Other', 'rows']);
  });

  it('a top-level globals() call reads the notebook namespace; one in a function or of a rebound name does not', () => {
    assert.equal(analyzer.analyzeCell('print("%(x)s" % globals())', 0).readsNamespace, true);
    assert.equal(analyzer.analyzeCell('ok = [k for k in globals()]', 0).readsNamespace, true);
    assert.equal(analyzer.analyzeCell('def f():\n    return globals()', 0).readsNamespace, undefined);
    assert.equal(analyzer.analyzeCell('globals = dict\nglobals()', 0).readsNamespace, undefined);
  });

  it('comment lines right above a definition move with it', () => {
    const result = analyzer.analyzeCell('x = 1  # kept\n# not about f\n\n# Loads the data.\n# Second line.\ndef f():\n    pass\n# trailing note', 0);
    assert.equal(result.definitions[0].code, '# Loads the data.\n# Second line.\ndef f():\n    pass');
    assert.equal(result.definitions[0].line, 6);
    assert.equal(result.body, 'x = 1  # kept\n# not about f\n\n# trailing note');
  });

  it('keeps blank lines inside a multi-line string of the body', () => {
    const result = analyzer.analyzeCell('import os\ntext = """a\n\n\nb"""\n', 0);
    assert.equal(result.body, 'text = """a\n\n\nb"""');
  });

  it('an import with a fallback for its absence is optional; the fallback and other handlers are not', () => {
    const optional = (code: string) => analyzer.analyzeCell(code, 0).imports.map((i) => i.optional ?? []);
    assert.deepEqual(optional('try:\n    import ujson as json\nexcept ImportError:\n    import json'), [['ujson']]);
    assert.deepEqual(optional('try:\n    from sklearn.externals import joblib\nexcept (ModuleNotFoundError, AttributeError):\n    import joblib'), [['sklearn']]);
    assert.deepEqual(optional('try:\n    import tqdm\nexcept:\n    tqdm = None'), [['tqdm']]);
    assert.deepEqual(optional('try:\n    import orjson\nexcept ValueError:\n    orjson = None'), [[]]);
    assert.deepEqual(optional('import pandas as pd'), [[]]);
  });

  it('an empty body is the empty string', () => {
    assert.equal(analyzer.analyzeCell('import os\n\ndef f():\n    pass\n', 0).body, '');
    assert.equal(analyzer.analyzeCell('', 0).body, '');
  });

  it('import modules: top-level packages, relative imports excluded, __future__ needs nothing', () => {
    const result = analyzer.analyzeCell(
      'import sklearn.linear_model as lm\nfrom PIL import Image\nfrom . import local\nfrom .pkg import thing\nfrom __future__ import annotations\n',
      0,
    );
    assert.deepEqual(result.imports.map((i) => [i.names, i.modules]), [
      [['lm'], ['sklearn']],
      [['Image'], ['PIL']],
      [['local'], []],
      [['thing'], []],
      [[], []],
    ]);
  });

  it('an import block keeps its whole statement as the import code', () => {
    const code = 'try:\n    import ujson as json\nexcept ImportError:\n    import json';
    const result = analyzer.analyzeCell(code, 0);
    assert.deepEqual(result.imports, [{ names: ['json'], modules: ['ujson', 'json'], optional: ['ujson'], code, line: 1 }]);
    assert.equal(result.body, '');
  });

  it('an if/else of imports is one import block', () => {
    const code = 'if GPU:\n    import cupy as xp\nelse:\n    import numpy as xp';
    const result = analyzer.analyzeCell(code, 0);
    assert.deepEqual(result.imports.map((i) => [i.names, i.modules]), [[['xp'], ['cupy', 'numpy']]]);
    assert.deepEqual(result.uses.map((u) => u.name), ['GPU']);
  });

  it('a try that does more than import stays in the body', () => {
    const result = analyzer.analyzeCell('try:\n    import yaml\n    cfg = yaml.safe_load(text)\nexcept ImportError:\n    cfg = {}', 0);
    assert.match(result.body, /^try:/);
    assert.deepEqual(result.imports.map((i) => i.names), [['yaml']]);
    assert.deepEqual(result.defines, ['cfg']);
  });

  it('a star import is reported', () => {
    const result = analyzer.analyzeCell('from math import *', 0);
    assert.equal(result.diagnostics[0].severity, 'warning');
    assert.match(result.diagnostics[0].message, /star import/);
    assert.deepEqual(result.imports[0].modules, ['math']);
  });

  it('with `from __future__ import annotations`, annotations are not read', () => {
    const result = analyzer.analyzeCell('from __future__ import annotations\ndef f(a: Frame) -> Result:\n    return a', 0);
    assert.deepEqual(result.uses, []);
    assert.deepEqual(result.definitions[0].globals, []);
  });

  it('builtins the cell reads are listed apart, for notebooks that rebind them', () => {
    const result = analyzer.analyzeCell('model.fit(input)\nprint(max(x))\nid = 3\nprint(id)', 0);
    assert.deepEqual(result.uses.map((u) => u.name), ['model', 'x']);
    assert.deepEqual(result.builtinUses?.map((u) => [u.name, u.line]), [['input', 1], ['print', 2], ['max', 2]]);
  });

  it('top-level await, async for and async with mark the cell as awaiting (IPython runs it on an event loop)', () => {
    for (const code of ['r = await fetch(u)', 'async for x in feed():\n    print(x)', 'if go:\n    async with lock:\n        pass']) {
      const result = analyzer.analyzeCell(code, 0);
      assert.equal(result.awaits, true, code);
      assert.deepEqual(result.diagnostics, [], code);
    }
    for (const code of ['async def f():\n    await g()', 'h = lambda: [x async for x in g()]', 'for x in y:\n    pass']) {
      assert.equal(analyzer.analyzeCell(code, 0).awaits, undefined, code);
    }
  });

  it('statements that configure the process are listed with the names they read', () => {
    const result = analyzer.analyzeCell(
      [
        'logging.basicConfig(level=logging.INFO, stream=sys.stdout)',
        'pd.options.display.max_rows = limit',
        'logging.getLogger("etl").setLevel("DEBUG")',
        'warnings.filterwarnings("ignore", category=DeprecationWarning)',
        'df.set_index("a")',
        'frame.attrs["x"] = 1',
        'result = pd.set_option("display.width", 80)',
        'if debug:\n    np.seterr(all="raise")',
      ].join('\n'),
      0,
    );
    assert.deepEqual(result.settings, [
      { code: 'logging.basicConfig(level=logging.INFO, stream=sys.stdout)', reads: ['logging', 'sys'] },
      { code: 'pd.options.display.max_rows = limit', reads: ['pd', 'limit'] },
      { code: 'logging.getLogger("etl").setLevel("DEBUG")', reads: ['logging'] },
      { code: 'warnings.filterwarnings("ignore", category=DeprecationWarning)', reads: ['warnings'] },
      { code: 'frame.attrs["x"] = 1', reads: ['frame'] },
    ]);
  });

  it('definition globals carry their position in the cell', () => {
    const result = analyzer.analyzeCell('def f():\n    return  limit', 0);
    assert.deepEqual(result.definitions[0].globals, [{ name: 'limit', line: 2, column: 13 }]);
  });
});

describe('Python analysis: what calling a function changes', () => {
  it('a parameter mutated in the body, a global rebound or mutated', () => {
    const [def] = analyzer.analyzeCell(
      'def clean(frame, note, *, log=None):\n    frame.dropna(inplace=True)\n    frame["a"] = 1\n    note = note.strip()\n    global seen\n    seen = True\n    history.append(note)\n',
      0,
    ).definitions;
    assert.deepEqual(def.effects, { parameters: ['frame', 'note', 'log'], mutatesParameters: ['frame'], writesGlobals: ['seen'], mutatesGlobals: ['history'], calls: [] });
  });

  it('a parameter shadowed by a nested function or a comprehension is not the caller\'s argument', () => {
    const [def] = analyzer.analyzeCell('def f(x):\n    def g(x):\n        x.append(1)\n    return [x.pop() for x in range(3)]\n', 0).definitions;
    assert.deepEqual(def.effects?.mutatesParameters, []);
  });

  it('calls are recorded with the received values (top level) or parameters (in a body) they pass', () => {
    const result = analyzer.analyzeCell('clean(df, note=notes["x"])\nlocal = 1\nclean(local)\ndef outer(frame, other):\n    clean(frame, 2)\n', 0);
    assert.deepEqual(result.calls, [
      { callee: 'clean', positional: [['df']], keywords: { note: ['notes'] } },
      { callee: 'clean', positional: [[]], keywords: {} },
    ]);
    assert.deepEqual(result.definitions[0].effects?.calls, [{ callee: 'clean', positional: [['frame'], []], keywords: {} }]);
  });
});

describe('Python analysis: syntax errors', () => {
  const broken: Array<[string, string, number]> = [
    ['unclosed bracket', 'x = 1\ny = (2,\n', 2],
    ['Python 2 print statement', 'x = 1\nprint "x"', 2],
    ['stray indentation', 'x = 1\n    y = 2', 2],
    ['missing colon', 'if x\n    pass', 1],
    ['empty block', 'def f():\nreturn 1', 1],
    ['indented first line', '    x = 1', 1],
    ['inconsistent dedent', 'if a:\n        b = 1\n    c = 2', 3],
    ['else not lined up with its if', 'if a:\n    b = 1\n  else:\n    c = 2', 3],
  ];
  for (const [name, code, line] of broken) {
    it(`${name}: one error diagnostic on the cell's line, nothing else`, () => {
      const result = analyzer.analyzeCell(code, 7);
      const errors = result.diagnostics.filter((d) => d.severity === 'error');
      assert.equal(errors.length, 1, JSON.stringify(result.diagnostics));
      assert.equal(errors[0].cell, 7);
      assert.ok(errors[0].line !== undefined && errors[0].line <= line, `line ${errors[0].line}`);
      assert.equal(result.body, '');
      assert.deepEqual(result.uses, []);
      assert.deepEqual(result.defines, []);
    });
  }
});
