/**
 * Plan diagnostics in the Problems view. When the notebook is open, each one sits on its cell
 * (and line), so clicking it lands in the cell; otherwise it sits on the .ipynb file and its
 * message names the cell.
 */
import * as vscode from 'vscode';
import type { Diagnostic as CoreDiagnostic } from '../core/errors';

const SEVERITY: Record<CoreDiagnostic['severity'], vscode.DiagnosticSeverity> = {
  error: vscode.DiagnosticSeverity.Error,
  warning: vscode.DiagnosticSeverity.Warning,
  info: vscode.DiagnosticSeverity.Information,
};

export class PlanDiagnostics implements vscode.Disposable {
  private readonly collection = vscode.languages.createDiagnosticCollection('nb2prod');
  /** Notebook uri -> the uris (notebook and cells) its diagnostics were put on. */
  private readonly placed = new Map<string, vscode.Uri[]>();

  set(notebook: vscode.Uri, diagnostics: readonly CoreDiagnostic[], document?: vscode.NotebookDocument): void {
    this.clear(notebook);
    const byUri = new Map<string, { uri: vscode.Uri; items: vscode.Diagnostic[] }>();
    const add = (uri: vscode.Uri, d: vscode.Diagnostic) => {
      const entry = byUri.get(uri.toString()) ?? { uri, items: [] };
      entry.items.push(d);
      byUri.set(uri.toString(), entry);
    };
    for (const d of diagnostics) {
      const cell = d.cell !== undefined && document && d.cell < document.cellCount ? document.cellAt(d.cell) : undefined;
      if (cell) {
        add(cell.document.uri, this.toVscode(d, d.message, rangeIn(cell.document, d.line, d.column)));
      } else {
        const where = d.cell !== undefined ? `cell ${d.cell + 1}${d.line !== undefined ? `, line ${d.line}` : ''}: ` : '';
        add(notebook, this.toVscode(d, where + d.message, new vscode.Range(0, 0, 0, 0)));
      }
    }
    for (const { uri, items } of byUri.values()) this.collection.set(uri, items);
    this.placed.set(notebook.toString(), [...byUri.values()].map((e) => e.uri));
  }

  clear(notebook: vscode.Uri): void {
    for (const uri of this.placed.get(notebook.toString()) ?? []) this.collection.delete(uri);
    this.placed.delete(notebook.toString());
  }

  /** For tests and the plan view: what is currently shown for a notebook. */
  get(notebook: vscode.Uri): { uri: vscode.Uri; diagnostics: readonly vscode.Diagnostic[] }[] {
    return (this.placed.get(notebook.toString()) ?? []).map((uri) => ({ uri, diagnostics: this.collection.get(uri) ?? [] }));
  }

  private toVscode(d: CoreDiagnostic, message: string, range: vscode.Range): vscode.Diagnostic {
    const diagnostic = new vscode.Diagnostic(range, message, SEVERITY[d.severity]);
    diagnostic.source = 'nb2prod';
    return diagnostic;
  }

  dispose(): void {
    this.collection.dispose();
    this.placed.clear();
  }
}

/** Core lines and columns are 1-based; no line means the whole first line of the cell. */
function rangeIn(doc: vscode.TextDocument, line?: number, column?: number): vscode.Range {
  if (doc.lineCount === 0) return new vscode.Range(0, 0, 0, 0);
  const l = Math.min(Math.max((line ?? 1) - 1, 0), doc.lineCount - 1);
  const text = doc.lineAt(l);
  if (column === undefined) return new vscode.Range(l, text.firstNonWhitespaceCharacterIndex, l, text.text.length);
  const start = Math.min(Math.max(column - 1, 0), text.text.length);
  const word = doc.getWordRangeAtPosition(new vscode.Position(l, start));
  return word ?? new vscode.Range(l, start, l, text.text.length);
}
