/**
 * Builds the extension's objects and registers their disposables. No file, Docker or network
 * work happens here: the lineage store is read when the view becomes visible, the core's
 * analysers and dockerode load when a command first needs them.
 */
import * as vscode from 'vscode';
import { CellStepStatusProvider } from './cellStatus';
import { registerCommands } from './commands';
import { Config } from './config';
import { PlanDiagnostics } from './diagnostics';
import { ReadonlyDocuments } from './documents';
import { ErrorHandler } from './errors';
import { GraphPanels } from './graphPanel';
import { RunsPanels } from './runsPanel';
import { LineageView } from './lineageView';
import { OutputLog } from './log';
import { PipelineOps } from './pipelineOps';
import { PublishOps } from './publishOps';
import { StoreOps } from './storeOps';
import { Endpoints } from './serveOps';
import { ServeStatus } from './serveStatus';
import { objectStoreDir } from '../core/store/objects';
import type { LineageTreeProvider } from './lineageTree';

/** What `activate` returns: for other extensions and for the integration tests. */
export interface Nb2prodApi {
  /** Milliseconds `activate` took. */
  readonly activationMs: number;
  readonly lineageTree: LineageTreeProvider;
  refreshLineage(): Promise<void>;
  /** The Lineage view's description: the object store's size once a refresh has summed it. */
  lineageDescription(): string | undefined;
  readonly diagnostics: PlanDiagnostics;
  readonly cellStatus: CellStepStatusProvider;
  readonly graphs: GraphPanels;
  /** Model endpoints running now (Serve Model), and their status bar items' texts. */
  readonly endpoints: Endpoints;
  serveStatusTexts(): string[];
}

export class Extension implements vscode.Disposable {
  readonly api: Nb2prodApi;
  private readonly disposables: vscode.Disposable[] = [];
  private readonly endpoints: Endpoints;

  constructor(context: vscode.ExtensionContext) {
    const started = performance.now();
    const log = this.own(new OutputLog('Notebook to Production'));
    const config = new Config();
    const diagnostics = this.own(new PlanDiagnostics());
    const documents = this.own(new ReadonlyDocuments());
    const lineage = this.own(new LineageView(log, (folder) => objectStoreDir(folder.uri.fsPath, config.env(folder.uri), config.get(folder.uri).objectStore)));
    const cellStatus = this.own(new CellStepStatusProvider());
    const ops = this.own(new PipelineOps(config, log, diagnostics));
    const publish = new PublishOps(ops, config, log);
    const store = new StoreOps(ops, config, log);
    const errors = new ErrorHandler(log);
    const graphs = this.own(new GraphPanels(context.extensionUri, ops, log));
    const runs = this.own(new RunsPanels(context.extensionUri, lineage));
    const endpoints = (this.endpoints = this.own(new Endpoints(ops, config, log)));
    const serveStatus = this.own(new ServeStatus(endpoints));
    this.disposables.push(endpoints.onDidChange(() => lineage.tree.setEndpoints(endpoints.list())));
    this.disposables.push(...registerCommands({ ops, publish, store, config, lineage, documents, log, errors, graphs, runs, endpoints }));
    this.disposables.push(
      vscode.workspace.onDidCloseNotebookDocument((doc) => diagnostics.clear(doc.uri)),
      vscode.workspace.onDidGrantWorkspaceTrust(() => log.info('workspace trusted: build, run, serve and push are available')),
    );
    const activationMs = performance.now() - started;
    log.info(`activated in ${activationMs.toFixed(1)} ms (${context.extensionMode === vscode.ExtensionMode.Production ? 'production' : 'development'})`);
    this.api = {
      activationMs,
      lineageTree: lineage.tree,
      refreshLineage: () => lineage.refresh(),
      lineageDescription: () => lineage.view.description,
      diagnostics,
      cellStatus,
      graphs,
      endpoints,
      serveStatusTexts: () => serveStatus.texts(),
    };
  }

  /** Deactivation: endpoints are stopped (their containers removed) before the host goes away. */
  async deactivate(): Promise<void> {
    await this.endpoints.stopAll();
  }

  private own<T extends vscode.Disposable>(d: T): T {
    this.disposables.push(d);
    return d;
  }

  dispose(): void {
    // Reverse order: commands go before the services they use.
    for (const d of this.disposables.reverse()) d.dispose();
  }
}
