/** Reading the run.json a generated pipeline writes, and checking its artifacts against the disk. */
import * as fs from 'fs';
import * as path from 'path';
import { sha256 } from '../hash';
import { hashFile, workspaceRelative } from './hashing';
import type { ArtifactHash, FileHash } from './records';
import { isViewOf, ObjectStore } from '../store/objects';

/** run.json as the generated `_runtime.py` writes it. */
export interface RunJson {
  run_id: string;
  params: Record<string, unknown>;
  /** 'partial': merged from the step records of a run whose steps ran one by one (`--only`), not all yet. */
  status: 'succeeded' | 'failed' | 'partial';
  started?: string;
  finished?: string;
  steps: { name: string; status: string; seconds: number; error?: string }[];
  artifacts: { path: string; sha256: string; bytes: number; step?: string; name?: string }[];
  metrics: Record<string, unknown>;
}

export interface RunArtifacts {
  /** The parsed run.json, or undefined when it is missing or unreadable (see problems). */
  run?: RunJson;
  /** Artifacts with workspace-relative paths and the sha256/size of the file on disk now. */
  artifacts: ArtifactHash[];
  /** run.json's own hash, from the bytes parsed. */
  runJson?: FileHash;
  /** Human-readable: missing run.json, missing files, hash mismatches, paths escaping the run dir. */
  problems: string[];
}

/**
 * Turn `<runDir>/run.json` into artifact records. The hash recorded is the one of the file on disk
 * (what a later trace will find); a disagreement with run.json is reported, not hidden. An
 * artifact that is a view of the object run.json names (the runtime wrote it into `objects`) is
 * that object's inode: its bytes are the ones its name hashes, and it is not read again.
 */
export async function artifactsFromRunJson(runDir: string, workspaceDir: string, objects?: ObjectStore): Promise<RunArtifacts> {
  const dir = path.resolve(workspaceDir, runDir);
  const file = path.join(dir, 'run.json');
  const problems: string[] = [];
  let run: RunJson;
  let runJson: FileHash | undefined;
  try {
    const bytes = await fs.promises.readFile(file);
    runJson = { path: workspaceRelative(workspaceDir, file), sha256: sha256(bytes), bytes: bytes.length };
    run = JSON.parse(bytes.toString('utf8')) as RunJson;
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    problems.push(code === 'ENOENT' ? `no run.json in ${workspaceRelative(workspaceDir, dir)}` : `run.json is unreadable: ${(e as Error).message}`);
    return { artifacts: [], problems };
  }
  if (typeof run !== 'object' || run === null) {
    return { artifacts: [], problems: ['run.json is not an object'] };
  }
  const artifacts: ArtifactHash[] = [];
  for (const a of Array.isArray(run.artifacts) ? run.artifacts : []) {
    if (!a || typeof a.path !== 'string' || a.path === '' || path.isAbsolute(a.path)) {
      problems.push(`artifact with an unusable path ${JSON.stringify(a?.path)} skipped`);
      continue;
    }
    const abs = path.resolve(dir, a.path);
    const rel = path.relative(dir, abs);
    if (rel.startsWith('..') || path.isAbsolute(rel)) {
      problems.push(`artifact ${a.path} points outside the run directory; skipped`);
      continue;
    }
    const extra = { ...(a.step ? { step: a.step } : {}), ...(a.name ? { name: a.name } : {}) };
    const wsPath = workspaceRelative(workspaceDir, abs);
    try {
      const disk = objects && typeof a.sha256 === 'string' && (await isViewOf(objects, abs, a.sha256)) ? { sha256: a.sha256, bytes: (await fs.promises.stat(abs)).size } : await hashFile(abs);
      if (typeof a.sha256 === 'string' && a.sha256 !== disk.sha256) {
        problems.push(`artifact ${wsPath}: sha256 on disk ${disk.sha256.slice(0, 12)} differs from run.json ${a.sha256.slice(0, 12)}`);
      }
      artifacts.push({ path: wsPath, sha256: disk.sha256, bytes: disk.bytes, ...extra });
    } catch {
      problems.push(`artifact ${wsPath} is listed in run.json but missing on disk`);
      if (typeof a.sha256 === 'string') artifacts.push({ path: wsPath, sha256: a.sha256, bytes: Number(a.bytes) || 0, ...extra });
    }
  }
  return { run, runJson, artifacts, problems };
}
