/**
 * A KFP v2 PipelineSpec (the "IR" that `kfp.compiler` writes and the KFP API server and Vertex AI
 * Pipelines read): one component and one container executor per task. Field names are the
 * proto3 JSON names of kubeflow/pipelines `api/v2alpha1/pipeline_spec.proto`.
 *
 * How the launcher treats what we write: it ignores the image's ENTRYPOINT and runs `command`
 * plus `args` with the placeholders replaced; it creates only the parent directory of an output
 * artifact's path (the step creates the directory itself, as the step contract says); the run id
 * reaches a task only as an input parameter whose constant is `{{$.pipeline_job_uuid}}`.
 */
import { Nb2prodError } from '../errors';
import type { ExportPipeline, ExportTask, Ref } from './tasks';

export const KFP_SCHEMA_VERSION = '2.1.0';
/** Every value between steps is a file nb2prod's runtime reads back; KFP needs no finer type. */
const ARTIFACT_TYPE = { schemaTitle: 'system.Artifact', schemaVersion: '0.0.1' };

export interface KfpOptions {
  image: string;
  /** Recorded as `sdkVersion`, which the API server shows and never interprets. */
  generator: string;
  description?: string;
}

export function kfpPipelineSpec(pipeline: ExportPipeline, opts: KfpOptions): Record<string, unknown> {
  const { keys } = pipeline;
  const paramsByName = new Map(pipeline.params.map((p) => [p.name, p]));
  const components: Record<string, unknown> = {};
  const executors: Record<string, unknown> = {};
  const tasks: Record<string, unknown> = {};

  for (const task of pipeline.tasks) {
    const parameters: Record<string, unknown> = { [keys.runId]: { parameterType: 'STRING' } };
    for (const p of task.params) parameters[p] = { parameterType: paramsByName.get(p)!.type };
    components[componentName(task)] = {
      executorLabel: executorName(task),
      inputDefinitions: {
        ...(task.inputs.length ? { artifacts: Object.fromEntries(task.inputs.map((i) => [i.name, { artifactType: ARTIFACT_TYPE }])) } : {}),
        parameters,
      },
      outputDefinitions: {
        ...(task.outputs.length ? { artifacts: Object.fromEntries(task.outputs.map((o) => [o, { artifactType: ARTIFACT_TYPE }])) } : {}),
        parameters: { [keys.metrics]: { parameterType: 'STRUCT' } },
      },
    };
    executors[executorName(task)] = {
      container: {
        image: opts.image,
        command: pipeline.command,
        args: task.args.map((arg) => arg.map((part) => (typeof part === 'string' ? part : placeholder(part, keys.runId, keys.metrics))).join('')),
        ...resources(task),
      },
    };
    tasks[task.name] = {
      taskInfo: { name: task.name },
      componentRef: { name: componentName(task) },
      ...(task.dependsOn.length ? { dependentTasks: task.dependsOn } : {}),
      inputs: {
        ...(task.inputs.length
          ? { artifacts: Object.fromEntries(task.inputs.map((i) => [i.name, { taskOutputArtifact: { producerTask: i.producer, outputArtifactKey: i.output } }])) }
          : {}),
        parameters: {
          [keys.runId]: { runtimeValue: { constant: '{{$.pipeline_job_uuid}}' } },
          ...Object.fromEntries(task.params.map((p) => [p, { componentInputParameter: p }])),
        },
      },
    };
  }

  return {
    pipelineInfo: { name: pipeline.name, ...(opts.description ? { description: opts.description } : {}) },
    sdkVersion: opts.generator,
    schemaVersion: KFP_SCHEMA_VERSION,
    deploymentSpec: { executors },
    components,
    root: {
      dag: { tasks },
      ...(pipeline.params.length
        ? {
            inputDefinitions: {
              parameters: Object.fromEntries(pipeline.params.map((p) => [p.name, { parameterType: p.type, defaultValue: kfpDefault(p.default), isOptional: true }])),
            },
          }
        : {}),
    },
  };
}

/** A `google.protobuf.Value`: null has no KFP parameter type, so it travels as the text `null`. */
function kfpDefault(value: unknown): unknown {
  return value === null || value === undefined ? 'null' : value;
}

function placeholder(ref: Ref, runIdKey: string, metricsKey: string): string {
  switch (ref.kind) {
    case 'input':
      return `{{$.inputs.artifacts['${ref.name}'].path}}`;
    case 'output':
      return `{{$.outputs.artifacts['${ref.name}'].path}}`;
    case 'param':
      return `{{$.inputs.parameters['${ref.name}']}}`;
    case 'runId':
      return `{{$.inputs.parameters['${runIdKey}']}}`;
    case 'metrics':
      return `{{$.outputs.parameters['${metricsKey}'].output_file}}`;
  }
}

/** `PipelineContainerSpec.ResourceSpec`: the string fields (the double ones are deprecated). */
function resources(task: ExportTask): { resources?: Record<string, unknown> } {
  const r = task.resources;
  const spec: Record<string, unknown> = {};
  if (r.cpu) spec.resourceCpuLimit = r.cpu;
  if (r.memory) spec.resourceMemoryLimit = r.memory;
  // The message holds one accelerator type per container: refuse rather than drop one.
  if (r.accelerators.length > 1) {
    throw new Nb2prodError(`step ${task.step} limits ${r.accelerators.map((a) => a.type).join(' and ')}: a KFP task takes one accelerator type (Argo takes several)`);
  }
  if (r.accelerators.length === 1) spec.accelerator = { resourceType: r.accelerators[0].type, resourceCount: r.accelerators[0].count };
  return Object.keys(spec).length ? { resources: spec } : {};
}

function componentName(task: ExportTask): string {
  return `comp-${task.name}`;
}

function executorName(task: ExportTask): string {
  return `exec-${task.name}`;
}
