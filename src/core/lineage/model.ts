/**
 * The lineage model: records folded into Notebook → Version → Build / Run / Export → Step → Artifact / Metric,
 * Build → Push (an image pushed to a registry), Run → Reproduction (the run run again and compared)
 * and Run → Serve (the run's model served).
 *
 * Folding is incremental (`apply` takes only new records), so a tree can refresh on each appended
 * line. Records arrive in file order, which is time order: a build or run that does not name its
 * version belongs to the latest version of its notebook seen so far.
 */
import type { ArtifactHash, BuildRecord, ExportRecord, LineageRecord, PushRecord, ReproductionRecord, RunRecord, ServeRecord, VersionRecord } from './records';
import { entryOf, RecordEntry } from './scan';

export interface NotebookNode {
  path: string;
  versions: VersionNode[];
  /** Builds, runs, pushes and exports whose version is unknown (named but missing, or recorded before any version). */
  unversioned: { builds: BuildNode[]; runs: RunNode[]; pushes: PushNode[]; exports: ExportNode[] };
}

export interface VersionNode {
  kind: 'version';
  id: string;
  ts: string;
  /** Parsed from the store on first use. */
  readonly record: VersionRecord;
  notebook: NotebookNode;
  builds: BuildNode[];
  runs: RunNode[];
  /** All pushes of this version's images, also those listed under their build. */
  pushes: PushNode[];
  exports: ExportNode[];
}

export interface BuildNode {
  kind: 'build';
  id: string;
  ts: string;
  status?: string;
  readonly record: BuildRecord;
  version?: VersionNode;
  /** True when the record did not name its version and the model placed it under the latest one. */
  inferredVersion: boolean;
  runs: RunNode[];
  pushes: PushNode[];
}

export interface RunNode {
  kind: 'run';
  id: string;
  ts: string;
  status?: string;
  readonly record: RunRecord;
  version?: VersionNode;
  build?: BuildNode;
  inferredVersion: boolean;
  /** Times this run was run again and compared (`nb2prod reproduce`). */
  reproductions: ReproductionNode[];
  /** Times its model was served (`nb2prod serve`), oldest first. */
  serves: ServeNode[];
}

export interface PushNode {
  kind: 'push';
  id: string;
  ts: string;
  status?: string;
  readonly record: PushRecord;
  version?: VersionNode;
  /** The build that made the pushed image; undefined when its record is not in the store. */
  build?: BuildNode;
  inferredVersion: boolean;
}

/** A KFP or Argo file written from a version (`nb2prod export`). */
export interface ExportNode {
  kind: 'export';
  id: string;
  ts: string;
  readonly record: ExportRecord;
  version?: VersionNode;
  inferredVersion: boolean;
}

/** A run run again and compared with it; listed under the original run. */
export interface ReproductionNode {
  kind: 'reproduction';
  id: string;
  ts: string;
  status?: string;
  readonly record: ReproductionRecord;
  /** The run reproduced and the new run; undefined when a record is not in the store. */
  original?: RunNode;
  reproduction?: RunNode;
}

/** The model of a run served (`nb2prod serve`): in a serving image or by a local server. */
export interface ServeNode {
  kind: 'serve';
  id: string;
  ts: string;
  readonly record: ServeRecord;
  /** The run served; undefined when its record is not in the store. */
  run?: RunNode;
  version?: VersionNode;
}

export interface StepNode {
  name: string;
  status?: string;
  seconds?: number;
  error?: string;
  /** Source cells, from the version the run belongs to. */
  cells: { index: number; id: string }[];
  artifacts: ArtifactHash[];
}

export type LineageNode = VersionNode | BuildNode | RunNode | PushNode | ExportNode | ReproductionNode | ServeNode;

export interface ModelIssue {
  id: string;
  message: string;
}

