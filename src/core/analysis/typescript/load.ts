/**
 * Finds the TypeScript engine next to the running code without letting the bundler pull it in:
 * `dist/ts-analyzer.js` beside the bundled CLI/extension, `engine.js` beside tsc's output.
 */
import * as fs from 'fs';
import * as path from 'path';
import type * as Engine from './engine';

export type TypeScriptEngine = typeof Engine;

const CANDIDATES = ['ts-analyzer.js', 'engine.js'];

export function loadTypeScriptEngine(): TypeScriptEngine {
  for (const file of CANDIDATES) {
    const full = path.join(__dirname, file);
    // A computed path: esbuild leaves this require alone instead of bundling ts-morph here.
    if (fs.existsSync(full)) return require(full) as TypeScriptEngine;
  }
  throw new Error(`the TypeScript analyser is missing: expected ${CANDIDATES.join(' or ')} in ${__dirname} (run the build)`);
}
