/**
 * Where a reproduction runs when the workspace no longer holds the run's version: the version's
 * package and the data files it read, restored from the object store into a temporary directory
 * in the workspace layout (so the package's relative data paths still resolve). The workspace's
 * own files are never written, so reproducing an old run leaves the current package as it is.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { Nb2prodError } from '../errors';
import type { LineageRecord } from '../lineage/records';
import { checkout, CheckoutResult } from '../store/checkout';
import type { ObjectStore } from '../store/objects';
import type { ReproductionPlan } from './prepare';

export interface StagedVersion {
  /** The version's pipeline directory inside the temporary directory. */
  pipelineDir: string;
  /** Files restored from the store, and files copied from the workspace because they are still as recorded there but not stored. */
  restored: number;
  copied: number;
  /** Removes the temporary directory; safe to call twice. */
  dispose(): Promise<void>;
}

/**
 * Restores `plan.version` under a new temporary directory. Fails (and leaves nothing behind)
 * when a file that is not on disk as recorded has no object: pruned by gc (said so, with when)
 * or never stored. A file whose object is gone but whose workspace copy is still as recorded
 * (e.g. a version recorded before the store existed) is copied from the workspace instead.
 */
export async function stageVersion(plan: ReproductionPlan, objects: ObjectStore, records: readonly LineageRecord[], workspaceDir: string): Promise<StagedVersion> {
  const version = plan.run.version;
  if (!version) throw new Nb2prodError(`run ${plan.run.record.runId} names no version to restore`);
  const ws = path.resolve(workspaceDir);
  const root = await fs.promises.mkdtemp(path.join(os.tmpdir(), 'nb2prod-reproduce-'));
  const dispose = () => fs.promises.rm(root, { recursive: true, force: true });
  try {
    const result = await checkout(version, { workspaceDir: ws, objects, records, to: root });
    const drifted = new Set(plan.drift.map((d) => d.path));
    const absent = [...result.pruned, ...result.missing];
    const lost = absent.filter((f) => drifted.has(f.path));
    const outside = result.skipped.filter((f) => drifted.has(f));
    if (lost.length > 0 || outside.length > 0) throw notRestorable(plan, result, lost, outside);
    // Still as recorded in the workspace: the same bytes the store would have given.
    for (const f of absent) {
      const dest = path.resolve(root, f.path);
      await fs.promises.mkdir(path.dirname(dest), { recursive: true });
      await fs.promises.copyFile(path.resolve(ws, f.path), dest);
    }
    return { pipelineDir: path.resolve(root, version.record.outDir), restored: result.restored.length, copied: absent.length, dispose };
  } catch (e) {
    await dispose();
    throw e;
  }
}

function notRestorable(plan: ReproductionPlan, result: CheckoutResult, lost: { path: string; sha256: string }[], outside: string[]): Nb2prodError {
  const pruned = new Map(result.pruned.map((p) => [p.path, p.on]));
  const why = (f: { path: string; sha256: string }) => {
    const on = pruned.get(f.path);
    return on ? `${f.path} (object ${f.sha256.slice(0, 12)} pruned by gc on ${on})` : `${f.path} (object ${f.sha256.slice(0, 12)} not in the object store)`;
  };
  const listed = [...lost.map(why), ...outside.map((f) => `${f} (recorded outside the workspace and changed since)`)];
  const gc = result.pruned.some((p) => lost.some((l) => l.path === p.path))
    ? ' gc removed what it needs: a later gc keeps more with --keep-runs / --keep-days.'
    : '';
  return new Nb2prodError(
    `run ${plan.run.record.runId} cannot be reproduced: version ${plan.version.id} is not in the workspace any more and these of its files cannot be restored: ${listed.join(', ')}.${gc}`,
  );
}