export class LineageModel {
  readonly notebooks = new Map<string, NotebookNode>();
  readonly byId = new Map<string, LineageNode>();
  /** Not chain problems (see verify): duplicates and dangling references met while folding. */
  readonly issues: ModelIssue[] = [];
  private count = 0;
  // Built on the first trace query, then kept up to date by `apply`.
  private artifactIndex?: { byPath: Map<string, RunNode[]>; bySha: Map<string, RunNode[]> };

  get size(): number {
    return this.count;
  }

  /** Fold new records in; returns the notebook paths whose subtree changed. */
  apply(records: Iterable<LineageRecord>): Set<string> {
    const entries: RecordEntry[] = [];
    for (const r of records) entries.push(entryOf(r));
    return this.applyEntries(entries);
  }

  /** Fold scanned entries in (records parsed only when a node's `record` is read). */
  applyEntries(entries: Iterable<RecordEntry>): Set<string> {
    const changed = new Set<string>();
    for (const e of entries) {
      if (this.byId.has(e.id)) {
        this.issues.push({ id: e.id, message: `record ${e.id} appears twice; the copy is ignored` });
        continue;
      }
      this.count++;
      // A gc belongs to no notebook: nothing in the tree changes (checkout and verify read gc records).
      if (e.type === 'gc') continue;
      changed.add(e.notebook);
      if (e.type === 'version') this.addVersion(e);
      else if (e.type === 'build') this.addBuild(e);
      else if (e.type === 'run') this.addRun(e);
      else if (e.type === 'push') this.addPush(e);
      else if (e.type === 'export') this.addExport(e);
      else if (e.type === 'reproduction') this.addReproduction(e);
      else if (e.type === 'serve') this.addServe(e);
    }
    return changed;
  }

  notebook(path: string): NotebookNode {
    let nb = this.notebooks.get(path);
    if (!nb) {
      nb = { path, versions: [], unversioned: { builds: [], runs: [], pushes: [], exports: [] } };
      this.notebooks.set(path, nb);
    }
    return nb;
  }

  get(id: string): LineageNode | undefined {
    return this.byId.get(id);
  }

  latestVersion(notebook: string): VersionNode | undefined {
    const versions = this.notebooks.get(notebook)?.versions;
    return versions?.[versions.length - 1];
  }

  /** The run's steps with their source cells and the artifacts each wrote. */
  steps(run: RunNode): StepNode[] {
    const cellsByStep = new Map((run.version?.record.steps ?? []).map((s) => [s.name, s.cells]));
    const steps = new Map<string, StepNode>();
    for (const s of run.record.steps ?? []) {
      steps.set(s.name, { name: s.name, status: s.status, seconds: s.seconds, error: s.error, cells: cellsByStep.get(s.name) ?? [], artifacts: [] });
    }
    for (const a of run.record.artifacts ?? []) {
      const name = a.step ?? '';
      let step = steps.get(name);
      if (!step) {
        step = { name, cells: cellsByStep.get(name) ?? [], artifacts: [] };
        steps.set(name, step);
      }
      step.artifacts.push(a);
    }
    return [...steps.values()];
  }

  /** Runs that recorded an artifact at this workspace-relative path. */
  runsByArtifactPath(path: string): RunNode[] {
    return this.index().byPath.get(path) ?? [];
  }

  /** Runs that recorded an artifact whose sha256 starts with `prefix`. */
  runsByArtifactSha(prefix: string): RunNode[] {
    const { bySha } = this.index();
    const exact = bySha.get(prefix);
    if (exact) return exact;
    const out: RunNode[] = [];
    for (const [sha, runs] of bySha) if (sha.startsWith(prefix)) out.push(...runs);
    return out;
  }

  private addVersion(r: RecordEntry): void {
    const nb = this.notebook(r.notebook);
    const node = new Version(r, nb);
    nb.versions.push(node);
    this.byId.set(r.id, node);
  }

  private addBuild(r: RecordEntry): void {
    const nb = this.notebook(r.notebook);
    const { version, inferred } = this.versionFor(r.id, r.versionId, nb);
    const node = new Build(r, version, inferred);
    (version ? version.builds : nb.unversioned.builds).push(node);
    this.byId.set(r.id, node);
  }

