/**
 * Compare Runs: one webview panel per notebook showing its recorded runs (src/webview/runs).
 * The rows come from the Lineage view's model and are sent again whenever it reads new
 * records, so a run finishing elsewhere shows up here too.
 */
import * as path from 'path';
import * as vscode from 'vscode';
import { FromRuns, RUNS_VIEW_TYPE, RunsState, ToRuns } from '../webview/protocol';
import type { LineageView } from './lineageView';
import { NotebookTarget, workspaceDirFor } from './notebooks';
import { webviewHtml, webviewOptions } from './webviews';

export class RunsPanels implements vscode.Disposable {
  private readonly panels = new Map<string, { panel: vscode.WebviewPanel; target: NotebookTarget }>();
  private readonly subscriptions: vscode.Disposable[];

  constructor(
    private readonly extensionUri: vscode.Uri,
    private readonly lineage: LineageView,
  ) {
    this.subscriptions = [
      vscode.window.registerWebviewPanelSerializer(RUNS_VIEW_TYPE, {
        deserializeWebviewPanel: async (panel, state: RunsState | undefined) => {
          if (!state?.notebookUri) return panel.dispose();
          const uri = vscode.Uri.parse(state.notebookUri);
          this.adopt(panel, { uri, workspaceDir: workspaceDirFor(uri) });
        },
      }),
      lineage.onDidRefresh(() => {
        for (const p of this.panels.values()) this.send(p.panel, p.target);
      }),
    ];
  }

  async show(target: NotebookTarget): Promise<vscode.WebviewPanel> {
    const existing = this.panels.get(target.uri.toString());
    if (existing) {
      existing.panel.reveal();
      return existing.panel;
    }
    const panel = vscode.window.createWebviewPanel(RUNS_VIEW_TYPE, runsTitle(target.uri), vscode.ViewColumn.Active, webviewOptions(this.extensionUri));
    this.adopt(panel, target);
    return panel;
  }

  private adopt(panel: vscode.WebviewPanel, target: NotebookTarget): void {
    const key = target.uri.toString();
    panel.title = runsTitle(target.uri);
    panel.iconPath = vscode.Uri.joinPath(this.extensionUri, 'media', 'nb2prod.svg');
    panel.webview.options = webviewOptions(this.extensionUri);
    panel.webview.html = webviewHtml(panel.webview, this.extensionUri, 'runs', { notebook: key });
    this.panels.set(key, { panel, target });
    const received = panel.webview.onDidReceiveMessage(async (m: FromRuns) => {
      if (m.type === 'ready') await this.send(panel, target);
      else if (m.type === 'exportCsv') {
        const name = `${path.basename(target.uri.fsPath, '.ipynb')}-runs.csv`;
        const uri = await vscode.window.showSaveDialog({ defaultUri: vscode.Uri.joinPath(target.uri, '..', name), filters: { CSV: ['csv'] } });
        if (uri) await vscode.workspace.fs.writeFile(uri, Buffer.from(m.csv, 'utf8'));
      }
    });
    panel.onDidDispose(() => {
      received.dispose();
      if (this.panels.get(key)?.panel === panel) this.panels.delete(key);
    });
  }

  private async send(panel: vscode.WebviewPanel, target: NotebookTarget): Promise<void> {
    await this.lineage.refresh();
    const model = this.lineage.model(target.workspaceDir);
    const notebook = path.relative(target.workspaceDir, target.uri.fsPath).split(path.sep).join('/');
    const { runRows } = await import('../core/lineage/compare');
    const message: ToRuns = { type: 'runs', notebook, rows: model ? runRows(model, notebook) : [] };
    void panel.webview.postMessage(message);
  }

  dispose(): void {
    for (const p of this.panels.values()) p.panel.dispose();
    for (const d of this.subscriptions) d.dispose();
  }
}

function runsTitle(uri: vscode.Uri): string {
  return `Runs: ${path.basename(uri.fsPath)}`;
}
