/** pipeline.json: what was generated from which notebook, with the hash of every file. */
import { sha256 } from '../hash';
import type { Plan, ServePlan } from '../plan/model';
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
  /** The serve cell's function (issue 14): what serving binds and how it is called. */
  serve?: ServeManifest;
}

export interface ServeManifest {
  function: string;
  /** The module that defines it and bind(): `<pkg>.serving`. */
  module: string;
  cell: { index: number; id: string };
  form: ServePlan['form'];
  fields: ServePlan['fields'];
  fieldsFrom: ServePlan['fieldsFrom'];
  needs: ServePlan['needs'];
  /** Pipeline parameters it reads (serving.py starts from their defaults; bind() may set a run's values). */
  params: string[];
  calls: ServePlan['calls'];
}

export function serveManifest(serve: ServePlan, packageName: string): ServeManifest {
  return {
    function: serve.function,
    module: `${packageName}.serving`,
    cell: serve.cell,
    form: serve.form,
    fields: serve.fields,
    fieldsFrom: serve.fieldsFrom,
    needs: serve.needs,
    params: serve.params,
    calls: serve.calls,
  };
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
    ...(plan.serve ? { serve: serveManifest(plan.serve, opts.packageName) } : {}),
  };
}
