/**
 * The target-neutral task model behind `nb2prod export`: one task per pipeline step, each running
 * one step of the generated package alone (`--only STEP`) with the step contract's flags. KFP and
 * Argo differ only in how they spell the values an argument refers to (placeholders), so the
 * arguments are built here once, as parts that each target renders.
 *
 * Everything that comes from a notebook (step names, value names, parameter names, `limit:` tag
 * values) is validated or converted here, before any of it reaches a YAML document.
 */
import { Nb2prodError } from '../errors';
import type { PipelineManifest } from '../generate/manifest';

export type ExportTarget = 'kfp' | 'argo';
export const EXPORT_TARGETS: readonly ExportTarget[] = ['kfp', 'argo'];

/** KFP's parameter types (`ParameterType.ParameterTypeEnum`); Argo passes every value as a string. */
export type ParamType = 'NUMBER_INTEGER' | 'NUMBER_DOUBLE' | 'STRING' | 'BOOLEAN' | 'LIST' | 'STRUCT';

export interface PipelineParam {
  name: string;
  type: ParamType;
  /** The notebook's default as JSON (what the parameters cell assigned). */
  default: unknown;
}

/** A value an argument refers to; each target writes its own placeholder for it. */
export type Ref =
  /** The local path of an input artifact (a directory written by the producer's `--output`). */
  | { kind: 'input'; name: string }
  /** The local path an output artifact is collected from (the step creates it). */
  | { kind: 'output'; name: string }
  | { kind: 'param'; name: string }
  | { kind: 'runId' }
  /** The file the step's metrics are read from (`--metrics-out`). */
  | { kind: 'metrics' };

/** One command-line argument: literal text and references, concatenated (`region=` + param). */
export type Arg = (string | Ref)[];

export interface TaskInput {
  /** The input's key in this task (a value name, or the state key). */
  name: string;
  producer: string;
  /** The producer step's name (the directory its outputs live under on a shared volume). */
  producerStep: string;
  /** The producer's output key. */
  output: string;
}

export interface Resources {
  cpu?: string;
  memory?: string;
  /** `nvidia.com/gpu: 1` style extended resources (counts). */
  accelerators: { type: string; count: string }[];
}

export interface ExportTask {
  /** Valid as a Kubernetes name and as KFP writes task names: `[a-z0-9]` runs joined by `-`. */
  name: string;
  /** The pipeline step it runs (`--only`). */
  step: string;
  args: Arg[];
  /** Artifacts consumed: the step's inputs, then the state it resumes from. */
  inputs: TaskInput[];
  /** Artifacts produced: the step's outputs, then its state. */
  outputs: string[];
  /** Pipeline parameters the step reads. */
  params: string[];
  /** Tasks that must finish first: producers of its inputs and `after:` edges. */
  dependsOn: string[];
  resources: Resources;
}

export interface ExportPipeline {
  /** `^[a-z0-9][a-z0-9-]{0,127}$`, from the pipeline's slug. */
  name: string;
  /** `python -m <pkg>`, `node main.mjs` or `deno run -A main.mjs`: the image's ENTRYPOINT, which launchers ignore. */
  command: string[];
  params: PipelineParam[];
  tasks: ExportTask[];
  /** Keys nb2prod adds next to the notebook's names, chosen so they never collide with them. */
  keys: { runId: string; metrics: string; state: string };
}

export interface TaskModelOptions {
  /** The parameters cell's source (a plan's `paramSource`): tells `1.0` from `1`, which JSON cannot. */
  paramSource?: string;
}

/** Manifest fields this module reads, including those the step contract adds (absent = false/none). */
type ManifestStep = PipelineManifest['steps'][number] & { state?: boolean };

