/**
 * Reads .ipynb files: nbformat 4.0–4.5 as is, 3.x upgraded in memory, everything else refused
 * with a located error. Outputs are dropped as soon as the JSON is parsed; nothing downstream
 * ever sees them.
 */
import { promises as fs } from 'fs';
import { Diagnostic, Nb2prodError } from '../errors';
import { sha256 } from '../hash';
import { parseJsonLocated } from './json';
import { CellKind, Notebook, NotebookCell } from './model';
import { detectLanguage } from './language';

/** Beyond this, V8 cannot hold the file as one string; refuse early with a clear message. */
const MAX_NOTEBOOK_BYTES = 500 * 1024 * 1024;
const CELL_ID_PATTERN = /^[a-zA-Z0-9-_]{1,64}$/;

export async function readNotebookFile(path: string): Promise<Notebook> {
  let stat;
  try {
    stat = await fs.stat(path);
  } catch {
    throw new Nb2prodError('notebook not found', { file: path }, 'NOT_FOUND');
  }
  if (stat.isDirectory()) throw new Nb2prodError('is a directory, not a notebook', { file: path });
  if (stat.size > MAX_NOTEBOOK_BYTES) {
    throw new Nb2prodError(
      `notebook is ${(stat.size / 1e6).toFixed(0)} MB, over the ${MAX_NOTEBOOK_BYTES / 1024 / 1024} MB limit; clear its outputs and try again`,
      { file: path },
    );
  }
  const text = await fs.readFile(path, 'utf8');
  return parseNotebook(text, path);
}

export function parseNotebook(text: string, path: string): Notebook {
  // Not text.trim(): it copies a file that can be hundreds of MB.
  if (!/\S/.test(text)) throw new Nb2prodError('the file is empty, not a notebook', { file: path });
  const json = parseJsonLocated(text.charCodeAt(0) === 0xfeff ? text.slice(1) : text, path);
  if (!isObject(json) || !('cells' in json || 'worksheets' in json || 'nbformat' in json)) {
    throw new Nb2prodError('not a Jupyter notebook (no "nbformat" or "cells")', { file: path });
  }
  const major = json.nbformat;
  const minor = typeof json.nbformat_minor === 'number' ? json.nbformat_minor : 0;
  if (typeof major !== 'number') {
    const found = major === undefined ? 'is missing' : `should be a number, found ${JSON.stringify(major).slice(0, 40)}`;
    throw new Nb2prodError(`not a Jupyter notebook ("nbformat" ${found})`, { file: path });
  }
  if (major < 3) {
    throw new Nb2prodError(
      `nbformat ${major} is too old to read; open and save it in Jupyter to upgrade it to nbformat 4`,
      { file: path },
      'UNSUPPORTED_FORMAT',
    );
  }
  if (major > 4 || (major === 4 && minor > 5)) {
    throw new Nb2prodError(
      `nbformat ${major}.${minor} is newer than this version supports (4.0–4.5)`,
      { file: path },
      'UNSUPPORTED_FORMAT',
    );
  }
  const diagnostics: Diagnostic[] = [];
  const metadata = isObject(json.metadata) ? json.metadata : {};
  const rawCells = major === 3 ? upgradeV3Cells(json, path) : cellsV4(json, path);
  const language = detectLanguage(metadata, path);
  const cells = rawCells.map((raw, index) => toCell(raw, index, diagnostics));
  dedupeIds(cells, diagnostics);
  return {
    path,
    nbformat: major,
    nbformatMinor: minor,
    language: language.language,
    kernelName: language.kernelName,
    cells,
    contentHash: contentHash(language.language, cells),
    diagnostics,
  };
}

export interface RawCell {
  kind: CellKind;
  source: unknown;
  metadata: unknown;
  id?: unknown;
  language?: unknown;
}

function cellsV4(json: Record<string, unknown>, file: string): RawCell[] {
  if (!Array.isArray(json.cells)) throw new Nb2prodError('"cells" is missing or not a list', { file });
  return json.cells.map((c, i) => {
    if (!isObject(c)) throw new Nb2prodError('cell is not an object', { file, cell: i });
    const kind = c.cell_type;
    if (kind !== 'code' && kind !== 'markdown' && kind !== 'raw') {
      throw new Nb2prodError(`unknown cell_type ${JSON.stringify(kind)}`, { file, cell: i });
    }
    return { kind, source: c.source ?? '', metadata: c.metadata, id: c.id };
  });
}

