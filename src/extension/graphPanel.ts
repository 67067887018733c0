/**
 * The Pipeline Graph: one webview panel per notebook. The panel follows the notebook (edits and
 * retags re-plan after a short pause), follows the cell selection both ways, and shows the
 * steps of a run as they go. The page itself (src/webview/graph) lays out and draws; this side
 * only plans and sends messages (src/webview/protocol.ts).
 */
import * as path from 'path';
import * as vscode from 'vscode';
import { Nb2prodError } from '../core/errors';
import type { PipelineGraph } from '../core/plan/graph';
import { FromGraph, GRAPH_VIEW_TYPE, GraphState, RunOverlay, ToGraph } from '../webview/protocol';
import type { OutputLog } from './log';
import { NotebookTarget, openNotebookDocument, revealCell, workspaceDirFor } from './notebooks';
import type { PipelineOps } from './pipelineOps';
import { webviewHtml, webviewOptions } from './webviews';

/** Long enough to let a burst of keystrokes settle, short enough to feel live. */
const REPLAN_DEBOUNCE_MS = 250;

/** What the page reported after drawing: for the tests and the log. */
export interface GraphRendered {
  revision: number;
  nodes: number;
  edges: number;
  layoutMs: number;
  renderMs: number;
  /** When the extension host received the report (Date.now()). */
  at: number;
}

export class GraphPanels implements vscode.Disposable {
  private readonly panels = new Map<string, GraphPanel>();
  private readonly rendered = new vscode.EventEmitter<{ notebook: vscode.Uri; rendered: GraphRendered }>();
  /** Fires each time a page finished drawing a graph. */
  readonly onDidRender = this.rendered.event;
  private readonly subscriptions: vscode.Disposable[];

  constructor(
    private readonly extensionUri: vscode.Uri,
    private readonly ops: PipelineOps,
    private readonly log: OutputLog,
  ) {
    this.subscriptions = [
      // Restores graphs that were open when the window closed (their state names the notebook).
      vscode.window.registerWebviewPanelSerializer(GRAPH_VIEW_TYPE, {
        deserializeWebviewPanel: async (panel, state: GraphState | undefined) => {
          if (!state?.notebookUri) {
            panel.dispose();
            return;
          }
          const uri = vscode.Uri.parse(state.notebookUri);
          this.adopt(panel, { uri, workspaceDir: workspaceDirFor(uri), document: openNotebookDocument(uri) });
        },
      }),
      ops.onRunProgress((e) => this.panels.get(e.notebook.toString())?.showRun(e.run)),
      vscode.workspace.onDidGrantWorkspaceTrust(() => {
        for (const p of this.panels.values()) p.replan();
      }),
      this.rendered,
    ];
  }

  /** Opens (or reveals) the graph of a notebook. */
  async show(target: NotebookTarget): Promise<GraphPanel> {
    const existing = this.panels.get(target.uri.toString());
    if (existing) {
      existing.panel.reveal(undefined, true);
      return existing;
    }
    const panel = vscode.window.createWebviewPanel(GRAPH_VIEW_TYPE, graphTitle(target.uri), { viewColumn: vscode.ViewColumn.Beside, preserveFocus: true }, webviewOptions(this.extensionUri));
    return this.adopt(panel, target);
  }

  get(notebook: vscode.Uri): GraphPanel | undefined {
    return this.panels.get(notebook.toString());
  }

  private adopt(panel: vscode.WebviewPanel, target: NotebookTarget): GraphPanel {
    const key = target.uri.toString();
    const graph = new GraphPanel(panel, target, this.extensionUri, this.ops, this.log, (rendered) => this.rendered.fire({ notebook: target.uri, rendered }));
    this.panels.set(key, graph);
    panel.onDidDispose(() => {
      if (this.panels.get(key) === graph) this.panels.delete(key);
      graph.dispose();
    });
    return graph;
  }

  dispose(): void {
    for (const p of this.panels.values()) p.panel.dispose();
    for (const d of this.subscriptions) d.dispose();
  }
}

export class GraphPanel implements vscode.Disposable {
  private readonly subscriptions: vscode.Disposable[] = [];
  private graph: PipelineGraph | undefined;
  private run: RunOverlay | undefined;
  private revision = 0;
  private timer: NodeJS.Timeout | undefined;
  /** Re-plans in flight are serialized: a slow one must not overwrite a newer graph. */
  private planning: Promise<void> = Promise.resolve();
  lastRendered: GraphRendered | undefined;

