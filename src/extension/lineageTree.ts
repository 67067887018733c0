/**
 * The Lineage tree: Notebook > Version > (Files, Build > (Run, Push), Run, Export) > Step >
 * Artifact, plus a run's metrics. It only displays the model it is given: `getChildren` walks memory and never
 * reads a file or calls Docker (the LineageView refreshes the model and fires the change).
 */
import * as path from 'path';
import * as vscode from 'vscode';
import type { BuildNode, ExportNode, LineageModel, NotebookNode, PushNode, ReproductionNode, RunNode, ServeNode, StepNode, VersionNode } from '../core/lineage';
import { digestReference } from '../core/docker/reference';
import type { ArtifactHash, FileHash, ReproductionEntry } from '../core/lineage';
import { Command, ItemFlag, ItemType } from './constants';
import { EXPORT_TARGET_LABELS } from './publishOps';
import type { Endpoint } from './serveOps';

/** One workspace folder's model. */
export interface LineageSource {
  folder: string;
  label: string;
  model: LineageModel;
}

export type LineageElement =
  | { type: 'notebook'; source: LineageSource; node: NotebookNode }
  | { type: 'version'; source: LineageSource; node: VersionNode; index: number }
  | { type: 'files'; source: LineageSource; version: VersionNode }
  | { type: 'file'; source: LineageSource; file: FileHash; version: VersionNode }
  | { type: 'build'; source: LineageSource; node: BuildNode }
  | { type: 'run'; source: LineageSource; node: RunNode }
  | { type: 'push'; source: LineageSource; node: PushNode }
  | { type: 'export'; source: LineageSource; node: ExportNode }
  | { type: 'step'; source: LineageSource; run: RunNode; step: StepNode }
  | { type: 'artifact'; source: LineageSource; run: RunNode; artifact: ArtifactHash }
  | { type: 'metric'; source: LineageSource; run: RunNode; name: string; value: unknown }
  | { type: 'reproduction'; source: LineageSource; run: RunNode; node: ReproductionNode }
  | { type: 'difference'; source: LineageSource; reproduction: ReproductionNode; entry: ReproductionEntry }
  | { type: 'endpoint'; source: LineageSource; run: RunNode; endpoint: Endpoint }
  | { type: 'serve'; source: LineageSource; run: RunNode; node: ServeNode };

