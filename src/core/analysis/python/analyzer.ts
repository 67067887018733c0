/** The Python `CellAnalyzer`: IPython pre-pass, tree-sitter parse, scope walk, body assembly. */
import type { Diagnostic } from '../../errors';
import type { CellAnalysis, CellAnalyzer, ImportInfo } from '../types';
import { bodyWithout } from './body';
import { type Parser, rawCursorBinding } from './parser';
import { type Preprocessed, preprocessCell } from './preprocess/magics';
import { findParseError, findStrictSyntaxError, type SyntaxProblem } from './syntax-check';
import { copyTree } from './syntax-tree';
import { CellWalker, type Locate } from './walker';

export class PythonCellAnalyzer implements CellAnalyzer {
  readonly language = 'python';

  constructor(private readonly parser: Parser) {}

  analyzeCell(source: string, cell: number): CellAnalysis {
    try {
      return this.analyze(source, cell);
    } catch (error) {
      // A bug here must not stop the whole notebook: report it on the cell.
      const message = error instanceof Error ? error.message : String(error);
      return emptyAnalysis([{ severity: 'error', message: `internal error while analysing the cell: ${message}`, cell }]);
    }
  }

  private analyze(source: string, cell: number): CellAnalysis {
    const pre = preprocessCell(source);
    const diagnostics: Diagnostic[] = pre.diagnostics.map((diagnostic) => ({ ...diagnostic, cell }));
    const analysis = emptyAnalysis(diagnostics);
    analysis.requirements = pre.requirements;
    if (pre.code.trim() === '') return analysis;

    const tree = this.parser.parse(pre.code);
    if (!tree) throw new Error('the parser returned no tree');
    const locate = locator(pre);
    let root;
    try {
      const parseError = findParseError(tree.rootNode);
      if (parseError) return withError(analysis, parseError, locate, cell);
      root = copyTree(tree, pre.code, this.parser.language!, rawCursorBinding());
    } finally {
      tree.delete();
    }
    const strictError = findStrictSyntaxError(root);
    if (strictError) return withError(analysis, strictError, locate, cell);
    const facts = new CellWalker(locate, pre.helperModules).walkModule(root);
    const importedHere = new Set(facts.imports.flatMap((info) => info.names));
    const body = bodyWithout(pre.code, root, facts.removed);
    return {
      body: body.text,
      uses: facts.uses,
      ...(facts.optionalUses.length ? { optionalUses: facts.optionalUses } : {}),
      builtinUses: facts.builtinUses,
      defines: facts.defines.filter((name) => !pre.hiddenNames.has(name)),
      deletes: facts.deletes,
      mutates: facts.mutates,
      imports: facts.imports,
      definitions: facts.definitions.map((definition, i) => ({ ...definition, bodyLine: body.lineOf.get(facts.definitionNodes[i]) })),
      calls: facts.calls,
      ...(facts.methodCalls.length ? { methodCalls: facts.methodCalls } : {}),
      ...(facts.literalCalls.length ? { literalCalls: facts.literalCalls } : {}),
      globalWrites: facts.globalWrites,
      requirements: pre.requirements,
      extraImports: [...pre.helperModules].filter((module) => !importedHere.has(module)).map(helperImport),
      literals: facts.literals,
      ...(facts.awaits ? { awaits: true } : {}),
      ...(facts.readsNamespace ? { readsNamespace: true } : {}),
      ...(facts.settings.length ? { settings: facts.settings } : {}),
      diagnostics: [...diagnostics, ...facts.diagnostics.map((diagnostic) => ({ ...diagnostic, cell }))],
    };
  }
}

function emptyAnalysis(diagnostics: Diagnostic[]): CellAnalysis {
  return {
    body: '',
    uses: [],
    defines: [],
    deletes: [],
    mutates: [],
    imports: [],
    definitions: [],
    globalWrites: [],
    requirements: [],
    extraImports: [],
    literals: {},
    diagnostics,
  };
}

function withError(analysis: CellAnalysis, problem: SyntaxProblem, locate: Locate, cell: number): CellAnalysis {
  analysis.diagnostics.push({ severity: 'error', message: problem.message, cell, ...locate(problem.node) });
  return analysis;
}

function helperImport(module: string): ImportInfo {
  return { names: [module], modules: [module], code: `import ${module}`, line: 1 };
}

/** Maps a node of the rewritten code to its line and 1-based column in the original cell. */
function locator(pre: Preprocessed): Locate {
  return (node) => {
    const { row, column } = node.startPosition;
    const origin = pre.origins[Math.min(row, pre.origins.length - 1)] ?? { line: 1, shift: 0 };
    return { line: origin.line, column: origin.generated ? 1 : column + origin.shift + 1 };
  };
}
