/**
 * All-or-nothing, edit-aware writing of a generated package.
 *
 * Files are staged in a temporary directory next to the target, then moved into place one
 * by one with the previous versions kept aside, so a failure restores the old tree. A file
 * the user edited since the last generation (its hash differs from the manifest's) is kept
 * and reported unless `force`. Files we never generated (artifacts, user notes) are left alone.
 *
 * The staging directory is named for its writer (pid, host): a writer killed before it could remove
 * its own leaves it behind, and the next write of the same package removes it, never a live one's.
 */
import { promises as fs } from 'fs';
import * as path from 'path';
import { Nb2prodError } from '../errors';
import { sha256 } from '../hash';
import type { GeneratedFile } from '../generate/files';
import { besideName, leftoversBeside, removeLeftoversBeside } from '../leftovers';

export const MANIFEST = 'pipeline.json';
/** Inside the staging directory: the new files, in the package's layout. */
const STAGED = 'new';

export interface WriteResult {
  written: string[];
  unchanged: string[];
  /** User-edited files kept as they are (not overwritten). */
  kept: string[];
  removed: string[];
}

export interface PreviousManifest {
  files: Record<string, string>;
}

export async function readPreviousManifest(outDir: string): Promise<PreviousManifest | undefined> {
  try {
    const json = JSON.parse(await fs.readFile(path.join(outDir, MANIFEST), 'utf8'));
    return json && typeof json.files === 'object' ? { files: json.files } : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Which generated files the user changed since they were written. A file a killed writer already
 * moved in holds what that generation's manifest (still in its staging directory) lists: ours,
 * not an edit, or the next generation would keep it and the manifest would call it edited forever.
 */
export async function editedFiles(outDir: string, previous: PreviousManifest | undefined): Promise<string[]> {
  if (!previous) return [];
  const interrupted = await interruptedManifests(outDir);
  const ours = (rel: string, hash: string) => hash === previous.files[rel] || interrupted.some((m) => m.files[rel] === hash);
  const entries = Object.entries(previous.files);
  const current = await Promise.all(entries.map(([rel]) => fs.readFile(path.join(outDir, rel)).catch(() => undefined)));
  return entries.filter(([rel], i) => current[i] && !ours(rel, sha256(current[i]!))).map(([rel]) => rel).sort();
}

/** The manifests killed writers staged for this output and never moved in (it moves last). */
async function interruptedManifests(outDir: string): Promise<PreviousManifest[]> {
  const out = path.resolve(outDir);
  const stages = await leftoversBeside(path.dirname(out), new Set([path.basename(out)]));
  const manifests = await Promise.all(stages.map((stage) => readPreviousManifest(path.join(stage, STAGED))));
  return manifests.filter((m): m is PreviousManifest => m !== undefined);
}

/**
 * `files` must include the manifest (written last: it marks a complete generation).
 * `keep` are the paths not to overwrite (user edits).
 */
export async function writeTree(outDir: string, files: GeneratedFile[], copies: { relPath: string; absPath: string }[], previous: PreviousManifest | undefined, keep: Set<string>): Promise<WriteResult> {
  for (const f of [...files.map((f) => f.path), ...copies.map((c) => c.relPath)]) assertInside(f);
  const parent = path.dirname(path.resolve(outDir));
  await fs.mkdir(parent, { recursive: true });
  await removeLeftoversBeside(parent, new Set([path.basename(path.resolve(outDir))]));
  const stage = besideName(path.resolve(outDir));
  await fs.mkdir(stage);
  const backup = path.join(stage, '.previous');
  const result: WriteResult = { written: [], unchanged: [], kept: [], removed: [] };
  const moved: { target: string; saved?: string }[] = [];
  try {
    const ordered = [...files.filter((f) => f.path !== MANIFEST), ...files.filter((f) => f.path === MANIFEST)];
    result.kept.push(...ordered.filter((f) => keep.has(f.path)).map((f) => f.path));
    // Regenerating mostly reproduces what is there: only files whose bytes differ are staged and moved.
    const candidates = ordered.filter((f) => !keep.has(f.path));
    const alreadyThere = await Promise.all(candidates.map((f) => holds(path.join(outDir, f.path), f.content)));
    result.unchanged.push(...candidates.filter((_, i) => alreadyThere[i]).map((f) => f.path));
    const toWrite = candidates.filter((_, i) => !alreadyThere[i]);
    const staged = [...copies.map((c) => c.relPath), ...toWrite.map((f) => f.path)].map((rel) => ({ rel, staged: path.join(stage, STAGED, rel) }));
    // Staging touches only the private stage directory, so it can go in parallel.
    await Promise.all([...new Set(staged.map((s) => path.dirname(s.staged)))].map((dir) => fs.mkdir(dir, { recursive: true })));
    await Promise.all([
      ...copies.map((c, i) => fs.copyFile(c.absPath, staged[i].staged)),
      ...toWrite.map((f, i) => fs.writeFile(staged[copies.length + i].staged, f.content)),
    ]);
    const generated = new Set([...copies.map((c) => c.relPath), ...files.map((f) => f.path)]);
    const stale = Object.keys(previous?.files ?? {}).filter((rel) => !generated.has(rel) && !keep.has(rel));
    for (const rel of stale) {
      assertInside(rel);
      const target = path.join(outDir, rel);
      if (!(await exists(target))) continue;
      const saved = path.join(backup, rel);
      await fs.mkdir(path.dirname(saved), { recursive: true });
      await fs.rename(target, saved);
      moved.push({ target, saved });
      result.removed.push(rel);
    }
    const current = await Promise.all(staged.map((s) => compareWithTarget(path.join(outDir, s.rel), s.staged)));
    for (const [i, { rel, staged: from }] of staged.entries()) {
      const target = path.join(outDir, rel);
      const { old, same } = current[i];
      if (same) {
        result.unchanged.push(rel);
        continue;
      }
      await fs.mkdir(path.dirname(target), { recursive: true });
      let saved: string | undefined;
      if (old) {
        saved = path.join(backup, rel);
        await fs.mkdir(path.dirname(saved), { recursive: true });
        await fs.rename(target, saved);
      }
      moved.push({ target, saved });
      await fs.rename(from, target);
      result.written.push(rel);
    }
  } catch (e) {
    await rollback(moved);
    throw e instanceof Nb2prodError ? e : new Nb2prodError(`could not write the pipeline: ${(e as Error).message}`, { file: outDir });
  } finally {
    await fs.rm(stage, { recursive: true, force: true });
  }
  await removeEmptyDirs(outDir, result.removed);
  return result;
}

async function rollback(moved: { target: string; saved?: string }[]): Promise<void> {
  for (const { target, saved } of moved.reverse()) {
    await fs.rm(target, { force: true }).catch(() => undefined);
    if (saved) await fs.rename(saved, target).catch(() => undefined);
  }
}

async function removeEmptyDirs(outDir: string, removed: string[]): Promise<void> {
  const dirs = new Set(removed.map((r) => path.dirname(r)).filter((d) => d !== '.'));
  for (const dir of [...dirs].sort((a, b) => b.length - a.length)) {
    await fs.rmdir(path.join(outDir, dir)).catch(() => undefined);
  }
}

function assertInside(rel: string): void {
  if (path.isAbsolute(rel) || rel.split(/[\\/]/).includes('..')) {
    throw new Nb2prodError(`refusing to write outside the pipeline directory: ${rel}`);
  }
}

async function exists(p: string): Promise<boolean> {
  return fs.access(p).then(
    () => true,
    () => false,
  );
}

/** Whether `target` is a file holding exactly `content`. */
async function holds(target: string, content: string): Promise<boolean> {
  const bytes = Buffer.from(content);
  const stat = await fs.stat(target).catch(() => undefined);
  if (!stat?.isFile() || stat.size !== bytes.length) return false;
  return bytes.equals(await fs.readFile(target));
}

/** Whether the target exists and already holds the staged bytes (sizes first: data files can be large). */
async function compareWithTarget(target: string, staged: string): Promise<{ old: boolean; same: boolean }> {
  const [a, b] = await Promise.all([fs.stat(target).catch(() => undefined), fs.stat(staged)]);
  if (!a) return { old: false, same: false };
  if (!a.isFile()) throw new Nb2prodError(`cannot write ${path.basename(target)}: something that is not a file is in the way`, { file: target });
  if (a.size !== b.size) return { old: true, same: false };
  const [x, y] = await Promise.all([fs.readFile(target), fs.readFile(staged)]);
  return { old: true, same: x.equals(y) };
}
