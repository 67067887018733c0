/** Questions asked of the model: find by id prefix, diff two versions, trace an image or artifact back. */
import { Nb2prodError } from '../errors';
import type { BuildNode, LineageModel, LineageNode, RunNode, ServeNode, VersionNode } from './model';
import type { ArtifactHash, FileHash, VersionRecord } from './records';

/** The record whose id is `prefix` or starts with it; an error names the candidates when ambiguous. */
export function findByIdPrefix<K extends LineageNode['kind']>(
  model: LineageModel,
  prefix: string,
  kind?: K,
): Extract<LineageNode, { kind: K }> {
  const exact = model.get(prefix);
  if (exact && (!kind || exact.kind === kind)) return exact as Extract<LineageNode, { kind: K }>;
  const matches: LineageNode[] = [];
  if (prefix.length > 0) for (const [id, node] of model.byId) if (id.startsWith(prefix) && (!kind || node.kind === kind)) matches.push(node);
  const what = kind ?? 'record';
  if (matches.length === 0) throw new Nb2prodError(`no ${what} with id ${JSON.stringify(prefix)} in the lineage store`);
  if (matches.length > 1) {
    const ids = matches.slice(0, 5).map((m) => m.id);
    throw new Nb2prodError(`id prefix ${JSON.stringify(prefix)} matches ${matches.length} ${what}s (${ids.join(', ')}${matches.length > 5 ? ', …' : ''}); give more characters`);
  }
  return matches[0] as Extract<LineageNode, { kind: K }>;
}

export interface FileChanges {
  added: FileHash[];
  removed: FileHash[];
  changed: { path: string; from: FileHash; to: FileHash }[];
}

export interface StepChange {
  name: string;
  /** Cell ids the step came from, before and after. */
  fromCells: string[];
  toCells: string[];
  fromOutputs: string[];
  toOutputs: string[];
}

export interface VersionDiff {
  from: string;
  to: string;
  notebookChanged: boolean;
  planChanged: boolean;
  git?: { from?: { commit: string; dirty: boolean }; to?: { commit: string; dirty: boolean } };
  steps: { added: string[]; removed: string[]; changed: StepChange[] };
  files: FileChanges;
  data: FileChanges;
  /** True when nothing at all differs. */
  same: boolean;
}

export function diffVersions(a: VersionRecord, b: VersionRecord): VersionDiff {
  const aSteps = new Map(a.steps.map((s) => [s.name, s]));
  const bSteps = new Map(b.steps.map((s) => [s.name, s]));
  const steps: VersionDiff['steps'] = { added: [], removed: [], changed: [] };
  for (const s of a.steps) if (!bSteps.has(s.name)) steps.removed.push(s.name);
  for (const s of b.steps) {
    const old = aSteps.get(s.name);
    if (!old) {
      steps.added.push(s.name);
      continue;
    }
    const fromCells = old.cells.map((c) => c.id);
    const toCells = s.cells.map((c) => c.id);
    if (!sameList(fromCells, toCells) || !sameList(old.outputs, s.outputs)) {
      steps.changed.push({ name: s.name, fromCells, toCells, fromOutputs: old.outputs, toOutputs: s.outputs });
    }
  }
  const files = diffFiles(a.files, b.files);
  const data = diffFiles(a.data ?? [], b.data ?? []);
  const gitChanged = a.git?.commit !== b.git?.commit || a.git?.dirty !== b.git?.dirty;
  const diff: VersionDiff = {
    from: a.id,
    to: b.id,
    notebookChanged: a.notebookHash !== b.notebookHash,
    planChanged: a.planHash !== b.planHash,
    ...(gitChanged ? { git: { from: a.git, to: b.git } } : {}),
    steps,
    files,
    data,
    same: false,
  };
  diff.same =
    !diff.notebookChanged &&
    !diff.planChanged &&
    !gitChanged &&
    steps.added.length + steps.removed.length + steps.changed.length === 0 &&
    isEmpty(files) &&
    isEmpty(data);
  return diff;
}

export function diffFiles(from: FileHash[], to: FileHash[]): FileChanges {
  const before = new Map(from.map((f) => [f.path, f]));
  const after = new Map(to.map((f) => [f.path, f]));
  const out: FileChanges = { added: [], removed: [], changed: [] };
  for (const f of from) if (!after.has(f.path)) out.removed.push(f);
  for (const f of to) {
    const old = before.get(f.path);
    if (!old) out.added.push(f);
    else if (old.sha256 !== f.sha256) out.changed.push({ path: f.path, from: old, to: f });
  }
  return out;
}

