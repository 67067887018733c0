/**
 * Which Python parser: @lezer/python or tree-sitter-python (web-tree-sitter)?
 *
 * Criterion: every code cell of the Python-kernel corpus notebooks that CPython 3.11 parses
 * (after removing IPython-only lines), plus hand-written cells covering newer syntax, must
 * parse without an error node. Then speed (all cells, cold and warm) and what it adds to the
 * bundle. The corpus helpers are exported for the analyser's corpus test.
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';

const ROOT = path.resolve(__dirname, '..', '..', '..');
export const CORPUS_DIR = path.join(ROOT, 'test', 'fixtures', 'corpus');

export interface CorpusCell {
  /** Notebook path relative to the corpus directory. */
  notebook: string;
  /** Index among the notebook's cells (all cell types), as the planner counts. */
  index: number;
  source: string;
}

/** Valid Python 3.11 the corpus may lack: pattern matching, walrus, decorators, f-strings... */
export const SYNTAX_CELLS: string[] = [
  "match cmd:\n    case [x, *rest] if x > 0:\n        pass\n    case {'k': v, **kw}:\n        pass\n    case Point(x=0, y=yy) | Other():\n        pass\n    case str() as s:\n        pass\n    case Color.RED:\n        pass\n    case _:\n        pass\n",
  'if (n := len(a)) > 10:\n    print(n)\nys = [y for x in data if (y := f(x))]\n',
  '@dec\n@dec2(arg)\nclass A(B, metaclass=M):\n    @property\n    def x(self) -> int:\n        return 1\n',
  "print(f\"{'a' + f'{name!r:>10}'}\")\nprint(f'{x:{width}.{prec}f}')\nprint(f\"{d['k']}\")\n",
  'async def main():\n    async with s as t:\n        async for i in t:\n            await f(i)\n    return [x async for x in g()]\n',
  "def f(a: int, /, b: 'str' = 1, *args: tuple[int, ...], c: dict[str, list[int]] | None = None, **kw) -> list[int]:\n    x: int = 1\n    y: list\n    return [a]\n",
  'f = lambda x, *a, y=1, **k: (x, a, y, k)\ng = lambda: 0\n',
  "a, *b = [1, 2, 3]\nprint(*b, **{'sep': ','})\nc = [*a, *b]\nd = {**e, 'k': 1}\nfor x, *y in z: pass\n",
  'try:\n    pass\nexcept* ValueError as eg:\n    pass\n',
  'def g():\n    global counter\n    counter += 1\n    def h():\n        v = 2\n        def i():\n            nonlocal v\n            v = 3\n',
  'x = 1 if y else 2\nz = not a and b or c\nw = a @ b\nv = a ** -b\nu = a[1:2, ::3, ...]\n',
  "with (open('a') as f, open('b') as g):\n    pass\n",
  "del a[0], b.c, d\nassert x, 'msg'\nraise ValueError('x') from None\n",
  "s = b'bytes' rb'raw' \\\n    b'concat'\nn = 1_000_000 + 0x_ff + 1e-3 + 3j + 1./255 + .5\n",
  "print(f'''multi\n{x!s}\nline''')\n",
];

/** Code cells of the notebooks whose kernel is Python (or unspecified, which Jupyter treats as Python). */
export function pythonCorpusCells(dir = CORPUS_DIR): CorpusCell[] {
  const cells: CorpusCell[] = [];
  for (const file of notebooks(dir)) {
    let notebook: Record<string, any>;
    try {
      notebook = JSON.parse(fs.readFileSync(file, 'utf8'));
    } catch {
      continue;
    }
    if (!isPythonNotebook(notebook)) continue;
    const all: Array<Record<string, any>> = notebook.cells ?? (notebook.worksheets ?? []).flatMap((sheet: any) => sheet.cells ?? []);
    all.forEach((cell, index) => {
      if (cell?.cell_type !== 'code') return;
      const raw = cell.source ?? cell.input ?? '';
      cells.push({ notebook: path.relative(dir, file), index, source: Array.isArray(raw) ? raw.join('') : String(raw) });
    });
  }
  return cells;
}

