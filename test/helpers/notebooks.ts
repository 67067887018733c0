/** Builders for small notebooks in tests. */
import { mkdtempSync, writeFileSync } from 'fs';
import * as os from 'os';
import * as path from 'path';

export interface CellSpec {
  source: string;
  tags?: string[];
  kind?: 'code' | 'markdown' | 'raw';
  id?: string;
}

export function notebookJson(cells: (CellSpec | string)[], metadata: Record<string, unknown> = pythonMetadata()): string {
  return JSON.stringify({
    nbformat: 4,
    nbformat_minor: 5,
    metadata,
    cells: cells.map((c, i) => {
      const spec = typeof c === 'string' ? { source: c } : c;
      const kind = spec.kind ?? 'code';
      return {
        cell_type: kind,
        id: spec.id ?? `c${i}`,
        metadata: spec.tags ? { tags: spec.tags } : {},
        source: spec.source,
        ...(kind === 'code' ? { outputs: [], execution_count: null } : {}),
      };
    }),
  });
}

export function pythonMetadata(): Record<string, unknown> {
  return { kernelspec: { name: 'python3', language: 'python', display_name: 'Python 3' }, language_info: { name: 'python' } };
}

export function tempDir(prefix = 'nb2prod-test-'): string {
  return mkdtempSync(path.join(os.tmpdir(), prefix));
}

export function writeNotebook(dir: string, name: string, cells: (CellSpec | string)[], metadata?: Record<string, unknown>): string {
  const file = path.join(dir, name);
  writeFileSync(file, notebookJson(cells, metadata));
  return file;
}

export const FIXTURES = path.resolve(__dirname, '..', '..', '..', 'test', 'fixtures');
export const REPO_ROOT = path.resolve(__dirname, '..', '..', '..');
