/**
 * Giving back a recorded version (its generated package and the data files it read) or a run (its
 * version's files, its artifacts and run.json) from the object store, byte for byte.
 *
 * A file is restored to where it was (workspace-relative, as recorded) or under `to` in the same
 * layout. A file there whose content is neither the target's, nor the last content lineage
 * recorded at that path, nor an earlier recorded content still in the store (an earlier checkout)
 * is the user's work: nothing is written then (a half checkout mixes two versions) unless
 * `force`. Each file is replaced atomically (temp beside it, then rename); temps a killed checkout
 * left beside these files are removed by the next checkout of any version that has them.
 */
import * as fs from 'fs';
import * as path from 'path';
import { Nb2prodError } from '../errors';
import { removeLeftoversBeside } from '../leftovers';
import { mapLimited } from '../mapLimited';
import { FILES_AT_ONCE, hashFile } from '../lineage/hashing';
import type { LineageModel, RunNode, VersionNode } from '../lineage/model';
import { findByIdPrefix } from '../lineage/queries';
import type { FileHash, LineageRecord } from '../lineage/records';
import { filesOf } from './ingest';
import { isViewOf, ObjectStore } from './objects';

export interface CheckoutOptions {
  workspaceDir: string;
  objects: ObjectStore;
  /** Every record in file order: what each path last held, and which objects gc pruned when. */
  records: readonly LineageRecord[];
  /** Restore under this directory (workspace layout kept) instead of in the workspace. */
  to?: string;
  /** Overwrite files the user changed. */
  force?: boolean;
}

export interface CheckoutResult {
  /** Workspace-relative paths, as recorded. */
  restored: string[];
  unchanged: string[];
  /** Changed by the user: nothing was written because of them (without `force`). */
  conflicts: string[];
  /** Objects `gc` removed: `on` is the gc record's time. */
  pruned: { path: string; sha256: string; on: string }[];
  /** Neither in the store nor pruned (never stored, or removed by hand). */
  missing: { path: string; sha256: string }[];
  /** Files that cannot go under `to` (recorded outside the workspace). */
  skipped: string[];
}

/** A version or run by id or id prefix (as `lineage diff` takes them), or a run by its run id. */
export function checkoutTarget(model: LineageModel, id: string): VersionNode | RunNode {
  for (const node of model.byId.values()) if (node.kind === 'run' && node.record.runId === id) return node;
  const node = findByIdPrefix(model, id);
  if (node.kind !== 'version' && node.kind !== 'run') throw new Nb2prodError(`${id} is a ${node.kind}; checkout takes a version or a run`);
  return node;
}

/** What a checkout of this node writes: the version's files, then (for a run) the run's. */
export function checkoutFiles(node: VersionNode | RunNode): FileHash[] {
  const version = node.kind === 'version' ? node : node.version;
  const all = [...(version ? filesOf(version.record) : []), ...(node.kind === 'run' ? filesOf(node.record) : [])];
  return [...new Map(all.map((f) => [f.path, f])).values()];
}

/** Objects removed by gc, with the time of the gc that removed them. */
export function prunedObjects(records: readonly LineageRecord[]): Map<string, string> {
  const pruned = new Map<string, string>();
  for (const r of records) if (r.type === 'gc') for (const sha of r.pruned ?? []) pruned.set(sha, r.ts);
  return pruned;
}

export async function checkout(node: VersionNode | RunNode, options: CheckoutOptions): Promise<CheckoutResult> {
  const ws = path.resolve(options.workspaceDir);
  const result: CheckoutResult = { restored: [], unchanged: [], conflicts: [], pruned: [], missing: [], skipped: [] };
  const pruned = prunedObjects(options.records);
  const lastRecorded = new Map<string, string>();
  const everRecorded = new Set<string>();
  for (const r of options.records) {
    for (const f of filesOf(r)) {
      lastRecorded.set(f.path, f.sha256);
      everRecorded.add(`${f.path}\0${f.sha256}`);
    }
  }
  const replaceable = (file: string, sha: string) => sha === lastRecorded.get(file) || (everRecorded.has(`${file}\0${sha}`) && options.objects.has(sha));
  const artifacts = new Set(node.kind === 'run' ? (node.record.artifacts ?? []).map((a) => a.path) : []);

  const plan: { file: FileHash; dest: string; mode?: number }[] = [];
  const files = checkoutFiles(node).map((file) => ({ file, dest: destination(ws, options.to, file.path) }));
  await removeTempsBeside(files.flatMap((f) => (f.dest ? [f.dest] : [])));
  await mapLimited(files, FILES_AT_ONCE, async ({ file, dest }) => {
    if (!dest) return void result.skipped.push(file.path);
    // A view of the object holds its bytes without reading them: hundreds of MB of artifacts are not hashed again.
    if (await isViewOf(options.objects, dest, file.sha256)) return void result.unchanged.push(file.path);
    const current = await hashFile(dest).catch(() => undefined);
    if (current?.sha256 === file.sha256) return void result.unchanged.push(file.path);
    if (!options.objects.has(file.sha256)) {
      const on = pruned.get(file.sha256);
      if (on) result.pruned.push({ path: file.path, sha256: file.sha256, on });
      else result.missing.push({ path: file.path, sha256: file.sha256 });
      return;
    }
    if (current && !options.force && !replaceable(file.path, current.sha256)) return void result.conflicts.push(file.path);
    const mode = current ? (await fs.promises.stat(dest)).mode & 0o777 : undefined;
    plan.push({ file, dest, mode });
  });
  if (result.conflicts.length > 0) return sorted(result);

  await mapLimited(plan, FILES_AT_ONCE, async ({ file, dest, mode }) => {
    // A run's artifact back at its own path is a read-only view, as ingest leaves it; all else is the user's copy.
    const link = !options.to && artifacts.has(file.path);
    if (!link || (await options.objects.restore(file.sha256, dest, { link: true })) !== 'linked') {
      await options.objects.restore(file.sha256, dest, { mode: mode && mode & 0o200 ? mode : 0o644 });
    }
    result.restored.push(file.path);
  });
  return sorted(result);
}

/** What killed writers left beside these files: per directory, the temps of these names only. */
async function removeTempsBeside(dests: string[]): Promise<void> {
  const byDir = new Map<string, Set<string>>();
  for (const dest of dests) byDir.set(path.dirname(dest), (byDir.get(path.dirname(dest)) ?? new Set()).add(path.basename(dest)));
  await mapLimited([...byDir], FILES_AT_ONCE, ([dir, names]) => removeLeftoversBeside(dir, names));
}

function destination(ws: string, to: string | undefined, recorded: string): string | undefined {
  if (!to) return path.resolve(ws, recorded);
  const inside = path.resolve(to, recorded);
  const rel = path.relative(path.resolve(to), inside);
  return rel.startsWith('..') || path.isAbsolute(rel) ? undefined : inside;
}

function sorted(r: CheckoutResult): CheckoutResult {
  const byPath = (a: { path: string }, b: { path: string }) => a.path.localeCompare(b.path);
  return { ...r, restored: r.restored.sort(), unchanged: r.unchanged.sort(), conflicts: r.conflicts.sort(), pruned: r.pruned.sort(byPath), missing: r.missing.sort(byPath), skipped: r.skipped.sort() };
}
