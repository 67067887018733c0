/**
 * Everything that needs the TypeScript compiler (via ts-morph). This module is its own esbuild
 * entry (dist/ts-analyzer.js) and is only required when a TypeScript/JavaScript notebook is
 * analysed or generated: ts-morph is ~14 MB of JavaScript, and merely having it inside
 * dist/cli.js or dist/extension.js costs ~0.7 s of parse time at every start.
 */
export { analyzeCell } from './analyze';
export { hasPrivateState, redeclarationsToAssignments, rewriteSpecifiers, stripTypes } from './transpile';