export class LineageTreeProvider implements vscode.TreeDataProvider<LineageElement>, vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<LineageElement | undefined>();
  readonly onDidChangeTreeData = this.changed.event;
  private sources: LineageSource[] = [];
  /** Endpoints running now (Serve Model), shown under the run they serve. */
  private endpoints: Endpoint[] = [];
  /** Injected clock so relative times are testable. */
  now: () => number = Date.now;

  setSources(sources: LineageSource[]): void {
    this.sources = sources;
    this.changed.fire(undefined);
  }

  setEndpoints(endpoints: Endpoint[]): void {
    this.endpoints = endpoints;
    this.changed.fire(undefined);
  }

  private endpointsOf(source: LineageSource, run: RunNode): Endpoint[] {
    return this.endpoints.filter((e) => e.workspaceDir === source.folder && e.runRecordId === run.id);
  }

  getChildren(element?: LineageElement): LineageElement[] {
    if (!element) {
      return this.sources.flatMap((source) =>
        [...source.model.notebooks.values()]
          .sort((a, b) => a.path.localeCompare(b.path))
          .map((node) => ({ type: 'notebook' as const, source, node })),
      );
    }
    const { source } = element;
    switch (element.type) {
      case 'notebook': {
        const versions = element.node.versions.map((node, index) => ({ type: 'version' as const, source, node, index }));
        const orphans = [
          ...element.node.unversioned.builds.map((node) => ({ type: 'build' as const, source, node })),
          ...element.node.unversioned.runs.filter((r) => !r.build).map((node) => ({ type: 'run' as const, source, node })),
          ...element.node.unversioned.pushes.filter((p) => !p.build).map((node) => ({ type: 'push' as const, source, node })),
          ...element.node.unversioned.exports.map((node) => ({ type: 'export' as const, source, node })),
        ];
        return [...versions.reverse(), ...orphans];
      }
      case 'version': {
        const v = element.node;
        const files: LineageElement[] = v.record.files.length ? [{ type: 'files', source, version: v }] : [];
        const builds = v.builds.map((node) => ({ type: 'build' as const, source, node }));
        const runs = v.runs.filter((r) => !r.build).map((node) => ({ type: 'run' as const, source, node }));
        const pushes = v.pushes.filter((p) => !p.build).map((node) => ({ type: 'push' as const, source, node }));
        const exports = v.exports.map((node) => ({ type: 'export' as const, source, node }));
        // Newest first, like the versions themselves.
        const byTime = [...builds, ...runs, ...pushes, ...exports].sort((a, b) => b.node.ts.localeCompare(a.node.ts));
        return [...files, ...byTime];
      }
      case 'files':
        return element.version.record.files.map((file) => ({ type: 'file' as const, source, file, version: element.version }));
      case 'build': {
        const runs = element.node.runs.map((node) => ({ type: 'run' as const, source, node }));
        const pushes = element.node.pushes.map((node) => ({ type: 'push' as const, source, node }));
        return [...runs, ...pushes].sort((a, b) => b.node.record.ts.localeCompare(a.node.record.ts));
      }
      case 'run': {
        const run = element.node;
        const steps = source.model.steps(run).map((step) => ({ type: 'step' as const, source, run, step }));
        const metrics = Object.entries(run.record.metrics ?? {}).map(([name, value]) => ({ type: 'metric' as const, source, run, name, value }));
        const reproductions = run.reproductions.map((node) => ({ type: 'reproduction' as const, source, run, node }));
        const live = this.endpointsOf(source, run);
        const endpoints = live.map((endpoint) => ({ type: 'endpoint' as const, source, run, endpoint }));
        // The serving a live endpoint stands for shows as that endpoint until it stops.
        const serves = [...run.serves]
          .reverse()
          .filter((node) => !live.some((endpoint) => recordedBy(endpoint, node)))
          .map((node) => ({ type: 'serve' as const, source, run, node }));
        return [...endpoints, ...steps, ...metrics, ...reproductions, ...serves];
      }
      case 'reproduction':
        return differences(element.node).map((entry) => ({ type: 'difference' as const, source, reproduction: element.node, entry }));
      case 'step':
        return element.step.artifacts.map((artifact) => ({ type: 'artifact' as const, source, run: element.run, artifact }));
      default:
        return [];
    }
  }

  /**
   * The element's parent, as `getChildren` places it: what `TreeView.reveal` walks up (Serve
   * Model reveals the endpoint it started, which expands its run).
   */
  getParent(e: LineageElement): LineageElement | undefined {
    const { source } = e;
    const notebook = (path: string): LineageElement | undefined => {
      const node = source.model.notebooks.get(path);
      return node && { type: 'notebook', source, node };
    };
    const version = (v: VersionNode | undefined, nb: string): LineageElement | undefined =>
      v ? { type: 'version', source, node: v, index: v.notebook.versions.indexOf(v) } : notebook(nb);
    const run = (r: RunNode): LineageElement => ({ type: 'run', source, node: r });
    switch (e.type) {
      case 'notebook':
        return undefined;
      case 'version':
        return notebook(e.node.notebook.path);
      case 'files':
        return version(e.version, e.version.record.notebook);
      case 'file':
        return { type: 'files', source, version: e.version };
      case 'build':
      case 'export':
        return version(e.node.version, e.node.record.notebook);
      case 'run':
      case 'push':
        return e.node.build ? { type: 'build', source, node: e.node.build } : version(e.node.version, e.node.record.notebook);
      case 'step':
      case 'metric':
      case 'reproduction':
      case 'endpoint':
      case 'serve':
        return run(e.run);
      case 'artifact': {
        const step = source.model.steps(e.run).find((s) => s.artifacts.some((a) => a.path === e.artifact.path));
        return step && { type: 'step', source, run: e.run, step };
      }
      case 'difference':
        return e.reproduction.original && { type: 'reproduction', source, run: e.reproduction.original, node: e.reproduction };
    }
  }

  /** The tree element of a running endpoint, once its run is in the model. */
  endpointElement(endpoint: Endpoint): LineageElement | undefined {
    const source = this.sources.find((s) => s.folder === endpoint.workspaceDir);
    const run = source?.model.get(endpoint.runRecordId);
    return source && run?.kind === 'run' ? { type: 'endpoint', source, run, endpoint } : undefined;
  }

  getTreeItem(element: LineageElement): vscode.TreeItem {
    const item = this.item(element);
    item.id = elementId(element);
    return item;
  }

  private item(e: LineageElement): vscode.TreeItem {
    const collapsed = vscode.TreeItemCollapsibleState.Collapsed;
    const none = vscode.TreeItemCollapsibleState.None;
    switch (e.type) {
      case 'notebook': {
        const item = new vscode.TreeItem(path.posix.basename(e.node.path), vscode.TreeItemCollapsibleState.Expanded);
        const dir = path.posix.dirname(e.node.path);
        item.description = [dir === '.' ? '' : dir, this.sources.length > 1 ? e.source.label : ''].filter(Boolean).join(' · ');
        item.iconPath = new vscode.ThemeIcon('notebook');
        item.resourceUri = this.uri(e.source, e.node.path);
        item.tooltip = `${e.node.path}\n${e.node.versions.length} version(s)`;
        item.contextValue = ItemType.notebook;
        return item;
      }
      case 'version': {
        const r = e.node.record;
        const latest = e.index === e.node.notebook.versions.length - 1;
        const item = new vscode.TreeItem(`Version ${e.index + 1}`, latest ? vscode.TreeItemCollapsibleState.Expanded : collapsed);
        item.description = [this.ago(r.ts), short(r.id), latest ? 'latest' : ''].filter(Boolean).join(' · ');
        item.iconPath = new vscode.ThemeIcon('versions');
        item.tooltip = markdown([
          `**Version ${e.index + 1}** of \`${r.notebook}\``,
          '',
          row('Recorded', r.ts),
          row('Record', r.id),
          row('Notebook hash', r.notebookHash),
          row('Plan hash', r.planHash),
          r.git ? row('Git', `${r.git.commit}${r.git.dirty ? ' (uncommitted changes)' : ''}`) : '',
          row('Package', `${r.package} in ${r.outDir}`),
          row('Steps', r.steps.map((s) => s.name).join(', ') || '-'),
          row('Data files', r.data.length ? r.data.map((d) => `${d.path} (${short(d.sha256)})`).join(', ') : 'none'),
        ]);
        item.contextValue = ItemType.version + (e.index > 0 ? ItemFlag.previous : '');
        return item;
      }
      case 'files': {
        const item = new vscode.TreeItem('Generated files', collapsed);
        item.description = `${e.version.record.files.length}`;
        item.iconPath = new vscode.ThemeIcon('files');
        item.contextValue = ItemType.files;
        return item;
      }
      case 'file': {
        const outDir = e.version.record.outDir;
        const rel = e.file.path.startsWith(outDir + '/') ? e.file.path.slice(outDir.length + 1) : e.file.path;
        const item = new vscode.TreeItem(rel, none);
        item.resourceUri = this.uri(e.source, e.file.path);
        item.description = formatBytes(e.file.bytes);
        item.tooltip = markdown([row('File', e.file.path), row('sha256', e.file.sha256), row('Size', formatBytes(e.file.bytes))]);
        item.iconPath = vscode.ThemeIcon.File;
        item.command = { command: Command.openFile, title: 'Open File', arguments: [e] };
        item.contextValue = ItemType.file;
        return item;
      }
      case 'build': {
        const r = e.node.record;
        const item = new vscode.TreeItem('Image build', e.node.runs.length + e.node.pushes.length ? collapsed : none);
        item.description = [r.status, r.imageId ? short(r.imageId) : '', `${r.seconds.toFixed(1)}s`, this.ago(r.ts)].filter(Boolean).join(' · ');
        item.iconPath = statusIcon(r.status);
        item.tooltip = markdown([
          `**Image build** ${r.status}`,
          '',
          row('Image', r.imageId ?? '-'),
          row('Tags', r.tags.join(', ') || '-'),
          row('Base image', r.baseImage),
          row('Context hash', r.contextHash),
          row('Dockerfile hash', r.dockerfileHash),
          row('Duration', `${r.seconds.toFixed(1)}s`),
          row('Recorded', r.ts),
          e.node.inferredVersion ? '_Version inferred: the record did not name one._' : '',
          r.error ? '\n```\n' + r.error + '\n```' : '',
        ]);
        item.contextValue = ItemType.build + (r.imageId ? ItemFlag.image : '');
        return item;
      }
      case 'run': {
        const r = e.node.record;
        const hasChildren = (r.steps?.length ?? 0) + (r.artifacts?.length ?? 0) + Object.keys(r.metrics ?? {}).length + e.node.reproductions.length + e.node.serves.length > 0;
        const serving = this.endpointsOf(e.source, e.node).length > 0;
        const item = new vscode.TreeItem(`Run ${r.runId}`, serving ? vscode.TreeItemCollapsibleState.Expanded : hasChildren ? collapsed : none);
        item.description = [r.status, r.local ? 'local' : 'container', serving ? 'serving' : '', this.ago(r.ts)].filter(Boolean).join(' · ');
        item.iconPath = statusIcon(r.status);
        item.tooltip = markdown([
          `**Run** \`${r.runId}\` ${r.status}`,
          '',
          row('Where', r.local ? 'local Python' : `image ${r.image ?? '-'}`),
          row('Params', Object.keys(r.params ?? {}).length ? JSON.stringify(r.params) : 'defaults'),
          row('Started', r.started ?? r.ts),
          row('Finished', r.finished ?? '-'),
          row('Record', r.id),
          r.error ? '\n```\n' + r.error + '\n```' : '',
        ]);
        item.contextValue = ItemType.run + (r.status === 'succeeded' ? ItemFlag.succeeded : '');
        return item;
      }
      case 'push': {
        const r = e.node.record;
        const pushed = digestReference(r.reference, r.digest);
        // reference@digest: the tag reads as the label, the digest (what to deploy) follows it.
        const item = new vscode.TreeItem(r.reference, none);
        item.description = [`@${r.digest.slice(0, 'sha256:'.length + 12)}`, this.ago(r.ts)].join(' · ');
        item.iconPath = new vscode.ThemeIcon('cloud-upload');
        item.tooltip = markdown([
          `**Pushed** to \`${r.registry}\``,
          '',
          row('Reference', pushed),
          row('Tag', r.reference),
          row('Image', r.imageId),
          row('Pushed', r.ts),
          row('Record', r.id),
        ]);
        item.contextValue = ItemType.push;
        return item;
      }
      case 'export': {
        const r = e.node.record;
        const target = r.target === 'kserve' ? 'KServe' : (EXPORT_TARGET_LABELS[r.target] ?? r.target);
        const item = new vscode.TreeItem(target, none);
        item.description = [path.posix.basename(r.file), this.ago(r.ts)].join(' · ');
        item.iconPath = new vscode.ThemeIcon('export');
        item.resourceUri = this.uri(e.source, r.file);
        item.tooltip = markdown([
          `**Exported** for ${target}`,
          '',
          row('File', r.file),
          row('sha256', r.sha256),
          row('Image', r.image),
          row('Image from', IMAGE_SOURCES[r.imageSource] ?? r.imageSource),
          row('Recorded', r.ts),
          row('Record', r.id),
        ]);
        item.command = { command: Command.openFile, title: 'Open File', arguments: [e] };
        item.contextValue = ItemType.export;
        return item;
      }
      case 'step': {
        const s = e.step;
        const item = new vscode.TreeItem(s.name, s.artifacts.length ? collapsed : none);
        item.description = [s.status ?? '', s.seconds !== undefined ? `${s.seconds.toFixed(2)}s` : '', cellsText(s.cells)].filter(Boolean).join(' · ');
        item.iconPath = s.status ? statusIcon(s.status) : new vscode.ThemeIcon('symbol-method');
        item.tooltip = markdown([`**Step** \`${s.name}\``, '', row('Cells', cellsText(s.cells) || '-'), s.error ? '\n```\n' + s.error + '\n```' : '']);
        if (s.cells.length) item.command = { command: Command.revealCell, title: 'Reveal Source Cell', arguments: [e] };
        item.contextValue = ItemType.step + (s.cells.length ? ItemFlag.cells : '');
        return item;
      }
      case 'artifact': {
        const a = e.artifact;
        const item = new vscode.TreeItem(a.name ?? path.posix.basename(a.path), none);
        item.resourceUri = this.uri(e.source, a.path);
        item.description = formatBytes(a.bytes);
        item.iconPath = new vscode.ThemeIcon('file-binary');
        item.tooltip = markdown([row('Artifact', a.path), row('sha256', a.sha256), row('Size', formatBytes(a.bytes))]);
        item.command = { command: Command.openFile, title: 'Open Artifact', arguments: [e] };
        item.contextValue = ItemType.artifact;
        return item;
      }
      case 'metric': {
        const item = new vscode.TreeItem(`${e.name}: ${formatValue(e.value)}`, none);
        item.iconPath = new vscode.ThemeIcon('graph');
        item.contextValue = ItemType.metric;
        return item;
      }
      case 'reproduction': {
        const r = e.node.record;
        const { same, differs, new: added, missing } = r.counts;
        const item = new vscode.TreeItem(`Reproduced as ${r.reproductionRunId}`, differences(e.node).length ? vscode.TreeItemCollapsibleState.Expanded : none);
        const differing = differs + added + missing;
        item.description = [r.status, r.status === 'identical' ? `${same} same` : `${differing} of ${same + differing} differ`, this.ago(r.ts)].join(' · ');
        item.iconPath = reproductionIcon(r.status);
        item.tooltip = markdown([
          `**Reproduction** of run \`${r.originalRunId}\`: ${r.status}`,
          '',
          row('New run', r.reproductionRunId),
          row('Counts', `${same} same, ${differs} differs, ${added} new, ${missing} missing`),
          row('Where', r.local ? 'local Python' : `image ${r.image ?? '-'}${r.rebuilt ? ' (rebuilt)' : ''}`),
          ...r.nondeterministic.map((n) => row('Not deterministic', `step ${n.step} (${n.artifact})`)),
          row('Recorded', r.ts),
          row('Record', r.id),
        ]);
        item.contextValue = ItemType.reproduction;
        return item;
      }
      case 'endpoint': {
        const { session, local } = e.endpoint;
        const item = new vscode.TreeItem(session.url, none);
        item.description = ['serving', session.model, local ? 'local Python' : 'container'].join(' · ');
        item.iconPath = new vscode.ThemeIcon('radio-tower', new vscode.ThemeColor('testing.iconPassed'));
        item.tooltip = markdown([
          `**Endpoint** of \`${session.model}\`, run \`${session.runId}\``,
          '',
          row('URL', session.url),
          row('API docs', session.docsUrl),
          row('Where', local ? 'local Python' : `image ${session.image ?? '-'}`),
          row('Started', e.endpoint.started),
        ]);
        item.command = { command: Command.endpointActions, title: 'Endpoint Actions', arguments: [e.endpoint.id] };
        item.contextValue = ItemType.endpoint;
        return item;
      }
      case 'serve': {
        const r = e.node.record;
        const item = new vscode.TreeItem(r.local ? 'Served locally' : `Served from ${r.image ?? short(r.imageId)}`, none);
        item.description = [r.local ? 'local Python' : short(r.imageId), `${r.artifacts.length} artifact${r.artifacts.length === 1 ? '' : 's'}`, this.ago(r.ts)].filter(Boolean).join(' · ');
        item.iconPath = new vscode.ThemeIcon('radio-tower');
        item.tooltip = markdown([
          `**Served** as model \`${r.model}\` from run \`${r.runId}\``,
          '',
          r.function ? row('Function', `${r.function}${r.cell ? ` (cell ${r.cell.index + 1})` : ''}`) : '',
          row('Where', r.local ? 'local Python' : `image ${r.image ?? '-'}`),
          r.imageId ? row('Image ID', r.imageId) : '',
          r.baseImage ? row('Base image', r.baseImage) : '',
          row('Bundle hash', r.hash),
          ...r.artifacts.map((a) => row(`Artifact ${a.name}`, `${a.step}, ${short(a.sha256)}`)),
          row('Recorded', r.ts),
          row('Record', r.id),
        ]);
        item.contextValue = ItemType.serve + (r.imageId ? ItemFlag.image : '');
        return item;
      }
      case 'difference': {
        const d = e.entry;
        const item = new vscode.TreeItem(d.kind === 'metric' ? `metric ${d.name}` : d.name, none);
        const value = (v: string | undefined) => (v === undefined ? '-' : d.kind === 'artifact' ? short(v) : v);
        item.description = `${d.outcome} · ${value(d.was)} → ${value(d.now)}`;
        item.iconPath = new vscode.ThemeIcon(d.outcome === 'new' ? 'diff-added' : d.outcome === 'missing' ? 'diff-removed' : 'diff-modified');
        item.tooltip = markdown([`**${d.outcome}**: ${d.kind} \`${d.name}\``, '', row('Original', d.was ?? '-'), row('Reproduction', d.now ?? '-')]);
        item.contextValue = ItemType.difference;
        return item;
      }
    }
  }

  private uri(source: LineageSource, rel: string): vscode.Uri {
    return vscode.Uri.file(path.resolve(source.folder, rel));
  }

  private ago(iso: string): string {
    return relativeTime(iso, this.now());
  }

  dispose(): void {
    this.changed.dispose();
  }
}

