import type { ProductionizeResult } from '../pipeline';
import type { VersionFacts } from './recording';

/** What a productionize run contributes to a version record, the same from the CLI and the extension. */
export function versionFactsOf(result: ProductionizeResult, workspaceDir: string, notebookPath: string): VersionFacts {
  return {
    workspaceDir,
    notebookPath,
    notebookHash: result.manifest.notebook.hash,
    planHash: result.manifest.planHash,
    outDir: result.outDir,
    packageName: result.manifest.package,
    generatedFiles: Object.keys(result.manifest.files),
    steps: result.plan.steps.map((s) => ({ name: s.name, cells: s.cells, outputs: s.outputs })),
    stringLiterals: result.dataFiles.map((f) => f.relPath),
    code: result.plan.steps.map((s) => s.code),
  };
}
