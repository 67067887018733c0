/** Lineage recording for CLI commands: the workspace is --workspace or the current directory. */
import * as path from 'path';
import type { BuildOutcome } from '../core/docker/build';
import type { RunOutcome } from '../core/docker/run';
import type { PipelineManifest } from '../core/generate/manifest';
import { recordBuild, recordRun, recordVersion as appendVersion, versionFactsOf } from '../core/lineage';
import type { ProductionizeResult } from '../core/pipeline';
import type { CliContext } from './context';

export function workspaceDir(ctx: CliContext, option: string | undefined): string {
  return path.resolve(ctx.cwd, option ?? '.');
}

export async function recordVersion(ctx: CliContext, workspace: string | undefined, result: ProductionizeResult): Promise<string> {
  const { record } = await appendVersion(versionFactsOf(result, workspaceDir(ctx, workspace), path.resolve(ctx.cwd, result.plan.notebook)));
  return record.id;
}

/** The notebook a pipeline came from, as recorded in its manifest (relative to where it was generated). */
function notebookOf(ctx: CliContext, manifest: PipelineManifest): string {
  return path.resolve(ctx.cwd, manifest.notebook.path);
}

export async function recordBuildOutcome(ctx: CliContext, workspace: string | undefined, outcome: BuildOutcome): Promise<string> {
  const record = await recordBuild({
    workspaceDir: workspaceDir(ctx, workspace),
    notebookPath: notebookOf(ctx, outcome.manifest),
    contextHash: outcome.contextHash,
    dockerfileHash: outcome.dockerfileHash,
    baseImage: outcome.baseImage,
    ...(outcome.imageId ? { imageId: outcome.imageId } : {}),
    tags: outcome.tags,
    seconds: outcome.seconds,
    status: outcome.status,
    ...(outcome.error ? { error: [outcome.error.describe(), ...outcome.logTail].join('\n') } : {}),
  });
  return record.id;
}

export async function recordRunOutcome(
  ctx: CliContext,
  workspace: string | undefined,
  outcome: RunOutcome,
  build?: { id: string; imageId?: string },
): Promise<void> {
  const { problems } = await recordRun({
    workspaceDir: workspaceDir(ctx, workspace),
    notebookPath: notebookOf(ctx, outcome.manifest),
    ...(outcome.record ? { runDir: outcome.runDir } : {}),
    ...(build ? { buildId: build.id, image: build.imageId ?? outcome.image } : {}),
    status: outcome.status === 'succeeded' ? 'succeeded' : outcome.status === 'cancelled' ? 'cancelled' : 'failed',
    ...(outcome.error ? { error: outcome.error.describe() } : {}),
    runId: outcome.runId,
  });
  for (const p of problems) ctx.err(`lineage: ${p}`);
}
