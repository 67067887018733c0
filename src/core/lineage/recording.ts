/**
 * What productionize, build, run and push call to record themselves. Each gathers the facts it can
 * (hashes, git, data files, run.json), links to the version/build it belongs to, and appends.
 */
import * as fs from 'fs';
import * as path from 'path';
import { createHash } from 'crypto';
import { openStore, LineageStore } from './store';
import { collectDataFiles, extractStringLiterals, hashFiles, workspaceRelative } from './hashing';
import { gitInfo } from './git';
import { artifactsFromRunJson } from './artifacts';
import { diffFiles } from './queries';
import { linesBackwards, withOpenFile } from './fileBytes';
import { parseRecordLine } from './parse';
import { filesOf, ingestRun, ingestVersion, IngestResult } from '../store/ingest';
import type { ObjectStore } from '../store/objects';
import type {
  BuildRecord,
  BuildRecordInput,
  ExportRecord,
  ExportRecordInput,
  FileHash,
  LineageRecord,
  PushRecord,
  PushRecordInput,
  ReproductionRecord,
  ReproductionRecordInput,
  RunRecord,
  RunRecordInput,
  ServeRecord,
  ServeRecordInput,
  VersionRecord,
} from './records';

export interface VersionFacts {
  workspaceDir: string;
  /** Absolute, or relative to the workspace. */
  notebookPath: string;
  /** Hash of the notebook's sources without outputs. */
  notebookHash: string;
  /** Any stable hash of the plan; `stableHash(plan)` will do. */
  planHash: string;
  /** The pipeline package directory: absolute, or relative to the workspace. */
  outDir: string;
  packageName: string;
  /** Generated files as written, relative to `outDir`; hashed on disk (users may edit them). */
  generatedFiles: string[];
  steps: { name: string; cells: { index: number; id: string }[]; outputs: string[] }[];
  /** Sources of the notebook's code cells: string literals naming workspace files are its data. */
  code?: string[];
  /** Or the string literals themselves, when the analysis already has them. */
  stringLiterals?: string[];
}

export interface RecordOptions {
  /** Reuse an open store (the extension keeps one); otherwise one is opened for `workspaceDir`. */
  store?: LineageStore;
  /** Store the files a version or run hashed here, after its record is appended (see store/ingest). */
  objects?: ObjectStore;
}

/**
 * Record a version, unless the latest version of this notebook is the same (same notebook, plan,
 * generated files and data): then that one is returned with `created: false`.
 */
export async function recordVersion(facts: VersionFacts, options: RecordOptions = {}): Promise<{ record: VersionRecord; created: boolean; stored?: IngestResult }> {
  const ws = path.resolve(facts.workspaceDir);
  const store = options.store ?? openStore(ws);
  const notebookAbs = path.resolve(ws, facts.notebookPath);
  const notebook = workspaceRelative(ws, notebookAbs);
  const outDirAbs = path.resolve(ws, facts.outDir);
  const literals = [...(facts.stringLiterals ?? []), ...(facts.code ?? []).flatMap(extractStringLiterals)];
  // Independent reads and a git process: waiting for each in turn made recording most of a small productionize.
  const [files, data, git] = await Promise.all([
    // A generated file may be gone (the writer kept a user-edited file that was then removed): nothing to hash.
    hashFiles(ws, [...facts.generatedFiles].sort().map((rel) => path.resolve(outDirAbs, rel)), { skipMissing: true }),
    collectDataFiles(ws, path.dirname(notebookAbs), literals),
    gitInfo(path.dirname(notebookAbs)),
  ]);
  const latest = latestVersion(store, notebook);
  if (
    latest &&
    latest.notebookHash === facts.notebookHash &&
    latest.planHash === facts.planHash &&
    latest.outDir === workspaceRelative(ws, outDirAbs) &&
    sameFiles(latest.files, files) &&
    sameFiles(latest.data ?? [], data) &&
    latest.git?.dirty === git?.dirty &&
    latest.git?.commit === git?.commit
  ) {
    // Stored again all the same: a store moved or pruned since gets the files back.
    return { record: latest, created: false, ...(options.objects ? { stored: await ingestVersion(options.objects, ws, latest) } : {}) };
  }
  const record = (await store.append({
    type: 'version',
    notebook,
    notebookHash: facts.notebookHash,
    ...(git ? { git } : {}),
    planHash: facts.planHash,
    outDir: workspaceRelative(ws, outDirAbs),
    package: facts.packageName,
    files,
    steps: facts.steps.map((s) => ({ name: s.name, cells: s.cells.map((c) => ({ index: c.index, id: c.id })), outputs: [...s.outputs] })),
    data,
  })) as VersionRecord;
  return { record, created: true, ...(options.objects ? { stored: await ingestVersion(options.objects, ws, record) } : {}) };
}