function elementId(e: LineageElement): string {
  const base = `${e.source.folder}|`;
  switch (e.type) {
    case 'notebook':
      return `${base}nb:${e.node.path}`;
    case 'version':
    case 'build':
    case 'run':
    case 'push':
    case 'export':
      return `${base}${e.node.id}`;
    case 'files':
      return `${base}${e.version.id}/files`;
    case 'file':
      return `${base}${e.version.id}/files/${e.file.path}`;
    case 'step':
      return `${base}${e.run.id}/step/${e.step.name}`;
    case 'artifact':
      return `${base}${e.run.id}/artifact/${e.artifact.path}`;
    case 'metric':
      return `${base}${e.run.id}/metric/${e.name}`;
    case 'reproduction':
      return `${base}${e.node.id}`;
    case 'difference':
      return `${base}${e.reproduction.id}/${e.entry.kind}/${e.entry.name}`;
    case 'endpoint':
      return `${base}${e.run.id}/endpoint/${e.endpoint.id}`;
    case 'serve':
      return `${base}${e.node.id}`;
  }
}

/** Whether the serve record is the one the endpoint's start wrote (the session does not name its record). */
function recordedBy(endpoint: Endpoint, node: ServeNode): boolean {
  const r = node.record;
  return r.local === endpoint.local && (endpoint.local || r.image === endpoint.session.image) && node.ts >= endpoint.requested;
}

