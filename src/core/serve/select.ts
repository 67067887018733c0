/** Which run `nb2prod serve NB|DIR [--run RUN]` serves: the one named, else the notebook's latest run that succeeded. */
import * as fs from 'fs';
import * as path from 'path';
import { readManifest } from '../docker/pipeline-dir';
import { Nb2prodError } from '../errors';
import { workspaceRelative } from '../lineage/hashing';
import type { LineageModel, RunNode } from '../lineage/model';
import { findRun } from '../reproduce/prepare';

/** The workspace-relative notebook of a notebook path or a pipeline directory (its pipeline.json names the notebook). */
export async function notebookOfTarget(workspaceDir: string, target: string): Promise<string> {
  const ws = path.resolve(workspaceDir);
  const abs = path.resolve(ws, target);
  const stat = await fs.promises.stat(abs).catch(() => undefined);
  if (!stat) throw new Nb2prodError(`${target} does not exist`, undefined, 'USAGE');
  if (!stat.isDirectory()) return workspaceRelative(ws, abs);
  const manifest = await readManifest(abs);
  const { fromPipeline, path: given } = manifest.notebook;
  return workspaceRelative(ws, fromPipeline ? path.resolve(abs, fromPipeline) : path.resolve(ws, given));
}

export function selectRun(model: LineageModel, notebook: string, runQuery?: string): RunNode {
  if (runQuery !== undefined) {
    const run = findRun(model, runQuery);
    if (run.record.notebook !== notebook) throw new Nb2prodError(`run ${run.record.runId} is a run of ${run.record.notebook}, not of ${notebook}`, undefined, 'USAGE');
    return run;
  }
  const nb = model.notebooks.get(notebook);
  const runs = [...(nb?.versions.flatMap((v) => v.runs) ?? []), ...(nb?.unversioned.runs ?? [])].filter((r) => r.record.status === 'succeeded');
  if (runs.length === 0) throw new Nb2prodError(`no run of ${notebook} that succeeded is recorded: run the pipeline first (nb2prod run ${notebook})`, undefined, 'NO_RUN');
  // Records are in time order: on equal times the later one wins.
  return runs.reduce((latest, r) => (r.ts >= latest.ts ? r : latest));
}
