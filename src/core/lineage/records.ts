/**
 * Lineage record shapes: one JSON object per line in `.nb2prod/lineage.jsonl`.
 * The store adds `id`, `ts`, `parents` and `prev` (sha256 of the previous line) when appending.
 * Fields added after the first release are optional, so old lines still read.
 */
export interface FileHash {
  path: string; // workspace-relative, forward slashes
  sha256: string;
  bytes: number;
}

/** A run artifact: which step wrote it and under which name (from run.json). */
export interface ArtifactHash extends FileHash {
  step?: string;
  name?: string;
}

export interface VersionRecordInput {
  type: 'version';
  notebook: string; // workspace-relative path
  notebookHash: string;
  git?: { commit: string; dirty: boolean };
  planHash: string;
  outDir: string; // workspace-relative
  package: string;
  files: FileHash[]; // generated files
  steps: { name: string; cells: { index: number; id: string }[]; outputs: string[] }[];
  data: FileHash[]; // data files the notebook reads
}

export interface BuildRecordInput {
  type: 'build';
  versionId?: string;
  notebook: string;
  contextHash: string;
  dockerfileHash: string;
  baseImage: string;
  imageId?: string;
  tags: string[];
  seconds: number;
  status: 'succeeded' | 'failed' | 'cancelled' | 'up-to-date';
  error?: string; // last log lines / reason
}

export interface RunRecordInput {
  type: 'run';
  versionId?: string;
  buildId?: string;
  notebook: string;
  runId: string;
  image?: string; // image id, or undefined for a local run
  local: boolean;
  params: Record<string, unknown>;
  steps: { name: string; status: string; seconds: number; error?: string }[];
  artifacts: ArtifactHash[]; // workspace-relative paths
  metrics: Record<string, unknown>;
  status: 'succeeded' | 'failed' | 'cancelled';
  error?: string;
  /** Workspace-relative directory holding run.json, when the pipeline wrote one. */
  runDir?: string;
  started?: string;
  finished?: string;
  /** What did not add up while recording (e.g. an artifact whose hash differs from run.json). */
  notes?: string[];
  /** run.json itself (workspace-relative), so the object store can give it back with the artifacts. */
  runJson?: FileHash;
}

/** An image pushed to a registry; its parent is the build that made the image. Only pushes that succeeded are recorded. */
export interface PushRecordInput {
  type: 'push';
  versionId?: string;
  buildId?: string;
  notebook: string;
  status: 'succeeded';
  /** `HOST[:PORT][/NAMESPACE]` as given. */
  registry: string;
  /** `HOST/.../slug:tag`, the tag pushed. */
  reference: string;
  /** `sha256:...` of the manifest the registry stored. */
  digest: string;
  imageId: string;
  /** The pipeline content the image was built from (the build's context hash). */
  contextHash: string;
  seconds: number;
  /** Set when the line could not be read back in full. */
  notes?: string[];
}

/** A pipeline written as an orchestrator file (`nb2prod export`); its parent is the version it came from. */
export interface ExportRecordInput {
  type: 'export';
  versionId?: string;
  notebook: string;
  target: 'kfp' | 'argo' | 'kserve';
  /** The written file, workspace-relative (`../` when outside the workspace). */
  file: string;
  sha256: string;
  bytes: number;
  /** The image reference the file runs. */
  image: string;
  /** Where that reference came from: --image, the last push, or the local build tag. */
  imageSource: 'option' | 'pushed' | 'local';
}

/**
 * A model served from a run's artifacts (`nb2prod serve`): the serving image (or a local server)
 * and the hash of every artifact it carries. Its parent is the run; `lineage trace <image>` walks
 * from here to the run, its version and the cells.
 */
export interface ServeRecordInput {
  type: 'serve';
  versionId?: string;
  notebook: string;
  /** Lineage record id of the run served (the parent). */
  run: string;
  /** The run's id (its artifacts directory name): what every response names as the model version. */
  runId: string;
  /** The pipeline's slug, the model name the server answers to. */
  model: string;
  /** The serving function and the `serve` cell that defines it. */
  function?: string;
  cell?: { index: number; id: string };
  /** `nb2prod/<slug>-serve:<hash>`; absent for a local server. */
  image?: string;
  imageId?: string;
  /** The image's base, for a container. */
  baseImage?: string;
  /** sha256 of the serving bundle (package, artifacts, serve.json) and its Dockerfile. */
  hash: string;
  local: boolean;
  /** The needed artifacts the bundle carries; `serve_calls` (the notebook's own calls) among them when recorded. */
  artifacts: { name: string; step: string; sha256: string }[];
}

/** One artifact or metric of a reproduced run, against the run it reproduces. */
export interface ReproductionEntry {
  kind: 'artifact' | 'metric';
  /** `step/name` for an artifact (the run directory differs between runs), the key for a metric. */
  name: string;
  step?: string;
  outcome: 'same' | 'differs' | 'new' | 'missing';
  /** sha256 of an artifact or JSON of a metric, in the original run and in the new one. */
  was?: string;
  now?: string;
}

/**
 * A run run again (`nb2prod reproduce`) and compared with the original; its parents are the
 * original run and the new one.
 */
export interface ReproductionRecordInput {
  type: 'reproduction';
  versionId?: string;
  notebook: string;
  /** 'identical' only when every artifact and metric is the same; 'failed': the new run did not succeed. */
  status: 'identical' | 'differs' | 'failed';
  /** Lineage record ids of the run reproduced and of the new run. */
  original: string;
  reproduction: string;
  /** Run ids (directory names) of both, for people. */
  originalRunId: string;
  reproductionRunId: string;
  local: boolean;
  /** Image the new run used; `rebuilt` when the original's image was gone and was built again. */
  image?: string;
  rebuilt?: boolean;
  counts: { same: number; differs: number; new: number; missing: number };
  entries: ReproductionEntry[];
  /** Steps whose outputs differ although nothing upstream of them does, with the first differing artifact. */
  nondeterministic: { step: string; artifact: string }[];
}

/**
 * Objects `nb2prod gc` removed from the object store: a record referencing one of them is then
 * "pruned by gc on <ts>", not tampered with or lost.
 */
export interface GcRecordInput {
  type: 'gc';
  /** Always '': a gc covers the whole store, not one notebook (every record line has the field). */
  notebook: '';
  /** sha256 of every object removed. */
  pruned: string[];
  bytes: number;
  /** The policy it kept by. */
  keepRuns: number;
  keepDays: number;
}

export type RecordInput =
  | VersionRecordInput
  | BuildRecordInput
  | RunRecordInput
  | PushRecordInput
  | ExportRecordInput
  | ReproductionRecordInput
  | GcRecordInput
  | ServeRecordInput;

/** What the store adds to every record. */
export interface StoredFields {
  /**
   * First 16 hex digits of the sha256 of the record's JSON without `id` (which includes `prev`),
   * so an edited line no longer matches its own id and `verify` can name it.
   */
  id: string;
  ts: string; // ISO time
  parents: string[];
  prev: string; // sha256 of the previous line ('' for the first)
}

export type LineageRecord = RecordInput & StoredFields;
export type VersionRecord = VersionRecordInput & StoredFields;
export type BuildRecord = BuildRecordInput & StoredFields;
export type RunRecord = RunRecordInput & StoredFields;
export type PushRecord = PushRecordInput & StoredFields;
export type ExportRecord = ExportRecordInput & StoredFields;
export type ReproductionRecord = ReproductionRecordInput & StoredFields;
export type GcRecord = GcRecordInput & StoredFields;
export type ServeRecord = ServeRecordInput & StoredFields;
