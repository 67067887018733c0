/**
 * What productionize, build, run and push contribute to their lineage records: one mapping, used by
 * the CLI and the extension alike, so both shells record the same facts.
 */
import type { BuildOutcome } from '../docker/build';
import type { PushOutcome } from '../docker/push';
import type { ExportResult } from '../export/export';
import type { RunOutcome } from '../docker/run';
import type { ProductionizeResult } from '../pipeline';
import { MANIFEST } from '../write/writer';
import type { BuildFacts, ExportFacts, PushFacts, RunFacts, VersionFacts } from './recording';

export function versionFactsOf(result: ProductionizeResult, workspaceDir: string, notebookPath: string): VersionFacts {
  return {
    workspaceDir,
    notebookPath,
    notebookHash: result.manifest.notebook.hash,
    planHash: result.manifest.planHash,
    outDir: result.outDir,
    packageName: result.manifest.package,
    // The manifest and the data copied into the package too: the object store can then give back
    // the whole package of a version, not files that disagree with the pipeline.json beside them.
    generatedFiles: [...Object.keys(result.manifest.files), MANIFEST, ...Object.keys(result.manifest.data ?? {})],
    steps: result.plan.steps.map((s) => ({ name: s.name, cells: s.cells, outputs: s.outputs })),
    stringLiterals: result.dataFiles.map((f) => f.relPath),
    code: result.plan.steps.map((s) => s.code),
  };
}

export function buildFactsOf(outcome: BuildOutcome, workspaceDir: string, notebookPath: string, versionId?: string): BuildFacts {
  return {
    workspaceDir,
    notebookPath,
    ...(versionId ? { versionId } : {}),
    contextHash: outcome.contextHash,
    dockerfileHash: outcome.dockerfileHash,
    baseImage: outcome.baseImage,
    ...(outcome.imageId ? { imageId: outcome.imageId } : {}),
    tags: outcome.tags,
    seconds: outcome.seconds,
    status: outcome.status,
    ...(outcome.error ? { error: [outcome.error.describe(), ...outcome.logTail].join('\n') } : {}),
  };
}

/** `link.image` is the image id of a container run; leave it out for a local run. */
export function runFactsOf(
  outcome: RunOutcome,
  workspaceDir: string,
  notebookPath: string,
  link: { image?: string; versionId?: string; buildId?: string } = {},
): RunFacts {
  return {
    workspaceDir,
    notebookPath,
    ...(outcome.record ? { runDir: outcome.runDir } : {}),
    ...(link.image ? { image: link.image } : {}),
    ...(link.versionId ? { versionId: link.versionId } : {}),
    ...(link.buildId ? { buildId: link.buildId } : {}),
    status: outcome.status === 'succeeded' ? 'succeeded' : outcome.status === 'cancelled' ? 'cancelled' : 'failed',
    ...(outcome.error ? { error: outcome.error.describe() } : {}),
    runId: outcome.runId,
    ...(outcome.activeMarker ? { activeMarker: outcome.activeMarker } : {}),
  };
}

/** Credentials never reach lineage: only where the image went and what the registry stored. */
export function pushFactsOf(outcome: PushOutcome, workspaceDir: string, notebookPath: string): PushFacts {
  return {
    workspaceDir,
    notebookPath,
    registry: outcome.registry,
    reference: outcome.reference,
    digest: outcome.digest,
    imageId: outcome.imageId,
    contextHash: outcome.contextHash,
    seconds: outcome.seconds,
  };
}

/** What an export record keeps: the file, its hash, and which image its tasks run (and why that one). */
export function exportFactsOf(result: ExportResult, workspaceDir: string, notebookPath: string): ExportFacts {
  return {
    workspaceDir,
    notebookPath,
    target: result.target,
    file: result.file,
    sha256: result.sha256,
    bytes: result.bytes,
    image: result.image,
    imageSource: result.imageSource,
  };
}