export function taskModel(manifest: PipelineManifest, opts: TaskModelOptions = {}): ExportPipeline {
  // A pipeline.json written before a field existed reads as having none of it.
  const steps = (manifest.steps as ManifestStep[]).map((s) => ({ ...s, inputs: s.inputs ?? [], outputs: s.outputs ?? [], after: s.after ?? [], params: s.params ?? [], metrics: s.metrics ?? [] }));
  if (steps.length === 0) throw new Nb2prodError('the pipeline has no steps: nothing to export');
  const params = Object.entries(manifest.params ?? {}).map(([name, value]) => pipelineParam(name, value, opts.paramSource));
  for (const p of params) checkIdentifier(p.name, 'parameter');

  const taken = new Set<string>([...params.map((p) => p.name), ...steps.flatMap((s) => [...s.outputs, ...s.inputs.map((i) => i.name)])]);
  const keys = { runId: freeKey('run_id', taken), metrics: freeKey('metrics', taken), state: freeKey('state', taken) };

  const names = taskNames(steps.map((s) => s.name));
  const known = new Set(steps.map((s) => s.name));
  let lastState: ManifestStep | undefined;
  const tasks = steps.map((step): ExportTask => {
    for (const name of [...step.outputs, ...step.inputs.map((i) => i.name)]) checkIdentifier(name, `value of step ${step.name}`);
    const inputs: TaskInput[] = step.inputs.map((i) => {
      if (!known.has(i.from)) throw new Nb2prodError(`step ${step.name} takes ${i.name} from ${i.from}, which is not a step of this pipeline`);
      return { name: i.name, producer: names.get(i.from)!, producerStep: i.from, output: i.name };
    });
    const outputs = [...step.outputs];
    // A state-touching step resumes from the nearest earlier one's state (random generators, settings).
    const stateFrom = step.state ? lastState : undefined;
    if (stateFrom) inputs.push({ name: keys.state, producer: names.get(stateFrom.name)!, producerStep: stateFrom.name, output: keys.state });
    if (step.state) {
      outputs.push(keys.state);
      lastState = step;
    }
    for (const a of step.after) if (!known.has(a)) throw new Nb2prodError(`step ${step.name} runs after ${a}, which is not a step of this pipeline`);
    const dependsOn = unique([...inputs.map((i) => i.producer), ...step.after.map((a) => names.get(a)!)]);
    for (const p of step.params) if (!(p in (manifest.params ?? {}))) throw new Nb2prodError(`step ${step.name} reads parameter ${p}, which the pipeline does not define`);
    return {
      name: names.get(step.name)!,
      step: step.name,
      args: stepArgs(step, inputs, outputs, keys, stateFrom !== undefined),
      inputs,
      outputs,
      params: [...step.params],
      dependsOn,
      resources: resourcesOf(step.name, step.resources ?? {}),
    };
  });
  checkAcyclic(tasks);
  return { name: pipelineName(manifest.slug), command: commandOf(manifest), params, tasks, keys };
}

/** The step contract's flags for running one step alone, with its data in and out as paths. */
function stepArgs(step: ManifestStep, inputs: TaskInput[], outputs: string[], keys: ExportPipeline['keys'], resumesState: boolean): Arg[] {
  const args: Arg[] = [['--only'], [step.name], ['--run-id'], [{ kind: 'runId' }]];
  for (const p of step.params) args.push(['--param'], [`${p}=`, { kind: 'param', name: p }]);
  for (const i of inputs) if (i.name !== keys.state) args.push(['--input'], [`${i.name}=`, { kind: 'input', name: i.name }]);
  for (const o of outputs) if (o !== keys.state) args.push(['--output'], [`${o}=`, { kind: 'output', name: o }]);
  if (resumesState) args.push(['--state-in'], [{ kind: 'input', name: keys.state }]);
  if (step.state) args.push(['--state-out'], [{ kind: 'output', name: keys.state }]);
  args.push(['--metrics-out'], [{ kind: 'metrics' }]);
  return args;
}

/** What launchers run: they ignore the image's ENTRYPOINT, so the command repeats it. */
function commandOf(manifest: PipelineManifest): string[] {
  if (manifest.runner === 'node') return ['node', 'main.mjs'];
  if (manifest.runner === 'deno') return ['deno', 'run', '-A', 'main.mjs'];
  return ['python', '-m', manifest.package];
}

/** KFP's rule for pipeline names; a slug always has a letter or digit, else `pipeline`. */
export function pipelineName(slug: string): string {
  const name = kubernetesName(slug).slice(0, 128).replace(/-+$/, '');
  return name || 'pipeline';
}

/** Lowercase, every other run of characters one `-`, no `-` at either end (Kubernetes names). */
export function kubernetesName(text: string): string {
  return text
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '');
}

/** Task names as KFP writes them; distinct step names that meet (`a_b`, `a__b`) get `-2`, `-3`. */
function taskNames(steps: string[]): Map<string, string> {
  const used = new Set<string>();
  const out = new Map<string, string>();
  for (const step of steps) {
    // 63: a Kubernetes label value, which Argo and KFP make of task names.
    const base = (kubernetesName(step) || 'step').slice(0, 55).replace(/-+$/, '');
    let name = base;
    for (let n = 2; used.has(name); n++) name = `${base}-${n}`;
    used.add(name);
    out.set(step, name);
  }
  return out;
}

