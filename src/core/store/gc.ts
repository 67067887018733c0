/**
 * Removing objects no kept record references, and saying which recorded objects are where.
 *
 * Kept: every file of the last `keepRuns` runs of each notebook and of the versions they ran, of
 * every version recorded in the last `keepDays` days, and of each notebook's latest version (what
 * its pipeline directory holds). gc reads the records and removes objects holding the lineage
 * lock: a run appends its record before storing its files (store/ingest), so an object a running
 * pipeline is storing is already referenced by a record gc sees, or its record waits until gc is done.
 * What a pipeline's runtime writes into the store while it runs, before any record exists, is
 * kept by its marker (store/active).
 */
import * as fs from 'fs';
import * as path from 'path';
import { Nb2prodError } from '../errors';
import { foldRecords } from '../lineage/model';
import type { GcRecord, LineageRecord } from '../lineage/records';
import type { LineageStore } from '../lineage/store';
import { runningSince } from './active';
import { prunedObjects } from './checkout';
import { filesOf } from './ingest';
import type { ObjectStore, StoredObject } from './objects';

export interface GcPolicy {
  keepRuns: number;
  keepDays: number;
}

/** Ten runs cover a day of iterating on one notebook; thirty days a review cycle. */
export const GC_DEFAULTS: GcPolicy = { keepRuns: 10, keepDays: 30 };

export interface GcResult {
  policy: GcPolicy;
  /** Records whose files were kept. */
  keptVersions: number;
  keptRuns: number;
  /** Objects removed (or that would be, with dryRun) and their bytes. */
  removed: StoredObject[];
  bytes: number;
  /** Objects left. */
  remaining: number;
  /** Artifact files removed with their object: read-only views (hard links) that would keep its bytes on disk. */
  views: number;
  /** Objects no kept record references, kept because a pipeline running now may have written or linked them. */
  running: number;
  /** The gc record appended; none for a dry run or when nothing was removed. */
  record?: GcRecord;
}

/** sha256 of every object the kept records reference. */
export function keptObjects(records: readonly LineageRecord[], policy: GcPolicy, now: Date): { keep: Set<string>; versions: number; runs: number } {
  const model = foldRecords(records);
  const since = now.getTime() - policy.keepDays * 24 * 60 * 60 * 1000;
  const kept = new Set<LineageRecord>();
  for (const nb of model.notebooks.values()) {
    const latest = nb.versions[nb.versions.length - 1];
    if (latest) kept.add(latest.record);
    for (const v of nb.versions) if (Date.parse(v.ts) >= since) kept.add(v.record);
    const runs = [...nb.versions.flatMap((v) => v.runs), ...nb.unversioned.runs].sort((a, b) => a.ts.localeCompare(b.ts));
    for (const run of runs.slice(Math.max(0, runs.length - policy.keepRuns))) {
      kept.add(run.record);
      if (run.version) kept.add(run.version.record);
    }
  }
  const keep = new Set<string>();
  for (const r of kept) for (const f of filesOf(r)) keep.add(f.sha256);
  const all = [...kept];
  return { keep, versions: all.filter((r) => r.type === 'version').length, runs: all.filter((r) => r.type === 'run').length };
}

