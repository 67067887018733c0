/** Read-only virtual documents (`nb2prod:` URIs) for the plan and version diffs: no "Save?" prompts. */
import * as vscode from 'vscode';
import { DOC_SCHEME } from './constants';

export class ReadonlyDocuments implements vscode.TextDocumentContentProvider, vscode.Disposable {
  private readonly contents = new Map<string, string>();
  private readonly changed = new vscode.EventEmitter<vscode.Uri>();
  readonly onDidChange = this.changed.event;
  private readonly registration = vscode.workspace.registerTextDocumentContentProvider(DOC_SCHEME, this);
  private readonly closed = vscode.workspace.onDidCloseTextDocument((d) => {
    if (d.uri.scheme === DOC_SCHEME) this.contents.delete(d.uri.toString());
  });

  provideTextDocumentContent(uri: vscode.Uri): string {
    return this.contents.get(uri.toString()) ?? '';
  }

  /** Shows `text` under a name like `wordstats.ipynb plan.md`; reusing a name updates it in place. */
  async show(name: string, text: string, language = 'markdown'): Promise<vscode.TextEditor> {
    const uri = vscode.Uri.from({ scheme: DOC_SCHEME, path: `/${name}` });
    this.contents.set(uri.toString(), text);
    this.changed.fire(uri);
    const doc = await vscode.workspace.openTextDocument(uri);
    if (doc.languageId !== language) await vscode.languages.setTextDocumentLanguage(doc, language);
    return vscode.window.showTextDocument(doc, { preview: true, viewColumn: vscode.ViewColumn.Beside });
  }

  dispose(): void {
    this.registration.dispose();
    this.closed.dispose();
    this.changed.dispose();
  }
}
