/**
 * Loads tree-sitter-python (WebAssembly). Chosen over @lezer/python by measurement
 * (test/bench/parser.ts): lezer rejects valid code the corpus is full of (`1./255`,
 * keyword class patterns, parenthesised context managers); tree-sitter parses every cell
 * CPython 3.11 accepts.
 *
 * The two .wasm files are looked up next to the running script first (the esbuild bundle
 * copies them into dist/), then in node_modules.
 */
import * as fs from 'fs';
import * as path from 'path';
import * as v8 from 'v8';
import { Language, Parser } from 'web-tree-sitter';

import type { CursorBinding } from './syntax-tree';

export type { Parser } from 'web-tree-sitter';
export type { SyntaxNode } from './syntax-tree';

const PYTHON_WASM = 'tree-sitter-python.wasm';
const RUNTIME_WASM = 'web-tree-sitter.wasm';

function locate(file: string, packageName: string): string {
  const candidates = [path.join(__dirname, file)];
  try {
    candidates.push(require.resolve(`${packageName}/${file}`));
  } catch {
    // not installed as a package (bundled build): only the copy next to the script can work
  }
  const found = candidates.find((candidate) => fs.existsSync(candidate));
  if (!found) throw new Error(`Python parser: cannot find ${file} (looked in ${candidates.join(', ')})`);
  return found;
}

/** The runtime and grammar are immutable once loaded, so one load serves every analyser. */
let loading: Promise<Language> | undefined;
/**
 * Emscripten makes the options object given to `Parser.init` the module itself, so it ends up
 * holding the raw WebAssembly exports. Tree copies use them to skip web-tree-sitter's per-call
 * marshalling; undefined when someone else initialised the runtime first.
 */
let binding: CursorBinding | undefined;

function loadPython(): Promise<Language> {
  loading ??= (async () => {
    const runtime = locate(RUNTIME_WASM, 'web-tree-sitter');
    const options: Record<string, unknown> = { locateFile: () => runtime };
    await Parser.init(options);
    binding = cursorBinding(options);
    return Language.load(fs.readFileSync(locate(PYTHON_WASM, 'tree-sitter-python')));
  })();
  loading.catch(() => {
    loading = undefined;
  });
  return loading;
}

/**
 * Below this much code, a process that exits right after parsing is faster with V8's baseline
 * WebAssembly code only: optimised (tier-up) compiles of the grammar's huge lexer run on a
 * background thread, and Node waits for them before it can exit (≈150 ms on a 2-core machine),
 * while baseline code costs more only on large inputs. Crossover measured between 300 and
 * 450 KB of cell code (npm run bench; 5,000 generated cells = 746 KB).
 */
const QUICK_START_MAX_CHARS = 256 * 1024;

/**
 * For one-shot processes (the CLI): skip optimising compiles when there is little to parse.
 * Process-wide, so never call it from a long-lived host such as the extension.
 */
export function preferQuickStart(charsToParse: number): void {
  if (loading || charsToParse > QUICK_START_MAX_CHARS) return;
  v8.setFlagsFromString('--liftoff-only');
}

export async function createPythonParser(): Promise<Parser> {
  const language = await loadPython();
  const parser = new Parser();
  parser.setLanguage(language);
  return parser;
}

/** The raw cursor exports, when the runtime object has every one of them. */
export function rawCursorBinding(): CursorBinding | undefined {
  return binding;
}

function cursorBinding(module: Record<string, unknown>): CursorBinding | undefined {
  const names: Array<keyof CursorBinding> = [
    '_ts_init',
    '_ts_tree_cursor_goto_first_child_wasm',
    '_ts_tree_cursor_goto_next_sibling_wasm',
    '_ts_tree_cursor_goto_parent_wasm',
    '_ts_tree_cursor_current_node_type_id_wasm',
    '_ts_tree_cursor_current_field_id_wasm',
    '_ts_tree_cursor_start_index_wasm',
    '_ts_tree_cursor_end_index_wasm',
    'getValue',
    'setValue',
  ];
  return names.every((name) => typeof module[name] === 'function') ? (module as unknown as CursorBinding) : undefined;
}
