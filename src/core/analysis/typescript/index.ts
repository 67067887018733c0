/** The TypeScript/JavaScript analyser; the compiler is loaded on the first call, never at startup. */
import type { CellAnalyzer } from '../types';
import { loadTypeScriptEngine } from './load';

export async function createTypeScriptAnalyzer(language: 'typescript' | 'javascript'): Promise<CellAnalyzer> {
  const engine = loadTypeScriptEngine();
  return {
    language,
    analyzeCell(source: string, cell: number) {
      const analysis = engine.analyzeCell(source, language);
      for (const d of analysis.diagnostics) d.cell = cell;
      return analysis;
    },
  };
}