function notebooks(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  return fs
    .readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .filter((file) => file.endsWith('.ipynb'))
    .map((file) => path.join(dir, file))
    .sort();
}

function isPythonNotebook(notebook: Record<string, any>): boolean {
  const metadata = notebook.metadata ?? {};
  const kernel = typeof metadata.kernelspec === 'object' && metadata.kernelspec ? metadata.kernelspec : {};
  const language = kernel.language ?? metadata.language_info?.name ?? metadata.language;
  return language === undefined || /^python/i.test(String(language));
}

/**
 * Which sources CPython accepts once IPython-only lines are blanked out (cells starting with a
 * non-Python cell magic are skipped: undefined). Runs `python` once for all sources.
 */
export function cpythonAccepts(sources: string[], python = 'python3'): Array<boolean | undefined> | undefined {
  const script = String.raw`
import ast, json, re, sys
PYTHON_CELL_MAGICS = {'time', 'capture', 'prun', 'python', 'python3', 'debug'}
out = []
for src in json.load(sys.stdin):
    lines = src.split('\n')
    while lines and not lines[0].strip():
        lines.pop(0)
    magic = re.match(r'\s*%%(\w+)', lines[0]) if lines else None
    if magic and magic.group(1) not in PYTHON_CELL_MAGICS:
        out.append(None)
        continue
    if magic:
        lines = lines[1:]
    def clean(line):
        if re.match(r'\s*[%!]', line) or re.match(r'\s*\?', line) or re.match(r'\s*[\w.]+\?\??\s*$', line):
            return re.match(r'\s*', line).group(0) + 'pass'
        return re.sub(r'^(\s*[A-Za-z_][\w, ]*)=\s*[!%].*$', r'\1= None', line)
    try:
        ast.parse('\n'.join(clean(line) for line in lines))
        out.append(True)
    except SyntaxError:
        out.append(False)
json.dump(out, sys.stdout)
`;
  const run = spawnSync(python, ['-c', script], { input: JSON.stringify(sources), encoding: 'utf8', maxBuffer: 64 << 20 });
  if (run.status !== 0) return undefined;
  return JSON.parse(run.stdout);
}

/** Same blanking as `cpythonAccepts`, so both parsers see exactly what CPython saw. */
function blankIPython(source: string): string {
  const lines = source.split('\n');
  if (/^\s*%%(time|capture|prun|python3?|debug)\b/.test(lines.find((line) => line.trim() !== '') ?? '')) {
    lines.splice(lines.findIndex((line) => line.trim() !== ''), 1, '');
  }
  return lines
    .map((line) => {
      if (/^\s*[%!]/.test(line) || /^\s*\?/.test(line) || /^\s*[\w.]+\?\??\s*$/.test(line)) return `${/^\s*/.exec(line)![0]}pass`;
      return line.replace(/^(\s*[A-Za-z_][\w, ]*)=\s*[!%].*$/, '$1= None');
    })
    .join('\n');
}

interface Candidate {
  name: string;
  init(): Promise<void>;
  /** Parses and returns the offset of the first error, or -1. */
  parse(source: string): number;
  bundleBytes(): Promise<number>;
}

function lezer(): Candidate {
  let parser: any;
  return {
    name: '@lezer/python',
    async init() {
      parser = require('@lezer/python').parser;
    },
    parse(source) {
      let error = -1;
      parser.parse(source).iterate({
        enter(node: any) {
          if (error < 0 && node.type.isError) error = node.from;
          return error < 0;
        },
      });
      return error;
    },
    bundleBytes: () => bundleSize("module.exports = require('@lezer/python').parser;", []),
  };
}

function treeSitter(): Candidate {
  let parser: any;
  const wasm = [require.resolve('web-tree-sitter/web-tree-sitter.wasm'), require.resolve('tree-sitter-python/tree-sitter-python.wasm')];
  return {
    name: 'tree-sitter-python (web-tree-sitter)',
    async init() {
      const { createPythonParser } = await import('../../src/core/analysis/python/parser');
      parser = await createPythonParser();
    },
    parse(source) {
      const tree = parser.parse(source);
      try {
        return tree.rootNode.hasError ? firstError(tree.rootNode) : -1;
      } finally {
        tree.delete();
      }
    },
    bundleBytes: () => bundleSize("module.exports = require('web-tree-sitter');", wasm),
  };
}

