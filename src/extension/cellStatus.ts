/**
 * Shows each code cell's place in the pipeline in its status bar: `step: train`, `skipped`,
 * `parameters`, `metrics`... Clicking it opens "Set Step Tag…". Uses the core's tag grammar and
 * assignment (pure and cheap), so what is shown is exactly what productionize will do,
 * including untagged cells continuing the step above.
 */
import * as vscode from 'vscode';
import { assignCells, Assignment } from '../core/tags/assign';
import type { CellRole } from '../core/tags/grammar';
import type { NotebookCell as CoreCell } from '../core/notebook/model';
import { Command, JUPYTER_NOTEBOOK_TYPE } from './constants';
import { cellId, cellTags } from './notebooks';

const ROLE_TEXT: Record<Exclude<CellRole, 'step'>, { icon: string; text: string; tooltip: string }> = {
  skip: { icon: 'circle-slash', text: 'skipped', tooltip: 'Not part of the pipeline (tag: skip)' },
  parameters: { icon: 'symbol-parameter', text: 'parameters', tooltip: 'Pipeline parameters: each literal becomes --param NAME=VALUE' },
  metrics: { icon: 'graph', text: 'metrics', tooltip: 'Metrics recorded with each run' },
  imports: { icon: 'package', text: 'imports', tooltip: 'Imports, repeated in every step that uses them' },
  functions: { icon: 'symbol-function', text: 'shared functions', tooltip: 'Functions and classes shared by all steps' },
  serve: { icon: 'broadcast', text: 'serving function', tooltip: 'The function that serves the model (nb2prod serve)' },
};

const REFRESH_DEBOUNCE_MS = 300;

export class CellStepStatusProvider implements vscode.NotebookCellStatusBarItemProvider, vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<void>();
  readonly onDidChangeCellStatusBarItems = this.changed.event;
  /** One assignment per notebook, dropped whenever the notebook changes. */
  private readonly cache = new WeakMap<vscode.NotebookDocument, Map<number, { role: CellRole; step?: string; strategy: string }>>();
  private readonly subscriptions: vscode.Disposable[] = [];
  private timer: NodeJS.Timeout | undefined;

  constructor() {
    this.subscriptions.push(
      vscode.notebooks.registerNotebookCellStatusBarItemProvider(JUPYTER_NOTEBOOK_TYPE, this),
      vscode.workspace.onDidChangeNotebookDocument((e) => {
        this.cache.delete(e.notebook);
        // A tag on one cell changes the step of the untagged cells below it: redraw them all.
        if (this.timer) clearTimeout(this.timer);
        this.timer = setTimeout(() => this.changed.fire(), REFRESH_DEBOUNCE_MS);
      }),
    );
  }

  provideCellStatusBarItems(cell: vscode.NotebookCell): vscode.NotebookCellStatusBarItem[] {
    if (cell.kind !== vscode.NotebookCellKind.Code) return [];
    const assigned = this.assignment(cell.notebook).get(cell.index);
    if (!assigned) return [];
    const item = (icon: string, text: string, tooltip: string) => {
      const i = new vscode.NotebookCellStatusBarItem(`$(${icon}) ${text}`, vscode.NotebookCellStatusBarAlignment.Left);
      i.tooltip = `nb2prod: ${tooltip}`;
      i.command = { command: Command.tagCell, title: 'Set Step Tag…', arguments: [cell] };
      return i;
    };
    if (assigned.role === 'step') {
      const how = assigned.strategy === 'tags' ? 'from the step tags' : `from the notebook's ${assigned.strategy === 'single' ? 'single-step fallback' : assigned.strategy}`;
      return [item('symbol-namespace', `step: ${assigned.step}`, `this cell runs in step '${assigned.step}' (${how})`)];
    }
    const r = ROLE_TEXT[assigned.role];
    return [item(r.icon, r.text, r.tooltip)];
  }

  /** Step and role of every code cell, by cell index. */
  assignment(doc: vscode.NotebookDocument): Map<number, { role: CellRole; step?: string; strategy: string }> {
    let byIndex = this.cache.get(doc);
    if (!byIndex) {
      const result: Assignment = assignCells(coreCells(doc));
      byIndex = new Map(result.cells.map((a) => [a.cell.index, { role: a.role, step: a.step, strategy: result.strategy }]));
      this.cache.set(doc, byIndex);
    }
    return byIndex;
  }

  dispose(): void {
    if (this.timer) clearTimeout(this.timer);
    for (const d of this.subscriptions) d.dispose();
    this.changed.dispose();
  }
}

function coreCells(doc: vscode.NotebookDocument): CoreCell[] {
  return doc.getCells().map((c) => ({
    index: c.index,
    id: cellId(c) ?? `cell-${c.index}`,
    kind: c.kind === vscode.NotebookCellKind.Markup ? 'markdown' : 'code',
    source: c.document.getText(),
    tags: cellTags(c),
  }));
}
