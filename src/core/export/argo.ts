/**
 * An Argo `Workflow` (argoproj.io/v1alpha1): a DAG template whose tasks each call one container
 * template per step. Values between steps travel as artifacts stored unarchived
 * (`archive: {none: {}}`: the runtime reads the directory it wrote, not a tarball of it), or, with a
 * shared volume, as paths on one PersistentVolumeClaim mounted in every task.
 *
 * The Argo executor places an input artifact at the template's `path` and collects an output from
 * its `path` after the container exits; the step creates its output directories itself.
 */
import { Nb2prodError } from '../errors';
import { PIPELINE_UID } from '../generate/dockerfile';
import type { ExportPipeline, ExportTask, Ref } from './tasks';

export interface ArgoOptions {
  image: string;
  /** A PersistentVolumeClaim every task mounts: values pass as paths on it instead of artifacts. */
  volume?: string;
}

/** Where the claim is mounted, and the scratch place artifacts and metrics use in the container. */
export const VOLUME_MOUNT = '/mnt/nb2prod';
const SCRATCH = '/tmp/nb2prod';
const VOLUME_NAME = 'nb2prod-data';
// The DAG's own template; step templates are `step-<task>`, so the two never meet.
const ENTRYPOINT = 'pipeline';

export function argoWorkflow(pipeline: ExportPipeline, opts: ArgoOptions): Record<string, unknown> {
  const claim = opts.volume === undefined ? undefined : validateClaim(opts.volume);
  const metricsFile = `${SCRATCH}/metrics.json`;
  const paths = claim ? volumePaths() : artifactPaths();

  const templates = pipeline.tasks.map((task) => {
    const render = (ref: Ref): string => {
      switch (ref.kind) {
        case 'input':
          return paths.input(task, ref.name);
        case 'output':
          return paths.output(task, ref.name);
        case 'param':
          return `{{inputs.parameters.${ref.name}}}`;
        case 'runId':
          return '{{workflow.uid}}';
        case 'metrics':
          return metricsFile;
      }
    };
    const args = task.args.map((arg) => arg.map((part) => (typeof part === 'string' ? part : render(part))).join(''));
    // On the volume the run directory is shared too: each step's record lands beside the others and
    // the runtime merges them into one run.json there.
    if (claim) args.push('--artifacts', VOLUME_MOUNT);
    const limits = limitsOf(task);
    return {
      name: templateName(task),
      inputs: {
        ...(task.params.length ? { parameters: task.params.map((name) => ({ name })) } : {}),
        ...(!claim && task.inputs.length ? { artifacts: task.inputs.map((i) => ({ name: i.name, path: paths.input(task, i.name) })) } : {}),
      },
      outputs: {
        ...(!claim && task.outputs.length ? { artifacts: task.outputs.map((o) => ({ name: o, path: paths.output(task, o), archive: { none: {} } })) } : {}),
        parameters: [{ name: pipeline.keys.metrics, valueFrom: { path: metricsFile } }],
      },
      container: {
        image: opts.image,
        command: pipeline.command,
        args,
        ...(Object.keys(limits).length ? { resources: { limits } } : {}),
        ...(claim ? { volumeMounts: [{ name: VOLUME_NAME, mountPath: VOLUME_MOUNT }] } : {}),
      },
    };
  });

  const dagTasks = pipeline.tasks.map((task) => ({
    name: task.name,
    template: templateName(task),
    ...(task.dependsOn.length ? { dependencies: task.dependsOn } : {}),
    ...(task.params.length || (!claim && task.inputs.length)
      ? {
          arguments: {
            ...(task.params.length ? { parameters: task.params.map((p) => ({ name: p, value: `{{workflow.parameters.${p}}}` })) } : {}),
            ...(!claim && task.inputs.length
              ? { artifacts: task.inputs.map((i) => ({ name: i.name, from: `{{tasks.${i.producer}.outputs.artifacts.${i.output}}}` })) }
              : {}),
          },
        }
      : {}),
  }));

  return {
    apiVersion: 'argoproj.io/v1alpha1',
    kind: 'Workflow',
    metadata: { generateName: `${pipeline.name.slice(0, 62)}-` },
    spec: {
      entrypoint: ENTRYPOINT,
      ...(pipeline.params.length ? { arguments: { parameters: pipeline.params.map((p) => ({ name: p.name, value: argoValue(p.default) })) } } : {}),
      ...(claim
        ? {
            // Claims are usually root-owned; the group lets the image's unprivileged user write.
            securityContext: { fsGroup: PIPELINE_UID },
            volumes: [{ name: VOLUME_NAME, persistentVolumeClaim: { claimName: claim } }],
          }
        : {}),
      templates: [{ name: ENTRYPOINT, dag: { tasks: dagTasks } }, ...templates],
    },
  };
}

interface Paths {
  input(task: ExportTask, name: string): string;
  output(task: ExportTask, name: string): string;
}

function artifactPaths(): Paths {
  return {
    input: (_task, name) => `${SCRATCH}/inputs/${name}`,
    output: (_task, name) => `${SCRATCH}/outputs/${name}`,
  };
}

/** `<mount>/<run id>/<step>/outputs/<name>`: the producer's place, read in place by consumers. */
function volumePaths(): Paths {
  const place = (step: string, name: string) => `${VOLUME_MOUNT}/{{workflow.uid}}/${step}/outputs/${name}`;
  return {
    input: (task, name) => {
      const i = task.inputs.find((x) => x.name === name)!;
      return place(i.producerStep, i.output);
    },
    output: (task, name) => place(task.step, name),
  };
}

/** Workflow parameters are strings: a string default as it is, anything else as JSON (what `--param` reads). */
function argoValue(value: unknown): string {
  return typeof value === 'string' ? value : JSON.stringify(value ?? null);
}

function limitsOf(task: ExportTask): Record<string, string> {
  const r = task.resources;
  return {
    ...(r.cpu ? { cpu: r.cpu } : {}),
    ...(r.memory ? { memory: r.memory } : {}),
    ...Object.fromEntries(r.accelerators.map((a) => [a.type, a.count])),
  };
}

function templateName(task: ExportTask): string {
  return `step-${task.name}`;
}

/** A claim name is a DNS-1123 subdomain. */
export function validateClaim(name: string): string {
  if (name.length > 253 || !/^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/.test(name)) {
    throw new Nb2prodError(`--volume ${JSON.stringify(name)} is not a PersistentVolumeClaim name (lowercase letters, digits, '-' and '.')`);
  }
  return name;
}