export async function collectGarbage(lineage: LineageStore, objects: ObjectStore, options: { policy?: GcPolicy; dryRun?: boolean; now?: Date } = {}): Promise<GcResult> {
  const policy = options.policy ?? GC_DEFAULTS;
  return lineage.exclusive(async (append, held) => {
    if (!options.dryRun) await objects.cleanTemp();
    const { records } = lineage.read();
    const { keep, versions, runs } = keptObjects(records, policy, options.now ?? new Date());
    // Objects listed before the markers are read: an object in the list was written after its
    // pipeline's marker, so that marker is read here (see store/active).
    const stored = await objects.list();
    const since = await runningSince(objects.dir, { clean: !options.dryRun });
    const unreferenced = stored.filter((o) => !keep.has(o.sha256));
    const removed = since === undefined ? unreferenced : await olderThan(objects, unreferenced, since);
    const bytes = removed.reduce((sum, o) => sum + o.bytes, 0);
    const result: GcResult = {
      policy,
      keptVersions: versions,
      keptRuns: runs,
      removed,
      bytes,
      remaining: stored.length - removed.length,
      views: 0,
      running: unreferenced.length - removed.length,
    };
    if (options.dryRun || removed.length === 0) return result;
    // Asked before each removal: a gc paused past the lock's stale limit (its heartbeat stopped) may
    // have lost the lock to a run whose record references what gc was about to remove.
    const mustHold = (done: number) => {
      if (!held()) {
        throw new Nb2prodError(
          `gc stopped after removing ${done} of ${removed.length} objects: another process took the lineage lock (this gc was paused for longer than the lock's stale limit) and may have recorded a run using the rest; they stay. Run gc again.`,
        );
      }
    };
    mustHold(0);
    // Recorded before removing: a gc killed midway leaves objects the record calls pruned but that
    // are still there (has() answers true, nothing lost), never removed objects no record explains.
    result.record = append({ type: 'gc', notebook: '', pruned: removed.map((o) => o.sha256), bytes, keepRuns: policy.keepRuns, keepDays: policy.keepDays }) as GcRecord;
    result.views = await removeViews(lineage.workspaceDir, records, objects, new Set(removed.map((o) => o.sha256)));
    for (const [done, o] of removed.entries()) {
      mustHold(done);
      await objects.remove(o.sha256);
    }
    return result;
  });
}

/**
 * The objects written or linked before `since`: a link (a running pipeline reusing an object)
 * changes its ctime, a write its mtime.
 */
async function olderThan(objects: ObjectStore, candidates: StoredObject[], since: number): Promise<StoredObject[]> {
  const old: StoredObject[] = [];
  for (const o of candidates) {
    const st = await fs.promises.stat(objects.pathOf(o.sha256)).catch(() => undefined);
    if (st && Math.max(st.mtimeMs, st.ctimeMs) < since) old.push(o);
  }
  return old;
}

/**
 * Remove the artifact files that are hard links to objects about to go: otherwise the disk keeps
 * their bytes and gc frees nothing. A file that is not the object's inode (a copy, a file written
 * since) is the user's, and stays.
 */
async function removeViews(workspaceDir: string, records: readonly LineageRecord[], objects: ObjectStore, going: Set<string>): Promise<number> {
  let removed = 0;
  for (const r of records) {
    if (r.type !== 'run') continue;
    for (const a of r.artifacts ?? []) {
      if (!going.has(a.sha256)) continue;
      const file = path.resolve(workspaceDir, a.path);
      const [view, object] = await Promise.all([fs.promises.stat(file).catch(() => undefined), fs.promises.stat(objects.pathOf(a.sha256)).catch(() => undefined)]);
      if (!view || !object || view.ino !== object.ino || view.dev !== object.dev) continue;
      await fs.promises.rm(file, { force: true });
      removed++;
    }
  }
  return removed;
}

export interface ObjectAudit {
  /** Distinct objects the records reference. */
  referenced: number;
  present: number;
  /** Removed by gc: sha256 -> the gc's time. */
  pruned: Map<string, string>;
  /** Referenced, not present, not pruned by gc: never stored (recorded before the store existed) or removed by hand. */
  missing: string[];
}

/** Where each object the records reference is: what `lineage verify` reports beside the chain. */
export function auditObjects(records: readonly LineageRecord[], objects: ObjectStore): ObjectAudit {
  const gcs = prunedObjects(records);
  const referenced = new Set(records.flatMap((r) => filesOf(r).map((f) => f.sha256)));
  const audit: ObjectAudit = { referenced: referenced.size, present: 0, pruned: new Map(), missing: [] };
  for (const sha of referenced) {
    if (objects.has(sha)) audit.present++;
    else if (gcs.has(sha)) audit.pruned.set(sha, gcs.get(sha)!);
    else audit.missing.push(sha);
  }
  return audit;
}
