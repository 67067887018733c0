/**
 * Python cell analysis on every Python-kernel code cell of the corpus notebooks
 * (test/fixtures/corpus): no throw; no syntax error where CPython 3.11 parses the cell; and
 * what the analyser emits (body, imports, definitions) is itself valid Python.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { before, describe, it } from 'node:test';
import { createPythonAnalyzer } from '../../src/core/analysis/python/index';
import type { CellAnalysis, CellAnalyzer } from '../../src/core/analysis/types';
import { type CorpusCell, cpythonAccepts, pythonCorpusCells } from '../bench/parser';

let analyzer: CellAnalyzer;
let cells: CorpusCell[];
let results: CellAnalysis[];

before(async () => {
  analyzer = await createPythonAnalyzer();
  cells = pythonCorpusCells();
  results = cells.map((cell) => analyzer.analyzeCell(cell.source, cell.index));
});

const where = (cell: CorpusCell) => `${cell.notebook} cell ${cell.index}`;

/** Indices of the snippets CPython refuses to compile, with its message. */
function cpythonRejects(snippets: string[]): Array<{ index: number; error: string }> | undefined {
  const script = `
import json, sys
bad = []
for i, code in enumerate(json.load(sys.stdin)):
    try:
        compile(code, '<snippet>', 'exec')
    except SyntaxError as e:
        bad.append({'index': i, 'error': f'{e.msg} (line {e.lineno})'})
json.dump(bad, sys.stdout)
`;
  const run = spawnSync('python3', ['-c', script], { input: JSON.stringify(snippets), encoding: 'utf8', maxBuffer: 64 << 20 });
  return run.status === 0 ? JSON.parse(run.stdout) : undefined;
}

