/** The lineage API other parts of nb2prod use (productionize/build/run recording, the tree, the CLI). */
export type {
  ArtifactHash,
  BuildRecord,
  BuildRecordInput,
  ExportRecord,
  ExportRecordInput,
  FileHash,
  GcRecord,
  GcRecordInput,
  LineageRecord,
  RecordInput,
  RunRecord,
  RunRecordInput,
  PushRecord,
  PushRecordInput,
  ReproductionEntry,
  ReproductionRecord,
  ReproductionRecordInput,
  ServeRecord,
  ServeRecordInput,
  StoredFields,
  VersionRecord,
  VersionRecordInput,
} from './records';
export { openStore, storePath, LineageReader, STORE_DIR, STORE_FILE } from './store';
export type { LineageStore, ReadResult, ReadNewResult, StoreOptions } from './store';
export type { LineageProblem } from './parse';
export { LineageModel, foldRecords } from './model';
export type { NotebookNode, VersionNode, BuildNode, RunNode, PushNode, ExportNode, ReproductionNode, ServeNode, StepNode, LineageNode } from './model';
export { LiveLineage, loadModel, SNAPSHOT_EVERY } from './live';
export type { LiveOptions } from './live';
export { readSnapshot, snapshotPath, SNAPSHOT_FILE, SNAPSHOT_FORMAT } from './snapshot';
export type { RecordEntry } from './scan';
export type { RefreshResult } from './live';
export { diffVersions, diffFiles, findByIdPrefix, trace } from './queries';
export type { VersionDiff, TraceHit, FileChanges } from './queries';
export { verifyStore, verifyBytes } from './verify';
export type { VerifyResult, ChainBreak } from './verify';
export { hashFile, hashFiles, collectDataFiles, collectDataFilesFromCode, extractStringLiterals, workspaceRelative } from './hashing';
export { gitInfo } from './git';
export type { GitInfo } from './git';
export { artifactsFromRunJson } from './artifacts';
export type { RunJson, RunArtifacts } from './artifacts';
export { recordVersion, recordBuild, recordRun, recordPush, latestPush, recordExport, recordReproduction, recordServe, stableHash, tail } from './recording';
export type { VersionFacts, BuildFacts, RunFacts, PushFacts, ExportFacts, ReproductionFacts, ServeFacts, RecordOptions } from './recording';
export { buildFactsOf, exportFactsOf, pushFactsOf, runFactsOf, versionFactsOf } from './facts';
