/**
 * Keeps the Lineage tree's model current. The store is read here, never in `getChildren`:
 * each refresh folds in only the bytes appended since the last one. A FileSystemWatcher on
 * `.nb2prod/lineage.jsonl` triggers (debounced) refreshes, and exists only while the view is
 * visible; becoming visible catches up once.
 */
import * as vscode from 'vscode';
import type { LineageProblem, LiveLineage } from '../core/lineage';
import type { LineageModel } from '../core/lineage/model';
import { LINEAGE_GLOB, View } from './constants';
import type { Log } from './log';
import { LineageElement, LineageSource, LineageTreeProvider } from './lineageTree';
import type { Endpoint } from './serveOps';

const DEBOUNCE_MS = 200;

interface FolderState {
  folder: vscode.WorkspaceFolder;
  live: LiveLineage;
}

export class LineageView implements vscode.Disposable {
  readonly tree = new LineageTreeProvider();
  readonly view: vscode.TreeView<LineageElement>;
  private folders = new Map<string, FolderState>();
  private watchers: vscode.Disposable[] = [];
  private timer: NodeJS.Timeout | undefined;
  private readonly subscriptions: vscode.Disposable[] = [];
  /** Serializes refreshes: two overlapping reads would fold the same bytes twice. */
  private pending: Promise<void> = Promise.resolve();
  private drawn = false;
  private readonly refreshed = new vscode.EventEmitter<void>();
  /** Fires after a refresh that read new records (Compare Runs follows it). */
  readonly onDidRefresh = this.refreshed.event;

  /**
   * `objectsDir` says where a folder's object store is (the setting, NB2PROD_OBJECTS, or the
   * default); its size is the view's description.
   */
  constructor(
    private readonly log: Log,
    private readonly objectsDir?: (folder: vscode.WorkspaceFolder) => string,
  ) {
    this.view = vscode.window.createTreeView(View.lineage, { treeDataProvider: this.tree, showCollapseAll: true });
    this.subscriptions.push(
      this.view,
      this.tree,
      this.view.onDidChangeVisibility((e) => this.onVisibility(e.visible)),
      vscode.workspace.onDidChangeWorkspaceFolders(() => {
        this.folders.clear();
        this.drawn = false;
        if (this.view.visible) this.watch();
        void this.refresh();
      }),
    );
    if (this.view.visible) this.onVisibility(true);
  }

  /** Reads what was appended to each folder's store and redraws. Safe to call any time. */
  refresh(): Promise<void> {
    this.pending = this.pending.then(() => this.refreshNow()).catch((e) => this.log.error(e as Error));
    return this.pending;
  }

  private async refreshNow(): Promise<void> {
    const { LiveLineage: Live, openStore } = await import('../core/lineage');
    const sources: LineageSource[] = [];
    const multi = (vscode.workspace.workspaceFolders?.length ?? 0) > 1;
    // Redraw only when something changed: a needless full refresh while the tree is fetching
    // children makes VS Code drop them ("No tree item with id ... found").
    let changed = this.folders.size !== (vscode.workspace.workspaceFolders?.length ?? 0) || !this.drawn;
    for (const folder of vscode.workspace.workspaceFolders ?? []) {
      const key = folder.uri.toString();
      let state = this.folders.get(key);
      if (!state) {
        state = { folder, live: new Live(openStore(folder.uri.fsPath)) };
        this.folders.set(key, state);
        changed = true;
      }
      const result = state.live.refresh();
      if (result.added > 0 || result.reset) changed = true;
      for (const p of result.problems) this.log.warn(`lineage store in ${folder.name}: ${describeProblem(p)}`);
      sources.push({ folder: folder.uri.fsPath, label: multi ? folder.name : '', model: state.live.model });
    }
    if (!changed) return;
    this.drawn = true;
    this.tree.setSources(sources);
    this.refreshed.fire();
    // Objects are only added or removed along with a record (a run, a version, a gc), so a
    // refresh that read new records is when the size can have changed. Not awaited: listing a
    // large store must not hold up the tree.
    void this.describeStore().catch((e) => this.log.warn(`object store size: ${(e as Error).message}`));
  }

  /** Sums the object sizes of every folder's store (a store two folders share counts once). */
  private async describeStore(): Promise<void> {
    if (!this.objectsDir) return;
    const { openObjectStore } = await import('../core/store/objects');
    const { formatBytes } = await import('../core/lineage/render');
    const dirs = new Set((vscode.workspace.workspaceFolders ?? []).map((f) => this.objectsDir!(f)));
    let bytes = 0;
    let count = 0;
    for (const dir of dirs) {
      for (const o of await openObjectStore(dir).list()) {
        bytes += o.bytes;
        count++;
      }
    }
    this.view.description = count > 0 ? `object store ${formatBytes(bytes)}` : undefined;
  }

  /** Shows a running endpoint under its run (expanding the run), when the view is open; never takes focus. */
  async revealEndpoint(endpoint: Endpoint): Promise<void> {
    const element = this.tree.endpointElement(endpoint);
    if (!element || !this.view.visible) return;
    await this.view.reveal(element, { select: false, focus: false, expand: false });
  }

  /** The folded lineage of a workspace folder, as of the last refresh. */
  model(workspaceDir: string): LineageModel | undefined {
    for (const state of this.folders.values()) if (state.folder.uri.fsPath === workspaceDir) return state.live.model;
    return undefined;
  }

  private onVisibility(visible: boolean): void {
    if (visible) {
      this.watch();
      void this.refresh();
    } else {
      this.unwatch();
    }
  }

  private watch(): void {
    this.unwatch();
    for (const folder of vscode.workspace.workspaceFolders ?? []) {
      const watcher = vscode.workspace.createFileSystemWatcher(new vscode.RelativePattern(folder, LINEAGE_GLOB));
      const schedule = () => this.schedule();
      this.watchers.push(watcher, watcher.onDidChange(schedule), watcher.onDidCreate(schedule), watcher.onDidDelete(schedule));
    }
  }

  private unwatch(): void {
    for (const d of this.watchers) d.dispose();
    this.watchers = [];
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  private schedule(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.refresh();
    }, DEBOUNCE_MS);
  }

  dispose(): void {
    this.unwatch();
    for (const d of this.subscriptions) d.dispose();
    this.refreshed.dispose();
  }
}

function describeProblem(p: LineageProblem): string {
  return `line ${p.line} (${p.kind}): ${p.message}`;
}