describe('Python analysis: corpus', () => {
  it('the corpus fixtures are there (Python notebooks with hundreds of code cells)', () => {
    assert.ok(cells.length > 500, `${cells.length} cells`);
    assert.ok(new Set(cells.map((cell) => cell.notebook)).size >= 20);
  });

  it('every cell analyses without throwing, and diagnostics name the cell and a line in it', () => {
    for (const [i, cell] of cells.entries()) {
      const lines = cell.source.split('\n').length;
      for (const diagnostic of results[i].diagnostics) {
        assert.equal(diagnostic.cell, cell.index, where(cell));
        assert.ok(diagnostic.line !== undefined && diagnostic.line >= 1 && diagnostic.line <= lines, `${where(cell)}: ${JSON.stringify(diagnostic)}`);
      }
    }
  });

  it('cells CPython parses give no syntax-error diagnostic', (t) => {
    const accepted = cpythonAccepts(cells.map((cell) => cell.source));
    if (!accepted) return t.skip('python3 not available');
    const wrong = cells.filter((cell, i) => accepted[i] === true && results[i].diagnostics.some((d) => d.severity === 'error'));
    assert.deepEqual(wrong.map(where), []);
    assert.ok(accepted.filter((ok) => ok === true).length > 500);
  });

  it('a cell CPython rejects gets an error diagnostic (Python 2 code in test2.ipynb)', () => {
    const i = cells.findIndex((cell) => cell.notebook.endsWith('test2.ipynb') && cell.source.includes('print "f(3)'));
    assert.ok(i >= 0);
    assert.equal(results[i].diagnostics.filter((d) => d.severity === 'error').length, 1);
  });

  it('bodies, imports and definitions compile with CPython', (t) => {
    const snippets: string[] = [];
    const origin: string[] = [];
    for (const [i, result] of results.entries()) {
      const add = (what: string, code: string) => {
        snippets.push(code);
        origin.push(`${where(cells[i])} ${what}`);
      };
      add('body', result.body);
      for (const info of [...result.imports, ...result.extraImports]) add('import', info.code);
      for (const definition of result.definitions) add(`definition ${definition.name}`, definition.code);
    }
    const rejected = cpythonRejects(snippets);
    if (!rejected) return t.skip('python3 not available');
    assert.deepEqual(rejected.map((bad) => `${origin[bad.index]}: ${bad.error}`), []);
  });

  it('definition globals equal what CPython\'s symtable says (builtins aside)', (t) => {
    const tricky = [
      'class A:\n    k = 1\n    v = [k for _ in range(2)]\n    def m(self, a=k):\n        return k, a, [y for y in self.z if (w := y)]',
      'def outer(p):\n    q = 1\n    def inner(r=q):\n        nonlocal q\n        global G\n        G = q + r + H\n        return lambda s: s + p + J\n    return inner',
      '@deco(arg)\nasync def f(x: T = D) -> R:\n    async for i in src(x):\n        yield {k: v for k, v in i.items() if k in KEYS}',
      'def f(n):\n    match n:\n        case Point(x=px) if px > LIMIT:\n            return px\n        case [first, *rest]:\n            return first + sum(rest)\n        case Color.RED | Other.X:\n            return None',
      'def f():\n    try:\n        import a.b as c\n    except E as e:\n        del e\n    with open(P) as fh, ctx() as (u, v):\n        return c, fh, u, v, Z',
    ];
    const definitions = [
      ...results.flatMap((result) => result.definitions),
      ...tricky.flatMap((code) => analyzer.analyzeCell(code, 0).definitions),
    ];
    const script = `
import builtins, json, symtable, sys
B = set(dir(builtins))
def module_names(code):
    out = set()
    def visit(t):
        for s in t.get_symbols():
            if not s.is_referenced():
                continue
            if t.get_type() == 'module':
                if not s.is_assigned() and not s.is_imported():
                    out.add(s.get_name())
            elif s.is_global():
                out.add(s.get_name())
        for child in t.get_children():
            visit(child)
    visit(symtable.symtable(code, '<definition>', 'exec'))
    return sorted(out - B)
json.dump([module_names(code) for code in json.load(sys.stdin)], sys.stdout)
`;
    const run = spawnSync('python3', ['-c', script], { input: JSON.stringify(definitions.map((d) => d.code)), encoding: 'utf8', maxBuffer: 64 << 20 });
    if (run.status !== 0) return t.skip('python3 not available');
    const expected: string[][] = JSON.parse(run.stdout);
    const differences = definitions
      .map((definition, i) => ({ name: definition.name, ours: [...new Set(definition.globals.map((g) => g.name))].sort(), cpython: expected[i] }))
      .filter((d) => JSON.stringify(d.ours) !== JSON.stringify(d.cpython));
    assert.deepEqual(differences, []);
    assert.ok(definitions.length > 80);
  });

  it('names the body binds equal what CPython\'s symtable says', (t) => {
    const analysed = results.filter((result) => !result.diagnostics.some((d) => d.severity === 'error'));
    const sources = cells.map((cell) => cell.source).filter((_, i) => !results[i].diagnostics.some((d) => d.severity === 'error'));
    const script = `
import json, symtable, sys
out = []
for code in json.load(sys.stdin):
    table = symtable.symtable(code, '<body>', 'exec')
    out.append(sorted(s.get_name() for s in table.get_symbols() if s.is_assigned() and not s.is_imported()))
json.dump(out, sys.stdout)
`;
    const run = spawnSync('python3', ['-c', script], { input: JSON.stringify(analysed.map((r) => r.body)), encoding: 'utf8', maxBuffer: 64 << 20 });
    if (run.status !== 0) return t.skip('python3 not available');
    const expected: string[][] = JSON.parse(run.stdout);
    const differences = analysed
      // Names only the rewrite of IPython syntax binds (`%%capture` plumbing) are not the notebook's.
      .map((result, i) => ({ ours: [...new Set([...result.defines, ...result.deletes])].sort(), cpython: expected[i].filter((n) => new RegExp(`\\b${n}\\b`).test(sources[i])) }))
      .filter((d) => JSON.stringify(d.ours) !== JSON.stringify(d.cpython));
    assert.deepEqual(differences, []);
  });

  it('known facts of real notebooks', () => {
    const find = (notebook: string, index: number) => results[cells.findIndex((cell) => cell.notebook === notebook && cell.index === index)];
    // handson-ml2: an attribute assignment on a value made in the same cell is neither a read nor a mutation
    const mnist = find('wild/handsonml2_09_unsupervised_learning.ipynb', 97);
    assert.deepEqual(mnist.uses.map((u) => u.name), ['np']);
    assert.deepEqual(mnist.mutates, []);
    // Kale candies: the functions cell defines functions only
    const candies = cells.findIndex((cell) => cell.notebook === 'kale/candies_sharing.ipynb' && /def get_handful/.test(cell.source));
    assert.ok(candies >= 0);
    assert.deepEqual(results[candies].definitions.map((d) => d.name), ['get_handful']);
    assert.equal(results[candies].body, '');
  });

  it('analyses the whole corpus quickly', () => {
    const started = performance.now();
    for (const cell of cells) analyzer.analyzeCell(cell.source, cell.index);
    const ms = performance.now() - started;
    assert.ok(ms < 10_000, `${ms.toFixed(0)} ms for ${cells.length} cells`);
  });
});
