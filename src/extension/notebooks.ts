/**
 * Which notebook a command works on, and the notebook as the core sees it. Commands arrive with
 * an explorer Uri, a notebook toolbar context, a cell, or nothing (palette: the active notebook
 * editor, else a file picker).
 */
import * as path from 'path';
import * as vscode from 'vscode';
import { JUPYTER_NOTEBOOK_TYPE } from './constants';
import type { CellKind } from '../core/notebook/model';

export interface NotebookTarget {
  uri: vscode.Uri;
  /** The workspace folder holding the notebook: lineage and output paths are relative to it. */
  workspaceDir: string;
  /** The open notebook document, when there is one: its cells are used, unsaved edits included. */
  document?: vscode.NotebookDocument;
}

export interface CellInput {
  kind: CellKind;
  source: string;
  tags: string[];
  id?: string;
}

/** ipynb cell metadata as VS Code's built-in serializer keeps it (nbformat metadata under `metadata`). */
interface IpynbCellMetadata {
  id?: string;
  metadata?: { tags?: unknown };
  /** Older VS Code (before 1.84) nested everything under `custom`. */
  custom?: { metadata?: { tags?: unknown }; id?: string };
}

export function cellTags(cell: vscode.NotebookCell): string[] {
  const md = cell.metadata as IpynbCellMetadata;
  const tags = md.metadata?.tags ?? md.custom?.metadata?.tags;
  return Array.isArray(tags) ? tags.filter((t): t is string => typeof t === 'string') : [];
}

/** New cell metadata with `tags`, in the layout this cell already uses; the rest is kept. */
export function withTags(cell: vscode.NotebookCell, tags: string[]): Record<string, unknown> {
  const md = { ...(cell.metadata as Record<string, unknown>) } as IpynbCellMetadata & Record<string, unknown>;
  const set = (inner: { tags?: unknown } | undefined) => {
    const next: Record<string, unknown> = { ...(inner ?? {}) };
    if (tags.length) next.tags = tags;
    else delete next.tags;
    return next;
  };
  if (md.custom && !md.metadata) md.custom = { ...md.custom, metadata: set(md.custom.metadata) };
  else md.metadata = set(md.metadata);
  return md;
}

export function cellId(cell: vscode.NotebookCell): string | undefined {
  const md = cell.metadata as IpynbCellMetadata;
  return md.id ?? md.custom?.id;
}

export function cellInputs(doc: vscode.NotebookDocument): CellInput[] {
  return doc.getCells().map((cell) => ({
    kind: cell.kind === vscode.NotebookCellKind.Markup ? 'markdown' : 'code',
    source: cell.document.getText(),
    tags: cellTags(cell),
    id: cellId(cell),
  }));
}

/** The notebook's language: kernelspec/language_info, else the first code cell's language. */
export function notebookLanguage(doc: vscode.NotebookDocument): string {
  const md = doc.metadata as { metadata?: { kernelspec?: { language?: string }; language_info?: { name?: string } } };
  const declared = md.metadata?.language_info?.name ?? md.metadata?.kernelspec?.language;
  if (declared) return declared.toLowerCase();
  const code = doc.getCells().find((c) => c.kind === vscode.NotebookCellKind.Code);
  return code?.document.languageId ?? 'python';
}

export function isJupyterNotebook(doc: vscode.NotebookDocument): boolean {
  return doc.notebookType === JUPYTER_NOTEBOOK_TYPE;
}

export function openNotebookDocument(uri: vscode.Uri): vscode.NotebookDocument | undefined {
  return vscode.workspace.notebookDocuments.find((d) => d.uri.toString() === uri.toString() && isJupyterNotebook(d));
}

export function workspaceDirFor(uri: vscode.Uri): string {
  return vscode.workspace.getWorkspaceFolder(uri)?.uri.fsPath ?? path.dirname(uri.fsPath);
}

/** The Uri a command argument points at, if any (explorer Uri, toolbar context, cell, tree item). */
export function uriFromArg(arg: unknown): vscode.Uri | undefined {
  if (arg instanceof vscode.Uri) return arg;
  if (!arg || typeof arg !== 'object') return undefined;
  const a = arg as {
    notebookEditor?: { notebookUri?: vscode.Uri };
    notebook?: vscode.NotebookDocument;
    uri?: vscode.Uri;
    resourceUri?: vscode.Uri;
  };
  const candidate = a.notebookEditor?.notebookUri ?? a.notebook?.uri ?? a.uri ?? a.resourceUri;
  return candidate instanceof vscode.Uri ? candidate : undefined;
}

/** Resolves the target; undefined when the user dismissed the picker. */
export async function resolveTarget(arg: unknown): Promise<NotebookTarget | undefined> {
  let uri = uriFromArg(arg);
  if (!uri) {
    const active = vscode.window.activeNotebookEditor?.notebook;
    if (active && isJupyterNotebook(active)) uri = active.uri;
  }
  if (!uri) {
    const picked = await vscode.window.showOpenDialog({
      canSelectMany: false,
      filters: { 'Jupyter Notebooks': ['ipynb'] },
      defaultUri: vscode.workspace.workspaceFolders?.[0]?.uri,
      openLabel: 'Select Notebook',
    });
    uri = picked?.[0];
  }
  if (!uri) return undefined;
  return { uri, workspaceDir: workspaceDirFor(uri), document: openNotebookDocument(uri) };
}

/**
 * Opens the notebook with a recorded cell selected and in view. Cells move: the cell is found
 * by id first, then by its index.
 */
export async function revealCell(target: NotebookTarget, cell: { index: number; id: string }): Promise<void> {
  const doc = target.document ?? (await vscode.workspace.openNotebookDocument(target.uri));
  const byId = doc.getCells().find((c) => cellId(c) === cell.id);
  const index = byId?.index ?? Math.min(cell.index, doc.cellCount - 1);
  const range = new vscode.NotebookRange(index, index + 1);
  const editor = vscode.window.visibleNotebookEditors.find((e) => e.notebook === doc);
  await vscode.window.showNotebookDocument(doc, { selections: [range], preserveFocus: false, viewColumn: editor?.viewColumn });
  vscode.window.activeNotebookEditor?.revealRange(range, vscode.NotebookEditorRevealType.InCenterIfOutsideViewport);
}
