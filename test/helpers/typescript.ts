/** Runs TypeScript and JavaScript notebooks, and the packages made from them, the way node 20 can. */
import { spawnSync, SpawnSyncReturns } from 'child_process';
import { readFileSync, writeFileSync } from 'fs';
import * as path from 'path';
import * as ts from 'typescript';

interface NotebookCell {
  cell_type: string;
  source: string | string[];
  metadata?: { tags?: string[] };
}

export function node(args: string[], cwd: string, env: NodeJS.ProcessEnv = {}): SpawnSyncReturns<string> {
  return spawnSync(process.execPath, args, { cwd, encoding: 'utf8', timeout: 120_000, env: { ...process.env, NB2PROD_RUN_ID: '', ...env } });
}

/**
 * The notebook's code cells top to bottom as one ES module: what its kernel ran, as one script.
 * Kernels (tslab, IJavascript, Deno) give cells `require` and top-level await; node 20 runs no
 * TypeScript, so the compiler strips the types (nothing else: the code stays as written).
 */
export function notebookAsModule(notebookFile: string): string {
  const nb = JSON.parse(readFileSync(notebookFile, 'utf8'));
  const javascript = nb.metadata?.kernelspec?.language === 'javascript';
  const code = (nb.cells as NotebookCell[])
    .filter((c) => c.cell_type === 'code' && !c.metadata?.tags?.includes('skip'))
    .map((c) => (Array.isArray(c.source) ? c.source.join('') : c.source))
    .join('\n;\n');
  const prelude = "import { createRequire } from 'node:module';\nconst require = createRequire(import.meta.url);\n";
  return ts.transpileModule(prelude + code, {
    fileName: javascript ? 'notebook.js' : 'notebook.ts',
    compilerOptions: { target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.ESNext, verbatimModuleSyntax: true, allowJs: true },
  }).outputText;
}

/** Runs the notebook as one module in `dir` (where the files it reads are). */
export function runNotebookAsModule(notebookFile: string, dir: string): SpawnSyncReturns<string> {
  const script = path.join(dir, `${path.basename(notebookFile, '.ipynb')}.notebook.mjs`);
  writeFileSync(script, notebookAsModule(notebookFile));
  return node([script], dir);
}
