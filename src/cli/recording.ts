/** Lineage recording for CLI commands: the workspace is --workspace or the current directory. */
import * as path from 'path';
import { recordVersion as appendVersion } from '../core/lineage';
import type { ProductionizeResult } from '../core/pipeline';
import type { CliContext } from './context';

export function workspaceDir(ctx: CliContext, option: string | undefined): string {
  return path.resolve(ctx.cwd, option ?? '.');
}

export async function recordVersion(ctx: CliContext, workspace: string | undefined, result: ProductionizeResult): Promise<string> {
  const { record } = await appendVersion({
    workspaceDir: workspaceDir(ctx, workspace),
    notebookPath: path.resolve(ctx.cwd, result.plan.notebook),
    notebookHash: result.manifest.notebook.hash,
    planHash: result.manifest.planHash,
    outDir: result.outDir,
    packageName: result.manifest.package,
    generatedFiles: Object.keys(result.manifest.files),
    steps: result.plan.steps.map((s) => ({ name: s.name, cells: s.cells, outputs: s.outputs })),
    stringLiterals: result.dataFiles.map((f) => f.relPath),
    code: result.plan.steps.map((s) => s.code),
  });
  return record.id;
}