function isEmpty(c: FileChanges): boolean {
  return c.added.length + c.removed.length + c.changed.length === 0;
}

function sameList(a: string[], b: string[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

export interface TraceHit {
  /** What matched: the image of a build, an artifact of a run, or a serving image (or local server) of a run's model. */
  match: 'image' | 'artifact' | 'serve';
  notebook: string;
  artifact?: ArtifactHash;
  serve?: ServeNode;
  run?: RunNode;
  build?: BuildNode;
  version?: VersionNode;
  /**
   * The step that wrote the artifact (for an image, every step; for a served model, the steps
   * that wrote what it carries) with its source cells.
   */
  steps: { name: string; cells: { index: number; id: string }[] }[];
}

const MIN_PREFIX = 4;

/**
 * Trace an image id (`sha256:…` or bare, prefix ok), a serving image's tag, an artifact path
 * (workspace-relative) or an artifact sha256 (prefix ok) back to runs, builds, versions and
 * source cells. Newest hits first.
 */
export function trace(model: LineageModel, query: string): TraceHit[] {
  const q = query.trim();
  const hits: TraceHit[] = model.servesOfImage(q).map((s) => serveHit(model, s));
  const bare = q.replace(/^sha256:/, '').toLowerCase();
  const hexQuery = /^[0-9a-f]+$/.test(bare) && bare.length >= MIN_PREFIX;

  if (hexQuery) {
    for (const node of model.byId.values()) {
      if (node.kind !== 'build' || !node.record.imageId) continue;
      if (node.record.imageId.replace(/^sha256:/, '').startsWith(bare)) hits.push(imageHit(node));
    }
  }
  const asPath = q.replace(/\\/g, '/').replace(/^\.\//, '');
  const byPath = model.runsByArtifactPath(asPath);
  for (const run of byPath) for (const a of run.record.artifacts) if (a.path === asPath) hits.push(artifactHit(model, run, a));
  if (hexQuery && byPath.length === 0) {
    for (const run of model.runsByArtifactSha(bare)) for (const a of run.record.artifacts) if (a.sha256.startsWith(bare)) hits.push(artifactHit(model, run, a));
  }
  // Newest first: the record order is time order, and ids are not, so sort by timestamp.
  return hits.sort((x, y) => tsOf(y).localeCompare(tsOf(x)));
}

function tsOf(h: TraceHit): string {
  return (h.serve ?? h.run ?? h.build ?? h.version)?.record.ts ?? '';
}

/** A served model: its run, and the steps (with their cells) that wrote each artifact it carries. */
function serveHit(model: LineageModel, serve: ServeNode): TraceHit {
  const run = serve.run;
  const version = serve.version;
  const build = run?.build ?? (run?.record.image ? latestBuildOfImage(model, run.record.image, version) : undefined);
  const wrote = new Set(serve.record.artifacts.map((a) => a.step));
  const steps = (version?.record.steps ?? []).filter((s) => wrote.has(s.name)).map((s) => ({ name: s.name, cells: s.cells }));
  return { match: 'serve', notebook: serve.record.notebook, serve, run, build, version, steps };
}

function imageHit(build: BuildNode): TraceHit {
  const version = build.version;
  return {
    match: 'image',
    notebook: build.record.notebook,
    build,
    version,
    steps: (version?.record.steps ?? []).map((s) => ({ name: s.name, cells: s.cells })),
  };
}

function artifactHit(model: LineageModel, run: RunNode, artifact: ArtifactHash): TraceHit {
  const version = run.version;
  const build = run.build ?? (run.record.image ? latestBuildOfImage(model, run.record.image, version) : undefined);
  const stepName = artifact.step;
  const versionSteps = version?.record.steps ?? [];
  const steps = stepName !== undefined ? versionSteps.filter((s) => s.name === stepName) : [];
  if (stepName !== undefined && steps.length === 0) steps.push({ name: stepName, cells: [], outputs: [] });
  return {
    match: 'artifact',
    notebook: run.record.notebook,
    artifact,
    run,
    build,
    version,
    steps: steps.map((s) => ({ name: s.name, cells: s.cells })),
  };
}

function latestBuildOfImage(model: LineageModel, image: string, version?: VersionNode): BuildNode | undefined {
  const candidates = version ? version.builds : [...model.byId.values()].filter((n): n is BuildNode => n.kind === 'build');
  for (let i = candidates.length - 1; i >= 0; i--) if (candidates[i].record.imageId === image) return candidates[i];
  return undefined;
}