/** What a reproduction shows under it: only what did not come out the same. */
function differences(node: ReproductionNode): ReproductionEntry[] {
  return node.record.entries.filter((x) => x.outcome !== 'same');
}

/** A check when every artifact and metric came out the same. */
function reproductionIcon(status: string): vscode.ThemeIcon {
  switch (status) {
    case 'identical':
      return new vscode.ThemeIcon('check', new vscode.ThemeColor('testing.iconPassed'));
    case 'differs':
      return new vscode.ThemeIcon('diff', new vscode.ThemeColor('problemsWarningIcon.foreground'));
    default:
      return statusIcon(status);
  }
}

/** Says where an exported file's image reference came from (the record's `imageSource`). */
const IMAGE_SOURCES: Record<string, string> = {
  option: 'given explicitly',
  pushed: 'the last push of this pipeline',
  local: 'the local build tag (a cluster cannot pull it: push the image)',
};

/** `just now`, `5 min ago`, `3 h ago`, `2 d ago`, then the date. */
export function relativeTime(iso: string, now: number): string {
  const t = Date.parse(iso);
  if (Number.isNaN(t)) return '';
  const s = Math.max(0, Math.round((now - t) / 1000));
  if (s < 45) return 'just now';
  if (s < 3600) return `${Math.max(1, Math.round(s / 60))} min ago`;
  if (s < 86400) return `${Math.round(s / 3600)} h ago`;
  if (s < 86400 * 30) return `${Math.round(s / 86400)} d ago`;
  return iso.slice(0, 10);
}