  private addExport(r: RecordEntry): void {
    const nb = this.notebook(r.notebook);
    const { version, inferred } = this.versionFor(r.id, r.versionId, nb);
    const node = new Export(r, version, inferred);
    (version ? version.exports : nb.unversioned.exports).push(node);
    this.byId.set(r.id, node);
  }

  private addRun(r: RecordEntry): void {
    const nb = this.notebook(r.notebook);
    const { build, version, inferred } = this.buildFor(r, 'run', nb);
    const node = new Run(r, version, build, inferred);
    (version ? version.runs : nb.unversioned.runs).push(node);
    build?.runs.push(node);
    this.byId.set(r.id, node);
    if (this.artifactIndex) indexRun(this.artifactIndex, node);
  }

  private addPush(r: RecordEntry): void {
    const nb = this.notebook(r.notebook);
    const { build, version, inferred } = this.buildFor(r, 'push', nb);
    const node = new Push(r, version, build, inferred);
    (version ? version.pushes : nb.unversioned.pushes).push(node);
    build?.pushes.push(node);
    this.byId.set(r.id, node);
  }

  private addReproduction(r: RecordEntry): void {
    // The header does not name the runs: parse the record (reproductions are few).
    const record = r.record as ReproductionRecord;
    const runOf = (id: string, what: string) => {
      const node = this.byId.get(id);
      if (node?.kind === 'run') return node;
      this.issues.push({ id: r.id, message: `reproduction ${r.id} names ${what} run ${id || '(none)'}, which is not in the store` });
      return undefined;
    };
    const node = new Reproduction(r, runOf(record.original, 'original'), runOf(record.reproduction, 'new'));
    node.original?.reproductions.push(node);
    this.byId.set(r.id, node);
  }

  private addServe(r: RecordEntry): void {
    // The header does not name the run: parse the record (serves are few, like reproductions).
    const record = r.record as ServeRecord;
    const run = this.byId.get(record.run);
    if (run?.kind !== 'run') this.issues.push({ id: r.id, message: `serve ${r.id} names run ${record.run || '(none)'}, which is not in the store` });
    const served = run?.kind === 'run' ? run : undefined;
    const node = new Serve(r, served, served?.version ?? this.versionFor(r.id, r.versionId, this.notebook(r.notebook)).version);
    served?.serves.push(node);
    this.byId.set(r.id, node);
  }

  /** Serve records whose image id or tag starts with `query` (`sha256:` optional), newest first. */
  servesOfImage(query: string): ServeNode[] {
    const bare = query.replace(/^sha256:/, '');
    const out: ServeNode[] = [];
    for (const node of this.byId.values()) {
      if (node.kind !== 'serve') continue;
      const { image, imageId } = node.record;
      if (image === query || (bare.length >= 4 && /^[0-9a-f]+$/.test(bare) && (imageId ?? '').replace(/^sha256:/, '').startsWith(bare))) out.push(node);
    }
    return out.reverse();
  }

  /** The build a run or push names, and its version (the build's, unless the record names one). */
  private buildFor(r: RecordEntry, what: string, nb: NotebookNode): { build?: BuildNode; version?: VersionNode; inferred: boolean } {
    let build: BuildNode | undefined;
    if (r.buildId) {
      const b = this.byId.get(r.buildId);
      if (b?.kind === 'build') build = b;
      else this.issues.push({ id: r.id, message: `${what} ${r.id} names build ${r.buildId}, which is not in the store` });
    }
    if (!r.versionId && build?.version) return { build, version: build.version, inferred: false };
    return { build, ...this.versionFor(r.id, r.versionId, nb) };
  }

  private versionFor(id: string, versionId: string | undefined, nb: NotebookNode): { version?: VersionNode; inferred: boolean } {
    if (versionId) {
      const v = this.byId.get(versionId);
      if (v?.kind === 'version') return { version: v, inferred: false };
      this.issues.push({ id, message: `record ${id} names version ${versionId}, which is not in the store` });
      return { inferred: false };
    }
    const latest = nb.versions[nb.versions.length - 1];
    return { version: latest, inferred: latest !== undefined };
  }