  constructor(
    readonly panel: vscode.WebviewPanel,
    private target: NotebookTarget,
    extensionUri: vscode.Uri,
    private readonly ops: PipelineOps,
    private readonly log: OutputLog,
    private readonly onRendered: (r: GraphRendered) => void,
  ) {
    panel.title = graphTitle(target.uri);
    panel.iconPath = vscode.Uri.joinPath(extensionUri, 'media', 'nb2prod.svg');
    panel.webview.options = webviewOptions(extensionUri);
    panel.webview.html = webviewHtml(panel.webview, extensionUri, 'graph', { notebook: target.uri.toString() });
    this.subscriptions.push(
      panel.webview.onDidReceiveMessage((m: FromGraph) => this.receive(m)),
      vscode.workspace.onDidChangeNotebookDocument((e) => {
        if (e.notebook.uri.toString() !== target.uri.toString()) return;
        this.target = { ...this.target, document: e.notebook };
        this.schedule();
      }),
      vscode.workspace.onDidOpenNotebookDocument((doc) => {
        if (doc.uri.toString() === target.uri.toString()) this.target = { ...this.target, document: doc };
      }),
      vscode.workspace.onDidSaveNotebookDocument((doc) => {
        if (doc.uri.toString() === target.uri.toString()) this.schedule();
      }),
      vscode.window.onDidChangeNotebookEditorSelection((e) => {
        if (e.notebookEditor.notebook.uri.toString() !== target.uri.toString()) return;
        this.post({ type: 'select', step: this.stepOfCell(e.selections[0]?.start) });
      }),
    );
  }

  /** Plans now and sends the graph (the page keeps its zoom and position). */
  replan(): Promise<void> {
    this.planning = this.planning.then(async () => {
      try {
        const plan = await this.ops.plan(this.target);
        const { pipelineGraph } = await import('../core/plan/graph');
        this.graph = pipelineGraph(plan);
        this.revision++;
        this.sendGraph();
      } catch (e) {
        this.log.warn(`graph of ${this.target.uri.fsPath}: ${(e as Error).message}`);
        this.post({ type: 'planFailed', message: e instanceof Nb2prodError ? e.message : `cannot plan the notebook: ${(e as Error).message}` });
      }
    });
    return this.planning;
  }

  /** The graph as last sent to the page (for tests). */
  get currentGraph(): PipelineGraph | undefined {
    return this.graph;
  }

  showRun(run: RunOverlay): void {
    this.run = run;
    this.post({ type: 'run', run });
  }

  private schedule(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.replan(), REPLAN_DEBOUNCE_MS);
  }

  private sendGraph(): void {
    if (this.graph) this.post({ type: 'graph', graph: this.graph, readOnly: !vscode.workspace.isTrusted, revision: this.revision });
  }

  private async receive(m: FromGraph): Promise<void> {
    switch (m.type) {
      case 'ready':
        // A fresh page (first open, shown again, reloaded): it gets everything known so far.
        if (this.graph) this.sendGraph();
        else await this.replan();
        if (this.run) this.post({ type: 'run', run: this.run });
        this.post({ type: 'select', step: this.stepOfCell(this.selectedCell()) });
        return;
      case 'reveal': {
        const cell = this.graph?.nodes.find((n) => n.id === m.step)?.cells[0];
        if (cell) await revealCell(this.target, cell);
        return;
      }
      case 'showProblems':
        await vscode.commands.executeCommand('workbench.actions.view.problems');
        return;
      case 'exportSvg': {
        const name = `${path.basename(this.target.uri.fsPath, '.ipynb')}-pipeline.svg`;
        const uri = await vscode.window.showSaveDialog({ defaultUri: vscode.Uri.joinPath(this.target.uri, '..', name), filters: { SVG: ['svg'] } });
        if (uri) await vscode.workspace.fs.writeFile(uri, Buffer.from(m.svg, 'utf8'));
        return;
      }
      case 'rendered':
        this.lastRendered = { ...m, at: Date.now() };
        this.log.debug(`graph of ${path.basename(this.target.uri.fsPath)}: ${m.nodes} steps laid out in ${m.layoutMs.toFixed(1)} ms, drawn in ${m.renderMs.toFixed(1)} ms`);
        this.onRendered(this.lastRendered);
        return;
    }
  }

  private selectedCell(): number | undefined {
    const editor = vscode.window.visibleNotebookEditors.find((e) => e.notebook.uri.toString() === this.target.uri.toString());
    return editor?.selection.start;
  }

  private stepOfCell(index: number | undefined): string | undefined {
    if (index === undefined) return undefined;
    return this.graph?.nodes.find((n) => n.cells.some((c) => c.index === index))?.id;
  }

  private post(message: ToGraph): void {
    void this.panel.webview.postMessage(message);
  }

  dispose(): void {
    if (this.timer) clearTimeout(this.timer);
    for (const d of this.subscriptions) d.dispose();
  }
}

function graphTitle(uri: vscode.Uri): string {
  return `Graph: ${path.basename(uri.fsPath)}`;
}