/** nbformat 3: cells live in worksheets, code is in `input`, headings are their own cell type. */
function upgradeV3Cells(json: Record<string, unknown>, file: string): RawCell[] {
  const worksheets = Array.isArray(json.worksheets) ? json.worksheets : [];
  const out: RawCell[] = [];
  for (const ws of worksheets) {
    if (!isObject(ws) || !Array.isArray(ws.cells)) continue;
    for (const c of ws.cells) {
      if (!isObject(c)) throw new Nb2prodError('cell is not an object', { file, cell: out.length });
      switch (c.cell_type) {
        case 'code':
          out.push({ kind: 'code', source: c.input ?? '', metadata: c.metadata, language: c.language });
          break;
        case 'heading': {
          const level = typeof c.level === 'number' ? Math.min(Math.max(c.level, 1), 6) : 1;
          out.push({ kind: 'markdown', source: `${'#'.repeat(level)} ${joinSource(c.source ?? '')}`, metadata: c.metadata });
          break;
        }
        case 'markdown':
        case 'html':
          out.push({ kind: 'markdown', source: c.source ?? '', metadata: c.metadata });
          break;
        default:
          out.push({ kind: 'raw', source: c.source ?? '', metadata: c.metadata });
      }
    }
  }
  return out;
}

function toCell(raw: RawCell, index: number, diagnostics: Diagnostic[]): NotebookCell {
  const metadata = isObject(raw.metadata) ? raw.metadata : {};
  const cell: NotebookCell = {
    index,
    id: typeof raw.id === 'string' && CELL_ID_PATTERN.test(raw.id) ? raw.id : '',
    kind: raw.kind,
    source: joinSource(raw.source),
    tags: readTags(metadata.tags, index, diagnostics),
  };
  if (typeof raw.id === 'string' && !cell.id) {
    diagnostics.push({ severity: 'warning', message: 'cell id is not a valid nbformat id; using a generated one', cell: index });
  }
  const vscodeLanguage = isObject(metadata.vscode) ? metadata.vscode.languageId : undefined;
  const language = typeof raw.language === 'string' ? raw.language : vscodeLanguage;
  if (typeof language === 'string') cell.language = language.toLowerCase();
  return cell;
}

function readTags(tags: unknown, index: number, diagnostics: Diagnostic[]): string[] {
  if (tags === undefined) return [];
  if (Array.isArray(tags) && tags.every((t) => typeof t === 'string')) return tags.map((t) => t.trim()).filter(Boolean);
  diagnostics.push({
    severity: 'warning',
    message: `metadata.tags should be a list of strings, found ${Array.isArray(tags) ? 'a list with non-strings' : typeof tags}; tags ignored`,
    cell: index,
  });
  return [];
}

/** Missing or repeated ids get stable generated ones so every message can name a cell. */
function dedupeIds(cells: NotebookCell[], diagnostics: Diagnostic[]): void {
  const seen = new Set<string>();
  for (const cell of cells) {
    if (cell.id && seen.has(cell.id)) {
      diagnostics.push({ severity: 'warning', message: `duplicate cell id '${cell.id}'; using a generated one`, cell: cell.index });
      cell.id = '';
    }
    if (!cell.id) {
      let id = `cell-${cell.index}`;
      while (seen.has(id)) id += '_';
      cell.id = id;
    }
    seen.add(cell.id);
  }
}

export function joinSource(source: unknown): string {
  if (typeof source === 'string') return source;
  if (Array.isArray(source)) return source.map((s) => (typeof s === 'string' ? s : '')).join('');
  return '';
}

/** Hash of what the code means: language, cell kinds, sources and tags. Outputs and counts excluded. */
export function contentHash(language: string, cells: Pick<NotebookCell, 'kind' | 'source' | 'tags'>[]): string {
  return sha256(JSON.stringify([language, cells.map((c) => [c.kind, c.source, c.tags])]));
}

export function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