export interface BuildFacts extends Omit<BuildRecordInput, 'type' | 'notebook' | 'versionId' | 'error'> {
  workspaceDir: string;
  notebookPath: string;
  /** Defaults to the latest version of the notebook. */
  versionId?: string;
  /** Reason for a failed or cancelled build; the build log (its tail is kept). */
  error?: string;
}

/** Record a build (succeeded, failed, cancelled or up-to-date). */
export async function recordBuild(facts: BuildFacts, options: RecordOptions = {}): Promise<BuildRecord> {
  const ws = path.resolve(facts.workspaceDir);
  const store = options.store ?? openStore(ws);
  const notebook = workspaceRelative(ws, path.resolve(ws, facts.notebookPath));
  const { workspaceDir: _w, notebookPath: _n, versionId: given, error, ...rest } = facts;
  const versionId = given ?? latestVersion(store, notebook)?.id;
  const input: BuildRecordInput = {
    type: 'build',
    ...rest,
    notebook,
    ...(versionId ? { versionId } : {}),
    ...(error ? { error: tail(error) } : {}),
  };
  return (await store.append(input)) as BuildRecord;
}

export interface RunFacts {
  workspaceDir: string;
  notebookPath: string;
  /** The directory holding run.json (absolute or workspace-relative); omit when the run never started. */
  runDir?: string;
  /** Image id for a container run; omit for a local run. */
  image?: string;
  versionId?: string;
  buildId?: string;
  /** What the caller saw (exit code, cancellation). 'cancelled' and 'failed' win over run.json. */
  status?: 'succeeded' | 'failed' | 'cancelled';
  error?: string;
  /** Used when run.json is missing. */
  runId?: string;
  params?: Record<string, unknown>;
}

