/**
 * Lineage record shapes: one JSON object per line in `.nb2prod/lineage.jsonl`.
 * The store adds `id`, `ts`, `prev` (sha256 of the previous line) when appending.
 */
export interface FileHash {
  path: string;
  sha256: string;
  bytes: number;
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
  steps: { name: string; status: string; seconds: number }[];
  artifacts: FileHash[]; // workspace-relative paths
  metrics: Record<string, unknown>;
  status: 'succeeded' | 'failed' | 'cancelled';
  error?: string;
}

export type RecordInput = VersionRecordInput | BuildRecordInput | RunRecordInput;

export type LineageRecord = RecordInput & {
  id: string;
  ts: string; // ISO time
  parents: string[];
  prev: string; // sha256 of the previous line ('' for the first)
};
