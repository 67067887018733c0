/** Lineage recording for CLI commands: the workspace is --workspace or the current directory. */
import * as path from 'path';
import type { BuildOutcome } from '../core/docker/build';
import type { PushOutcome } from '../core/docker/push';
import type { RunOutcome } from '../core/docker/run';
import type { ExportResult } from '../core/export/export';
import type { PipelineManifest } from '../core/generate/manifest';
import { buildFactsOf, exportFactsOf, pushFactsOf, recordBuild, recordExport, recordPush, recordRun, recordVersion as appendVersion, runFactsOf, versionFactsOf } from '../core/lineage';
import type { RunRecord } from '../core/lineage';
import type { ProductionizeResult } from '../core/pipeline';
import { objectStoreDir, openObjectStore, ObjectStore } from '../core/store/objects';
import type { IngestResult } from '../core/store/ingest';
import { ParsedArgs, stringFlag } from './args';
import type { CliContext } from './context';

export function workspaceDir(ctx: CliContext, option: string | undefined): string {
  return path.resolve(ctx.cwd, option ?? '.');
}

/** The object store for this command: --objects, else NB2PROD_OBJECTS, else the workspace's. */
export function objectsOf(ctx: CliContext, args: ParsedArgs): ObjectStore {
  const given = stringFlag(args, 'objects');
  return openObjectStore(objectStoreDir(workspaceDir(ctx, stringFlag(args, 'workspace')), ctx.env, given && path.resolve(ctx.cwd, given)));
}

export async function recordVersion(ctx: CliContext, args: ParsedArgs, result: ProductionizeResult): Promise<string> {
  const ws = workspaceDir(ctx, stringFlag(args, 'workspace'));
  const { record, stored } = await appendVersion(versionFactsOf(result, ws, path.resolve(ctx.cwd, result.plan.notebook)), { objects: objectsOf(ctx, args) });
  reportStored(ctx, stored);
  return record.id;
}

function reportStored(ctx: CliContext, stored: IngestResult | undefined): void {
  for (const p of stored?.problems ?? []) ctx.err(`object store: ${p}`);
}

/** The notebook a pipeline came from: its manifest names it relative to the pipeline directory. */
function notebookOf(ctx: CliContext, manifest: PipelineManifest, pipelineDir: string): string {
  const { fromPipeline, path: given } = manifest.notebook;
  return fromPipeline ? path.resolve(pipelineDir, fromPipeline) : path.resolve(ctx.cwd, given);
}

export async function recordBuildOutcome(ctx: CliContext, workspace: string | undefined, pipelineDir: string, outcome: BuildOutcome): Promise<string> {
  const record = await recordBuild(buildFactsOf(outcome, workspaceDir(ctx, workspace), notebookOf(ctx, outcome.manifest, pipelineDir)));
  return record.id;
}

/** Record the run, then store its run.json and artifacts (each artifact becomes a read-only view of its object). */
export async function recordRunOutcome(
  ctx: CliContext,
  args: ParsedArgs,
  pipelineDir: string,
  outcome: RunOutcome,
  build?: { id: string; imageId?: string },
  /** Defaults to the notebook's latest version; `reproduce` runs an older one. */
  versionId?: string,
): Promise<RunRecord> {
  const link = { ...(build ? { buildId: build.id, image: build.imageId ?? outcome.image } : {}), versionId };
  const ws = workspaceDir(ctx, stringFlag(args, 'workspace'));
  const { record, problems } = await recordRun(runFactsOf(outcome, ws, notebookOf(ctx, outcome.manifest, pipelineDir), link), { objects: objectsOf(ctx, args) });
  for (const p of problems) ctx.err(`lineage: ${p}`);
  return record;
}

export async function recordExportResult(ctx: CliContext, workspace: string | undefined, pipelineDir: string, result: ExportResult): Promise<void> {
  await recordExport(exportFactsOf(result, workspaceDir(ctx, workspace), notebookOf(ctx, result.manifest, pipelineDir)));
}

export async function recordPushOutcome(ctx: CliContext, workspace: string | undefined, pipelineDir: string, outcome: PushOutcome): Promise<void> {
  await recordPush(pushFactsOf(outcome, workspaceDir(ctx, workspace), notebookOf(ctx, outcome.manifest, pipelineDir)));
}