/** Record a run from its run.json (artifacts re-hashed on disk). Problems are recorded as notes and returned. */
export async function recordRun(facts: RunFacts, options: RecordOptions = {}): Promise<{ record: RunRecord; problems: string[]; stored?: IngestResult }> {
  const ws = path.resolve(facts.workspaceDir);
  const store = options.store ?? openStore(ws);
  const notebook = workspaceRelative(ws, path.resolve(ws, facts.notebookPath));
  const fromJson = facts.runDir ? await artifactsFromRunJson(facts.runDir, ws) : { artifacts: [], problems: ['the run wrote no run.json'] };
  const run = fromJson.run;
  const problems = fromJson.problems;

  let buildId = facts.buildId;
  let versionId = facts.versionId;
  if (!buildId && facts.image) {
    const build = latestBuildOfImage(store, facts.image);
    buildId = build?.id;
    versionId ??= build?.versionId;
  }
  versionId ??= latestVersion(store, notebook)?.id;

  const status: RunRecordInput['status'] =
    facts.status === 'cancelled' || facts.status === 'failed' ? facts.status : run?.status === 'succeeded' || run?.status === 'failed' ? run.status : (facts.status ?? 'failed');
  const failedStep = run?.steps?.find((s) => s.status === 'failed' && s.error);
  const error = facts.error ?? (status !== 'succeeded' ? (failedStep ? `step ${failedStep.name}: ${failedStep.error}` : run ? undefined : problems[0]) : undefined);

  const input: RunRecordInput = {
    type: 'run',
    ...(versionId ? { versionId } : {}),
    ...(buildId ? { buildId } : {}),
    notebook,
    runId: run?.run_id ?? facts.runId ?? `unrecorded-${Date.now()}`,
    ...(facts.image ? { image: facts.image } : {}),
    local: !facts.image,
    params: run?.params ?? facts.params ?? {},
    steps: (run?.steps ?? []).map((s) => ({ name: s.name, status: s.status, seconds: s.seconds, ...(s.error ? { error: tail(s.error) } : {}) })),
    artifacts: fromJson.artifacts,
    metrics: run?.metrics ?? {},
    status,
    ...(error ? { error: tail(error) } : {}),
    ...(facts.runDir ? { runDir: workspaceRelative(ws, path.resolve(ws, facts.runDir)) } : {}),
    ...(run?.started ? { started: run.started } : {}),
    ...(run?.finished ? { finished: run.finished } : {}),
    ...(problems.length > 0 && run ? { notes: problems } : {}),
    ...(fromJson.runJson && run ? { runJson: fromJson.runJson } : {}),
  };
  const unstored = options.objects ? unstoredPreviousRun(store, options.objects, notebook) : undefined;
  const record = (await store.append(input)) as RunRecord;
  if (!options.objects) return { record, problems };
  const stored = await ingestRun(options.objects, ws, record);
  // Its files were checked against its record's hashes by the put; what is gone stays reported by `lineage verify`.
  if (unstored) await ingestRun(options.objects, ws, unstored);
  return { record, problems: [...problems, ...stored.problems], stored };
}

/**
 * The notebook's previous run when some of its files are not in the store: a run killed between
 * appending its record and storing its files (ingest runs after the append, see store/ingest).
 * Not when a gc came after it: then an object gone is one gc pruned, not one never stored.
 */
function unstoredPreviousRun(store: LineageStore, objects: ObjectStore, notebook: string): RunRecord | undefined {
  const last = findLast(store, (r) => r.type === 'gc' || (r.type === 'run' && r.notebook === notebook));
  if (last?.type !== 'run') return undefined;
  return filesOf(last).some((f) => !objects.has(f.sha256)) ? last : undefined;
}

export interface PushFacts extends Omit<PushRecordInput, 'type' | 'notebook' | 'versionId' | 'buildId' | 'status' | 'notes'> {
  workspaceDir: string;
  notebookPath: string;
  /** Defaults to the latest build that made `imageId` (and that build's version). */
  buildId?: string;
}

/** Record a push that succeeded, under the build of its image. */
export async function recordPush(facts: PushFacts, options: RecordOptions = {}): Promise<PushRecord> {
  const ws = path.resolve(facts.workspaceDir);
  const store = options.store ?? openStore(ws);
  const notebook = workspaceRelative(ws, path.resolve(ws, facts.notebookPath));
  const { workspaceDir: _w, notebookPath: _n, buildId: given, ...rest } = facts;
  const build = given ? undefined : latestBuildOfImage(store, facts.imageId);
  const buildId = given ?? build?.id;
  const versionId = build?.versionId ?? (buildId ? undefined : latestVersion(store, notebook)?.id);
  const input: PushRecordInput = {
    type: 'push',
    ...(versionId ? { versionId } : {}),
    ...(buildId ? { buildId } : {}),
    notebook,
    status: 'succeeded',
    ...rest,
  };
  return (await store.append(input)) as PushRecord;
}

/** The most recent push record that `match` accepts (searched from the end of the store). */
export function latestPush(store: LineageStore, match: (record: PushRecord) => boolean): PushRecord | undefined {
  return findLast(store, (r) => r.type === 'push' && match(r)) as PushRecord | undefined;
}

export interface ExportFacts extends Omit<ExportRecordInput, 'type' | 'notebook' | 'versionId' | 'file'> {
  workspaceDir: string;
  notebookPath: string;
  /** The written file: absolute, or relative to the workspace. */
  file: string;
  /** Defaults to the latest version of the notebook (the one the pipeline directory holds). */
  versionId?: string;
}