  private index(): { byPath: Map<string, RunNode[]>; bySha: Map<string, RunNode[]> } {
    if (!this.artifactIndex) {
      this.artifactIndex = { byPath: new Map(), bySha: new Map() };
      for (const node of this.byId.values()) if (node.kind === 'run') indexRun(this.artifactIndex, node);
    }
    return this.artifactIndex;
  }
}

/** A node keeps its scanned entry (id, time, status) and hands out the full record on demand. */
abstract class EntryNode<R extends LineageRecord> {
  readonly id: string;
  readonly ts: string;
  readonly status?: string;
  constructor(private readonly entry: RecordEntry) {
    this.id = entry.id;
    this.ts = entry.ts;
    this.status = entry.status;
  }
  get record(): R {
    return this.entry.record as R;
  }
}

class Version extends EntryNode<VersionRecord> implements VersionNode {
  readonly kind = 'version';
  readonly builds: BuildNode[] = [];
  readonly runs: RunNode[] = [];
  readonly pushes: PushNode[] = [];
  readonly exports: ExportNode[] = [];
  constructor(
    entry: RecordEntry,
    readonly notebook: NotebookNode,
  ) {
    super(entry);
  }
}

class Build extends EntryNode<BuildRecord> implements BuildNode {
  readonly kind = 'build';
  readonly runs: RunNode[] = [];
  readonly pushes: PushNode[] = [];
  constructor(
    entry: RecordEntry,
    readonly version: VersionNode | undefined,
    readonly inferredVersion: boolean,
  ) {
    super(entry);
  }
}

class Export extends EntryNode<ExportRecord> implements ExportNode {
  readonly kind = 'export';
  constructor(
    entry: RecordEntry,
    readonly version: VersionNode | undefined,
    readonly inferredVersion: boolean,
  ) {
    super(entry);
  }
}

class Run extends EntryNode<RunRecord> implements RunNode {
  readonly kind = 'run';
  readonly reproductions: ReproductionNode[] = [];
  readonly serves: ServeNode[] = [];
  constructor(
    entry: RecordEntry,
    readonly version: VersionNode | undefined,
    readonly build: BuildNode | undefined,
    readonly inferredVersion: boolean,
  ) {
    super(entry);
  }
}

class Push extends EntryNode<PushRecord> implements PushNode {
  readonly kind = 'push';
  constructor(
    entry: RecordEntry,
    readonly version: VersionNode | undefined,
    readonly build: BuildNode | undefined,
    readonly inferredVersion: boolean,
  ) {
    super(entry);
  }
}

class Reproduction extends EntryNode<ReproductionRecord> implements ReproductionNode {
  readonly kind = 'reproduction';
  constructor(
    entry: RecordEntry,
    readonly original: RunNode | undefined,
    readonly reproduction: RunNode | undefined,
  ) {
    super(entry);
  }
}

class Serve extends EntryNode<ServeRecord> implements ServeNode {
  readonly kind = 'serve';
  constructor(
    entry: RecordEntry,
    readonly run: RunNode | undefined,
    readonly version: VersionNode | undefined,
  ) {
    super(entry);
  }
}

function indexRun(index: { byPath: Map<string, RunNode[]>; bySha: Map<string, RunNode[]> }, run: RunNode): void {
  for (const a of run.record.artifacts ?? []) {
    push(index.byPath, a.path, run);
    push(index.bySha, a.sha256, run);
  }
}

function push<K, V>(map: Map<K, V[]>, key: K, value: V): void {
  const list = map.get(key);
  if (list) {
    if (list[list.length - 1] !== value) list.push(value);
  } else map.set(key, [value]);
}

/** Fold a whole store read in one go. */
export function foldRecords(records: Iterable<LineageRecord>): LineageModel {
  const model = new LineageModel();
  model.apply(records);
  return model;
}
