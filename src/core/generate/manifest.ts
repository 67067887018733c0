/** pipeline.json: what was generated from which notebook, with the hash of every file. */
import { sha256 } from '../hash';
import type { Plan } from '../plan/model';
import { touchesState } from '../plan/state';
import type { GeneratedFile } from './files';

export const MANIFEST_SCHEMA_VERSION = 1;

export interface PipelineManifest {
  schemaVersion: number;
  generator: string;
  slug: string;
  package: string;
  language: string;
  runner: 'python' | 'node' | 'deno';
  /** `path` as given (workspace-relative when possible); `fromPipeline` relative to this directory. */
  notebook: { path: string; hash: string; fromPipeline?: string };
  planHash: string;
  baseImage: string;
  params: Record<string, unknown>;
  steps: {
    name: string;
    file: string;
    cells: { index: number; id: string }[];
    inputs: { name: string; from: string }[];
    outputs: string[];
    after: string[];
    params: string[];
    metrics: string[];
    resources: Record<string, string>;
    /** The step's `image:` tag (Kale): the image a launcher runs this step in instead of the pipeline's. */
    image?: string;
    /**
     * The step may read or change process state that flows in notebook order (random generators,
     * settings; see plan/state.ts): a launcher runs such steps in notebook order, passing each the
     * state the previous one saved (--state-out, --state-in).
     */
    state?: true;
  }[];
  edges: [string, string][];
  /** Generated file -> sha256 (everything but pipeline.json itself). */
  files: Record<string, string>;
  /** Data files and local modules copied from beside the notebook -> sha256. */
  data: Record<string, string>;
}

export function buildManifest(
  plan: Plan,
  opts: { slug: string; packageName: string; notebookPath: string; notebookFromPipeline?: string; planHash: string; baseImage: string; files: GeneratedFile[]; copies: Record<string, string>; runner?: 'python' | 'node' | 'deno'; stepFile?: (step: string) => string },
): PipelineManifest {
  const stepFile = opts.stepFile ?? ((s: string) => `${opts.packageName}/steps/${s}.py`);
  return {
    schemaVersion: MANIFEST_SCHEMA_VERSION,
    generator: 'nb2prod',
    slug: opts.slug,
    package: opts.packageName,
    language: plan.language,
    runner: opts.runner ?? 'python',
    notebook: { path: opts.notebookPath, hash: plan.notebookHash, ...(opts.notebookFromPipeline ? { fromPipeline: opts.notebookFromPipeline } : {}) },
    planHash: opts.planHash,
    baseImage: opts.baseImage,
    params: plan.params,
    steps: plan.steps.map((s) => ({
      name: s.name,
      file: stepFile(s.name),
      cells: s.cells,
      inputs: s.inputs,
      outputs: s.outputs,
      after: s.after,
      params: s.params,
      metrics: s.metrics,
      resources: s.resources,
      ...(s.image ? { image: s.image } : {}),
      ...(touchesState(s, plan) ? { state: true as const } : {}),
    })),
    edges: plan.steps.flatMap((s) => s.after.map((a) => [a, s.name] as [string, string])),
    files: Object.fromEntries(opts.files.map((f) => [f.path, sha256(f.content)])),
    data: opts.copies,
  };
}
