/**
 * All-or-nothing, edit-aware writing of a generated package.
 *
 * Files are staged in a temporary directory next to the target, then moved into place one
 * by one with the previous versions kept aside, so a failure restores the old tree. A file
 * the user edited since the last generation (its hash differs from the manifest's) is kept
 * and reported unless `force`. Files we never generated (artifacts, user notes) are left alone.
 */
import { promises as fs } from 'fs';
import * as path from 'path';
import { Nb2prodError } from '../errors';
import { sha256 } from '../hash';
import type { GeneratedFile } from '../generate/files';

export const MANIFEST = 'pipeline.json';

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

/** Which generated files the user changed since they were written. */
export async function editedFiles(outDir: string, previous: PreviousManifest | undefined): Promise<string[]> {
  if (!previous) return [];
  const edited: string[] = [];
  for (const [rel, hash] of Object.entries(previous.files)) {
    const current = await fs.readFile(path.join(outDir, rel)).catch(() => undefined);
    if (current && sha256(current) !== hash) edited.push(rel);
  }
  return edited.sort();
}

/**
 * `files` must include the manifest (written last: it marks a complete generation).
 * `keep` are the paths not to overwrite (user edits).
 */
export async function writeTree(outDir: string, files: GeneratedFile[], copies: { relPath: string; absPath: string }[], previous: PreviousManifest | undefined, keep: Set<string>): Promise<WriteResult> {
  for (const f of [...files.map((f) => f.path), ...copies.map((c) => c.relPath)]) assertInside(f);
  const parent = path.dirname(path.resolve(outDir));
  await fs.mkdir(parent, { recursive: true });
  const stage = await fs.mkdtemp(path.join(parent, `.${path.basename(outDir)}.nb2prod-`));
  const backup = path.join(stage, '.previous');
  const result: WriteResult = { written: [], unchanged: [], kept: [], removed: [] };
  const moved: { target: string; saved?: string }[] = [];
  try {
    const ordered = [...files.filter((f) => f.path !== MANIFEST), ...files.filter((f) => f.path === MANIFEST)];
    const staged: { rel: string; staged: string }[] = [];
    for (const copy of copies) {
      const dest = path.join(stage, 'new', copy.relPath);
      await fs.mkdir(path.dirname(dest), { recursive: true });
      await fs.copyFile(copy.absPath, dest);
      staged.push({ rel: copy.relPath, staged: dest });
    }
    for (const file of ordered) {
      if (keep.has(file.path)) {
        result.kept.push(file.path);
        continue;
      }
      const dest = path.join(stage, 'new', file.path);
      await fs.mkdir(path.dirname(dest), { recursive: true });
      await fs.writeFile(dest, file.content);
      staged.push({ rel: file.path, staged: dest });
    }
    const stale = Object.keys(previous?.files ?? {}).filter((rel) => !staged.some((s) => s.rel === rel) && !keep.has(rel));
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
    for (const { rel, staged: from } of staged) {
      const target = path.join(outDir, rel);
      const old = await fs.readFile(target).catch(() => undefined);
      if (old && old.equals(await fs.readFile(from))) {
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
