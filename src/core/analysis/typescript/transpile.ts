/** Type stripping for generated modules: plain `node` (20) runs no TypeScript. */
import { ts } from 'ts-morph';

/**
 * TypeScript module text -> JavaScript (ES2022 modules). `verbatimModuleSyntax` keeps every
 * import the code names as written (a fragment transpiled alone would otherwise lose
 * imports it does not reference) and drops only `import type`.
 */
export function stripTypes(code: string): string {
  const out = ts.transpileModule(code, {
    compilerOptions: {
      target: ts.ScriptTarget.ES2022,
      module: ts.ModuleKind.ESNext,
      verbatimModuleSyntax: true,
      removeComments: false,
    },
    reportDiagnostics: false,
  });
  return out.outputText;
}
