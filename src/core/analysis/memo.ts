import type { CellAnalysis, CellAnalyzer } from './types';

/**
 * Remembers analyses by cell source, so re-planning an edited notebook (the editor does it on
 * every change) only analyses the cells that changed. Analyses are never mutated by the planner.
 * Bounded: the oldest entries go first.
 */
export function memoizeAnalyzer(analyzer: CellAnalyzer, maxEntries = 20_000): CellAnalyzer {
  const cache = new Map<string, CellAnalysis>();
  return {
    language: analyzer.language,
    analyzeCell(source: string, cell: number): CellAnalysis {
      const known = cache.get(source);
      if (known) {
        // Re-insert so the entry counts as recently used.
        cache.delete(source);
        cache.set(source, known);
        return known;
      }
      const analysis = analyzer.analyzeCell(source, cell);
      cache.set(source, analysis);
      if (cache.size > maxEntries) cache.delete(cache.keys().next().value as string);
      return analysis;
    },
  };
}