function freeKey(base: string, taken: Set<string>): string {
  let key = `nb2prod_${base}`;
  while (taken.has(key)) key = `_${key}`;
  return key;
}

/** Names end up inside placeholders (`['name']`, `.name`) and YAML keys: identifiers only. */
function checkIdentifier(name: string, what: string): void {
  if (!/^[A-Za-z_][A-Za-z0-9_]{0,127}$/.test(name)) {
    throw new Nb2prodError(`${what} name ${JSON.stringify(name)} cannot be exported: names must be identifiers ([A-Za-z_][A-Za-z0-9_]*)`);
  }
}

function pipelineParam(name: string, value: unknown, source: string | undefined): PipelineParam {
  return { name, type: paramType(name, value, source), default: value };
}

/**
 * The KFP type of a default. JSON keeps no difference between `1` and `1.0`, so a whole number is
 * NUMBER_DOUBLE only when the parameters cell spells it as a float. A `None` default has no type
 * KFP knows: it becomes a STRING whose default is the JSON text `null`, which the runtime reads back.
 */
export function paramType(name: string, value: unknown, source?: string): ParamType {
  if (typeof value === 'boolean') return 'BOOLEAN';
  if (typeof value === 'number') return Number.isInteger(value) && !spelledAsFloat(name, source) ? 'NUMBER_INTEGER' : 'NUMBER_DOUBLE';
  if (Array.isArray(value)) return 'LIST';
  if (value !== null && typeof value === 'object') return 'STRUCT';
  return 'STRING';
}

function spelledAsFloat(name: string, source: string | undefined): boolean {
  if (!source) return false;
  const escaped = name.replace(/[^A-Za-z0-9_]/g, '');
  const m = new RegExp(`^\\s*${escaped}\\s*(?::[^=]*)?=\\s*([-+]?[0-9_.eE+-]+)\\s*(?:#.*)?$`, 'm').exec(source);
  return m !== null && /[.eE]/.test(m[1]);
}

// Kubernetes quantities (resource.Quantity): a decimal number with an SI or binary suffix.
const QUANTITY = /^(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][-+]?[0-9]+|m|k|M|G|T|P|E|Ki|Mi|Gi|Ti|Pi|Ei)?$/;
// An extended resource: `vendor.domain/name`, counted in whole units.
const EXTENDED = /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?\/[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;

/** `limit:` tags: cpu and memory quantities, and extended resources (GPUs) as whole counts. */
export function resourcesOf(step: string, limits: Record<string, string>): Resources {
  const out: Resources = { accelerators: [] };
  for (const [key, raw] of Object.entries(limits)) {
    const value = String(raw).trim();
    const bad = (why: string) => new Nb2prodError(`step ${step}: limit:${key}:${value} ${why}`);
    if (key === 'cpu' || key === 'memory') {
      if (!QUANTITY.test(value)) throw bad(`is not a Kubernetes quantity (e.g. limit:cpu:500m, limit:memory:2Gi)`);
      out[key] = value;
    } else if (EXTENDED.test(key) && key.length <= 253) {
      if (!/^[1-9][0-9]{0,5}$/.test(value)) throw bad('is not a whole number of devices (e.g. limit:nvidia.com/gpu:1)');
      out.accelerators.push({ type: key, count: value });
    } else {
      throw bad('names no resource a pipeline can limit: use cpu, memory or an extended resource such as nvidia.com/gpu');
    }
  }
  return out;
}

function checkAcyclic(tasks: ExportTask[]): void {
  const byName = new Map(tasks.map((t) => [t.name, t]));
  const state = new Map<string, 'visiting' | 'done'>();
  const visit = (t: ExportTask, path: string[]): void => {
    if (state.get(t.name) === 'done') return;
    if (state.get(t.name) === 'visiting') throw new Nb2prodError(`the steps depend on each other in a cycle: ${[...path, t.step].join(' -> ')}`);
    state.set(t.name, 'visiting');
    for (const d of t.dependsOn) visit(byName.get(d)!, [...path, t.step]);
    state.set(t.name, 'done');
  };
  for (const t of tasks) visit(t, []);
}

function unique<T>(items: T[]): T[] {
  return [...new Set(items)];
}
