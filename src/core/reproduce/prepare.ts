/**
 * What `reproduce` needs before it runs anything: the recorded run, the version that made it,
 * where its pipeline is, the parameters as `--param` values, and whether the files on disk are
 * still that version's (if not, the version must be checked out first).
 */
import * as path from 'path';
import { Nb2prodError } from '../errors';
import { FILES_AT_ONCE, hashFile } from '../lineage/hashing';
import type { LineageModel, RunNode } from '../lineage/model';
import { findByIdPrefix } from '../lineage/queries';
import { mapLimited } from '../mapLimited';
import type { FileHash, VersionRecord } from '../lineage/records';

export interface ReproductionPlan {
  run: RunNode;
  version: VersionRecord;
  /** The version's pipeline directory in the workspace (absolute). */
  pipelineDir: string;
  /** `name=value` for each parameter the run had, as the generated runner reads them. */
  params: string[];
  /** Files of the version that are not on disk as recorded (workspace-relative); empty when the workspace holds the version. */
  drift: { path: string; why: 'changed' | 'missing' }[];
}

/** The run by lineage record id (prefix) or by its run id, as `run` printed it. */
export function findRun(model: LineageModel, query: string): RunNode {
  try {
    return findByIdPrefix(model, query, 'run');
  } catch (byRecord) {
    const named = [...model.byId.values()].filter((n): n is RunNode => n.kind === 'run' && n.record.runId === query);
    if (named.length === 1) return named[0];
    if (named.length > 1) throw new Nb2prodError(`run id ${JSON.stringify(query)} was recorded ${named.length} times; give the lineage record id instead`);
    throw byRecord;
  }
}

export async function prepareReproduction(model: LineageModel, query: string, workspaceDir: string): Promise<ReproductionPlan> {
  const run = findRun(model, query);
  const version = run.version?.record;
  // A run without its version cannot say which code made it: nothing to run again.
  if (!version) throw new Nb2prodError(`run ${run.record.runId} (${run.id}) names no version in the lineage store, so what it ran is unknown`);
  const ws = path.resolve(workspaceDir);
  const drift = await driftOf(ws, [...version.files, ...(version.data ?? [])]);
  return { run, version, pipelineDir: path.resolve(ws, version.outDir), params: paramArgs(run.record.params ?? {}), drift };
}

/** The runner takes strings as they are and anything else as JSON (`--param epochs=3`, `--param region=south`). */
export function paramArgs(params: Record<string, unknown>): string[] {
  return Object.entries(params).map(([name, value]) => `${name}=${typeof value === 'string' ? value : JSON.stringify(value)}`);
}

async function driftOf(ws: string, files: FileHash[]): Promise<ReproductionPlan['drift']> {
  const checked = await mapLimited(files, FILES_AT_ONCE, async (f) => {
    const disk = await hashFile(path.resolve(ws, f.path)).catch(() => undefined);
    if (!disk) return { path: f.path, why: 'missing' as const };
    return disk.sha256 === f.sha256 ? undefined : { path: f.path, why: 'changed' as const };
  });
  return checked.filter((d) => d !== undefined);
}
