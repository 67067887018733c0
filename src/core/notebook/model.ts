/** The notebook as the engine sees it: sources and tags only; outputs are never kept. */
import type { Diagnostic } from '../errors';

export type CellKind = 'code' | 'markdown' | 'raw';

export interface NotebookCell {
  index: number;
  /** nbformat 4.5 id, or a stable generated one (`cell-<index>`) when missing or duplicated. */
  id: string;
  kind: CellKind;
  source: string;
  tags: string[];
  /** Per-cell language (VS Code notebooks), when it differs from the notebook's. */
  language?: string;
}

export interface Notebook {
  /** Path as given (relative to the cwd, or absolute). */
  path: string;
  nbformat: number;
  nbformatMinor: number;
  /** Lower-case language: python, typescript, javascript, r, julia... */
  language: string;
  kernelName?: string;
  cells: NotebookCell[];
  /** sha256 of the sources, cell kinds and tags, without outputs or execution counts. */
  contentHash: string;
  diagnostics: Diagnostic[];
}
