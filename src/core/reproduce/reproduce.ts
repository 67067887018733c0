/**
 * Reproducing a run, whichever shell asks: where to run (the workspace's pipeline directory, or
 * the version restored from the object store when the workspace no longer holds it), then the
 * comparison and its lineage record. How to run (local interpreter, the same image, a rebuild) and
 * how to record the new run differ between the CLI and the extension, so they pass that in.
 */
import * as path from 'path';
import type { ContainerEngine } from '../docker/engine';
import { readManifest } from '../docker/pipeline-dir';
import { LABELS } from '../generate/dockerfile';
import { recordReproduction } from '../lineage/recording';
import type { LineageStore } from '../lineage/store';
import type { LineageRecord, ReproductionRecord, RunRecord } from '../lineage/records';
import type { ObjectStore } from '../store/objects';
import { compareRuns, Comparison } from './compare';
import type { ReproductionPlan } from './prepare';
import { stageVersion, StagedVersion } from './stage';

export interface RunAgain {
  /** The new run as recorded. */
  record: RunRecord;
  local: boolean;
  /** The image it ran in (container runs). */
  image?: string;
  /** The original image was gone and was built again. */
  rebuilt?: boolean;
}

export interface ReproduceOptions {
  workspaceDir: string;
  objects: ObjectStore;
  /** Every record in file order (checkout needs what each path last held, and what gc pruned). */
  records: () => readonly LineageRecord[];
  /** The open store to append to (the extension keeps one); else one is opened. */
  store?: LineageStore;
  /** Told before the version is restored, and after, so a shell can say so. */
  onStaging?(plan: ReproductionPlan): void;
  onStaged?(staged: StagedVersion): void;
}

export type Reproduced<T extends RunAgain> =
  | { status: 'cancelled'; again: T }
  | { status: 'compared'; again: T; comparison: Comparison; record: ReproductionRecord };

/**
 * `run(dir, artifactsDir)` runs the version's pipeline in `dir` with `plan.params` and records the
 * run against the workspace. The temporary directory is removed whatever happens.
 */
export async function reproduceRun<T extends RunAgain>(
  plan: ReproductionPlan,
  options: ReproduceOptions,
  run: (dir: string, artifactsDir: string) => Promise<T>,
): Promise<Reproduced<T>> {
  const ws = path.resolve(options.workspaceDir);
  const original = plan.run.record;
  let staged: StagedVersion | undefined;
  if (plan.drift.length > 0) {
    options.onStaging?.(plan);
    staged = await stageVersion(plan, options.objects, options.records(), ws);
    options.onStaged?.(staged);
  }
  try {
    const dir = staged?.pipelineDir ?? plan.pipelineDir;
    // Beside the original, so both runs' artifacts sit in the same place, and in the workspace even when `dir` is temporary.
    const artifactsDir = original.runDir ? path.dirname(path.resolve(ws, original.runDir)) : path.join(plan.pipelineDir, 'artifacts');
    const again = await run(dir, artifactsDir);
    if (again.record.status === 'cancelled') return { status: 'cancelled', again };
    const comparison = compareRuns(original, again.record, (await readManifest(dir)).edges);
    const record = await recordReproduction(
      {
        workspaceDir: ws,
        versionId: plan.version.id,
        notebook: original.notebook,
        ...comparison,
        original: plan.run.id,
        reproduction: again.record.id,
        originalRunId: original.runId,
        reproductionRunId: again.record.runId,
        local: again.local,
        ...(again.image ? { image: again.image } : {}),
        ...(again.rebuilt ? { rebuilt: true } : {}),
      },
      { store: options.store },
    );
    return { status: 'compared', again, comparison, record };
  } finally {
    await staged?.dispose();
  }
}

/** What the shells say before restoring: which files show the workspace no longer holds the version. */
export function stagingMessage(plan: ReproductionPlan): string {
  const changed = plan.drift.slice(0, 3).map((d) => `${d.path} (${d.why})`);
  const more = plan.drift.length > changed.length ? ` and ${plan.drift.length - changed.length} more` : '';
  return `the workspace no longer holds version ${plan.version.id} (${changed.join(', ')}${more}): restoring it from the object store into a temporary directory`;
}

/** The original image when the engine still has it (found by the build's context label, matched by id). */
export async function sameImage(plan: ReproductionPlan, engine: ContainerEngine, signal?: AbortSignal): Promise<string | undefined> {
  const id = plan.run.record.image;
  const build = plan.run.build?.record;
  if (!id || !build) return undefined;
  const bare = (s: string) => s.replace(/^sha256:/, '');
  const images = await engine.findImages({ [LABELS.contextHash]: build.contextHash }, signal);
  return images.find((i) => bare(i.id) === bare(id))?.id;
}
