/**
 * Putting what a lineage record hashed into the object store: a version's generated files and the
 * data files it read; a run's artifacts and its run.json.
 *
 * Called after the record is appended, never before: `gc` holds the lineage lock while it reads
 * the records and removes objects, so an object is referenced before it can be written and gc
 * cannot take bytes a run just stored for a record it has not seen yet. Holding the lock for the
 * copying itself would stall every other append for as long as a large run takes to store.
 */
import * as fs from 'fs';
import * as path from 'path';
import { mapLimited } from '../mapLimited';
import { FILES_AT_ONCE } from '../lineage/hashing';
import type { FileHash, LineageRecord, RunRecord, VersionRecord } from '../lineage/records';
import { isViewOf, ObjectStore } from './objects';

export interface IngestResult {
  /** Files the record lists that are now in the store. */
  stored: number;
  /** Objects written (not there before) and their bytes: 0 for an identical re-run. */
  added: number;
  addedBytes: number;
  /** Artifacts now hard links to their object (read-only views). */
  linked: number;
  problems: string[];
}

/** Every file a record hashed, as recorded (workspace-relative paths). */
export function filesOf(record: LineageRecord): FileHash[] {
  if (record.type === 'version') return [...(record.files ?? []), ...(record.data ?? [])];
  if (record.type === 'run') return [...(record.artifacts ?? []), ...(record.runJson ? [record.runJson] : [])];
  return [];
}

export function ingestVersion(objects: ObjectStore, workspaceDir: string, record: VersionRecord): Promise<IngestResult> {
  return ingest(objects, workspaceDir, filesOf(record), new Set());
}

/** Store the run's files, then make each artifact a read-only view of its object where the file system allows. */
export function ingestRun(objects: ObjectStore, workspaceDir: string, record: RunRecord): Promise<IngestResult> {
  return ingest(objects, workspaceDir, filesOf(record), new Set((record.artifacts ?? []).map((a) => a.path)));
}

async function ingest(objects: ObjectStore, workspaceDir: string, files: FileHash[], link: Set<string>): Promise<IngestResult> {
  const result: IngestResult = { stored: 0, added: 0, addedBytes: 0, linked: 0, problems: [] };
  // What a killed writer left: cheap (one readdir) and this is the next command that writes.
  await objects.cleanTemp();
  await mapLimited(files, FILES_AT_ONCE, async (file) => {
    const abs = path.resolve(workspaceDir, file.path);
    let put;
    try {
      put = await objects.put(abs, { expect: file.sha256 });
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      result.problems.push(code === 'ENOENT' ? `${file.path} is gone; not stored` : `${file.path} not stored: ${(e as Error).message}`);
      return;
    }
    if (put.sha256 !== file.sha256) {
      result.problems.push(`${file.path} changed since it was recorded; not stored`);
      return;
    }
    result.stored++;
    if (put.added) {
      result.added++;
      result.addedBytes += put.bytes;
    }
    if (link.has(file.path) && (await linkView(objects, abs, file.sha256))) result.linked++;
  });
  return result;
}

/** Replace the artifact with a hard link to its object, unless it already is one. */
async function linkView(objects: ObjectStore, abs: string, sha256: string): Promise<boolean> {
  if (await isViewOf(objects, abs, sha256)) return true;
  return (await objects.restore(sha256, abs, { link: true })) === 'linked';
}