/** Record an export; its parent is the version it was written from. */
export async function recordExport(facts: ExportFacts, options: RecordOptions = {}): Promise<ExportRecord> {
  const ws = path.resolve(facts.workspaceDir);
  const store = options.store ?? openStore(ws);
  const notebook = workspaceRelative(ws, path.resolve(ws, facts.notebookPath));
  const { workspaceDir: _w, notebookPath: _n, versionId: given, file, ...rest } = facts;
  const versionId = given ?? latestVersion(store, notebook)?.id;
  const input: ExportRecordInput = {
    type: 'export',
    ...(versionId ? { versionId } : {}),
    notebook,
    ...rest,
    file: workspaceRelative(ws, path.resolve(ws, file)),
  };
  return (await store.append(input)) as ExportRecord;
}

export interface ReproductionFacts extends Omit<ReproductionRecordInput, 'type'> {
  workspaceDir: string;
}

/** Record the comparison of a run with its reproduction (both runs already recorded; they are its parents). */
export async function recordReproduction(facts: ReproductionFacts, options: RecordOptions = {}): Promise<ReproductionRecord> {
  const { workspaceDir, ...rest } = facts;
  const store = options.store ?? openStore(path.resolve(workspaceDir));
  return (await store.append({ type: 'reproduction', ...rest })) as ReproductionRecord;
}

export interface ServeFacts extends Omit<ServeRecordInput, 'type'> {
  workspaceDir: string;
}

/** Record a model served from a run (its parent); the record names the image and every artifact hash it carries. */
export async function recordServe(facts: ServeFacts, options: RecordOptions = {}): Promise<ServeRecord> {
  const { workspaceDir, ...rest } = facts;
  const store = options.store ?? openStore(path.resolve(workspaceDir));
  return (await store.append({ type: 'serve', ...rest })) as ServeRecord;
}

/** sha256 of a JSON value with object keys sorted, for plan hashes and the like. */
export function stableHash(value: unknown): string {
  return createHash('sha256').update(stableStringify(value)).digest('hex');
}

function stableStringify(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) return `[${value.map(stableStringify).join(',')}]`;
  const obj = value as Record<string, unknown>;
  return `{${Object.keys(obj)
    .filter((k) => obj[k] !== undefined)
    .sort()
    .map((k) => `${JSON.stringify(k)}:${stableStringify(obj[k])}`)
    .join(',')}}`;
}

const TAIL_LINES = 40;
const TAIL_CHARS = 4000;

/** The end of a log: what explains a failure, without storing megabytes in every line. */
export function tail(text: string): string {
  let t = text.trimEnd().split('\n').slice(-TAIL_LINES).join('\n');
  if (t.length > TAIL_CHARS) t = '…' + t.slice(-TAIL_CHARS);
  return t;
}

function latestVersion(store: LineageStore, notebook: string): VersionRecord | undefined {
  return findLast(store, (r) => r.type === 'version' && r.notebook === notebook) as VersionRecord | undefined;
}

function latestBuildOfImage(store: LineageStore, image: string): BuildRecord | undefined {
  return findLast(store, (r) => r.type === 'build' && r.status !== 'failed' && r.imageId === image) as BuildRecord | undefined;
}

// Every recorded event asks for a recent record: search from the end, so a store of 100k
// records costs what was appended since that record, not a read of the whole file.
function findLast(store: LineageStore, match: (r: LineageRecord) => boolean): LineageRecord | undefined {
  return withOpenFile(store.file, (fd) => {
    for (const line of linesBackwards(fd, fs.fstatSync(fd).size)) {
      const { record } = parseRecordLine(line.toString('utf8'), 0);
      if (record && match(record)) return record;
    }
    return undefined;
  });
}

function sameFiles(a: FileHash[], b: FileHash[]): boolean {
  const d = diffFiles(a, b);
  return d.added.length + d.removed.length + d.changed.length === 0;
}