function statusIcon(status: string): vscode.ThemeIcon {
  switch (status) {
    case 'succeeded':
      return new vscode.ThemeIcon('pass', new vscode.ThemeColor('testing.iconPassed'));
    case 'up-to-date':
      return new vscode.ThemeIcon('check', new vscode.ThemeColor('testing.iconPassed'));
    case 'failed':
      return new vscode.ThemeIcon('error', new vscode.ThemeColor('testing.iconFailed'));
    case 'cancelled':
      return new vscode.ThemeIcon('circle-slash', new vscode.ThemeColor('testing.iconSkipped'));
    default:
      return new vscode.ThemeIcon('circle-outline');
  }
}

function short(hash: string | undefined): string {
  return hash ? hash.replace(/^sha256:/, '').slice(0, 12) : '';
}

function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KB`;
  return `${(n / 1024 / 1024).toFixed(1)} MB`;
}

function formatValue(v: unknown): string {
  if (typeof v === 'number') return Number.isInteger(v) ? String(v) : String(Number(v.toPrecision(4)));
  return typeof v === 'string' ? v : JSON.stringify(v);
}

function cellsText(cells: { index: number }[]): string {
  if (!cells.length) return '';
  return `cell${cells.length > 1 ? 's' : ''} ${cells.map((c) => c.index + 1).join(', ')}`;
}

function row(name: string, value: string): string {
  return `${name}: \`${value}\`  `;
}

function markdown(lines: string[]): vscode.MarkdownString {
  return new vscode.MarkdownString(lines.filter((l) => l !== '').join('\n'));
}
