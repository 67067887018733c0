/**
 * "Set Step Tag…": edits a cell's `metadata.tags` through a NotebookEdit, so it is one undoable
 * edit that marks the notebook dirty like any other. Tags that are not about the cell's role
 * (after:, limit:, image:, other tools' tags) are kept.
 */
import * as vscode from 'vscode';
import { parseCellTags } from '../core/tags/grammar';
import { Nb2prodError } from '../core/errors';
import { cellTags, isJupyterNotebook, withTags } from './notebooks';

/** Tags that decide a cell's role; choosing a new role replaces them. */
const ROLE_TAG = /^(step|block):|^(skip|imports|functions|parameters|pipeline-parameters|metrics|pipeline-metrics)$/;
const STEP_NAME = /^[A-Za-z_][A-Za-z0-9_-]*$/;

export function isNotebookCell(v: unknown): v is vscode.NotebookCell {
  const c = v as vscode.NotebookCell | undefined;
  return !!c && typeof c === 'object' && typeof c.index === 'number' && !!c.notebook && !!c.document;
}

/** The cell a command is about: its argument (cell toolbar, status bar) or the editor's selection. */
export function targetCell(arg: unknown): vscode.NotebookCell | undefined {
  if (isNotebookCell(arg)) return arg;
  const editor = vscode.window.activeNotebookEditor;
  if (!editor || !isJupyterNotebook(editor.notebook)) return undefined;
  const index = editor.selection?.start;
  return index !== undefined && index < editor.notebook.cellCount ? editor.notebook.cellAt(index) : undefined;
}

/** Existing step names in the notebook, in order of appearance. */
export function stepNames(doc: vscode.NotebookDocument): string[] {
  const names = new Set<string>();
  for (const cell of doc.getCells()) {
    const name = parseCellTags(cellTags(cell)).stepName;
    if (name) names.add(name);
  }
  return [...names];
}

/** The cell's tags with its role replaced by `tag` (or removed, for ''). */
export function replaceRoleTag(tags: readonly string[], tag: string): string[] {
  const kept = tags.filter((t) => !ROLE_TAG.test(t));
  return tag ? [tag, ...kept] : kept;
}

export async function applyTags(cell: vscode.NotebookCell, tags: string[]): Promise<void> {
  const edit = new vscode.WorkspaceEdit();
  edit.set(cell.notebook.uri, [vscode.NotebookEdit.updateCellMetadata(cell.index, withTags(cell, tags))]);
  if (!(await vscode.workspace.applyEdit(edit))) throw new Nb2prodError('the notebook did not accept the tag edit (is it read-only?)', undefined, 'EDIT_REJECTED');
}

/** Asks for the tag (unless given) and applies it; returns the cell's new tags, or undefined if dismissed. */
export async function setStepTag(cell: vscode.NotebookCell, given?: string): Promise<string[] | undefined> {
  if (cell.kind !== vscode.NotebookCellKind.Code) throw new Nb2prodError('only code cells take step tags', undefined, 'NOT_CODE');
  const tag = given ?? (await pickTag(cell));
  if (tag === undefined) return undefined;
  const tags = replaceRoleTag(cellTags(cell), tag);
  await applyTags(cell, tags);
  return tags;
}

interface TagPick extends vscode.QuickPickItem {
  tag?: string;
  newStep?: boolean;
}

async function pickTag(cell: vscode.NotebookCell): Promise<string | undefined> {
  const current = parseCellTags(cellTags(cell));
  const steps = stepNames(cell.notebook);
  const items: TagPick[] = [
    ...steps.map((name) => ({
      label: `$(symbol-namespace) ${name}`,
      description: current.stepName === name ? 'current' : 'existing step',
      tag: `step:${name}`,
    })),
    { label: '$(add) New step…', newStep: true, alwaysShow: true },
    { label: '', kind: vscode.QuickPickItemKind.Separator },
    { label: '$(symbol-parameter) parameters', description: 'pipeline parameters', tag: 'parameters' },
    { label: '$(graph) metrics', description: 'recorded with each run', tag: 'metrics' },
    { label: '$(package) imports', description: 'repeated in steps that use them', tag: 'imports' },
    { label: '$(symbol-function) functions', description: 'shared by all steps', tag: 'functions' },
    { label: '$(circle-slash) skip', description: 'leave the cell out', tag: 'skip' },
    { label: '$(close) Remove role tag', description: 'continue the step above', tag: '' },
  ];
  const picked = await vscode.window.showQuickPick(items, {
    title: `Set Step Tag (cell ${cell.index + 1})`,
    placeHolder: steps.length ? 'Put the cell in a step, or give it another role' : 'Name the first step, or give the cell a role',
  });
  if (!picked) return undefined;
  if (!picked.newStep) return picked.tag;
  const name = await vscode.window.showInputBox({
    title: 'New step',
    prompt: 'Step name: letters, digits, _ and -; it names the generated module',
    validateInput: (v) => (STEP_NAME.test(v.trim()) ? undefined : 'Start with a letter or _, then letters, digits, _ or -'),
  });
  return name === undefined ? undefined : `step:${name.trim()}`;
}