function firstError(node: any): number {
  if (node.isError || node.isMissing) return node.startIndex;
  for (const child of node.children) if (child.hasError || child.isMissing) return firstError(child);
  return node.startIndex;
}

/** Minified bundle of the parser's JS plus the files it must ship beside it. */
async function bundleSize(entry: string, extraFiles: string[]): Promise<number> {
  const esbuild = require('esbuild');
  const result = await esbuild.build({
    stdin: { contents: entry, resolveDir: ROOT, loader: 'js' },
    bundle: true,
    minify: true,
    platform: 'node',
    format: 'cjs',
    write: false,
    logLevel: 'silent',
  });
  const js = result.outputFiles.reduce((sum: number, file: any) => sum + file.contents.length, 0);
  return js + extraFiles.reduce((sum, file) => sum + fs.statSync(file).size, 0);
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

export async function benchParser(print: (row: string) => void): Promise<void> {
  const corpus = pythonCorpusCells();
  const accepted = cpythonAccepts(corpus.map((cell) => cell.source));
  if (!accepted) print('  python3 not available: the CPython criterion is skipped');
  const valid = corpus.filter((_, i) => accepted?.[i] === true);
  const sources = [...valid.map((cell) => blankIPython(cell.source)), ...SYNTAX_CELLS];
  const labels = [...valid.map((cell) => `${cell.notebook} cell ${cell.index}`), ...SYNTAX_CELLS.map((_, i) => `syntax cell ${i}`)];
  print(`  ${corpus.length} Python code cells in ${new Set(corpus.map((c) => c.notebook)).size} notebooks; CPython 3.11 parses ${valid.length}; + ${SYNTAX_CELLS.length} syntax cells = ${sources.length}`);
  print('  parser                                | error-free      | init ms | cold ms | warm ms (median of 5) | bundle KiB');
  for (const candidate of [lezer(), treeSitter()]) {
    let started = performance.now();
    await candidate.init();
    const init = performance.now() - started;
    started = performance.now();
    const errors = sources.map((source) => candidate.parse(source));
    const cold = performance.now() - started;
    const warm: number[] = [];
    for (let round = 0; round < 5; round++) {
      started = performance.now();
      for (const source of sources) candidate.parse(source);
      warm.push(performance.now() - started);
    }
    const failed = errors.map((offset, i) => ({ offset, i })).filter((error) => error.offset >= 0);
    const kib = (await candidate.bundleBytes()) / 1024;
    print(
      `  ${candidate.name.padEnd(37)} | ${`${sources.length - failed.length}/${sources.length}`.padEnd(15)} | ${init.toFixed(0).padStart(7)} | ${cold.toFixed(0).padStart(7)} | ${median(warm).toFixed(0).padStart(21)} | ${kib.toFixed(0).padStart(10)}`,
    );
    for (const { offset, i } of failed.slice(0, 8)) {
      const line = sources[i].slice(0, offset).split('\n').length;
      const text = sources[i].split('\n')[line - 1]?.trim().slice(0, 60);
      print(`      error in ${labels[i]}, line ${line}: ${text}`);
    }
  }
  // What the chosen parser costs inside the full analysis (magics, parse, scopes, body).
  const { createPythonAnalyzer } = await import('../../src/core/analysis/python/index');
  const analyzer = await createPythonAnalyzer();
  const rounds: number[] = [];
  for (let round = 0; round < 5; round++) {
    const started = performance.now();
    for (const cell of corpus) analyzer.analyzeCell(cell.source, cell.index);
    rounds.push(performance.now() - started);
  }
  print(`  full Python cell analysis (tree-sitter): ${corpus.length} cells in ${median(rounds).toFixed(0)} ms (median of 5, first ${rounds[0].toFixed(0)} ms)`);
}
