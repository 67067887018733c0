/**
 * A strict reader of KFP v2 PipelineSpec files, standing in for the KFP API server: the message
 * tree comes from the upstream pipeline_spec.proto (protobufjs reflection), and a document is
 * walked the way protojson reads it. protobufjs's own verify()/fromObject() do not implement the
 * proto3 JSON mapping (enum names, Struct/Value, 64-bit integers as strings), hence the walk.
 *
 * - unknown fields are errors (the server parses strictly); proto names and JSON names both read;
 * - enums by name (or number), at most one field of each oneof, Struct/Value/ListValue as JSON;
 * - `deploymentSpec` is a Struct in the proto but is re-read as PipelineDeploymentConfig (where
 *   unknown fields are dropped silently, so we check them here rather than lose them there);
 * - then the graph: every reference resolves, placeholders name declared inputs and outputs,
 *   dependencies are acyclic.
 */
import * as path from 'path';
import * as protobuf from 'protobufjs';
import { parseAllDocuments } from 'yaml';

export interface KfpChecker {
  /** Problems of one YAML text (empty when it is a valid PipelineSpec). */
  check(text: string): string[];
}

export function kfpChecker(specsDir: string): KfpChecker {
  const kfpDir = path.join(specsDir, 'kfp');
  const root = new protobuf.Root();
  // google/protobuf/* come with protobufjs; google/rpc/status.proto sits beside the spec.
  root.resolvePath = (_origin, target) => (target.startsWith('google/protobuf/') ? target : path.resolve(kfpDir, target));
  root.loadSync('pipeline_spec.proto', { keepCase: true });
  root.resolveAll();
  const pipelineSpec = root.lookupType('ml_pipelines.PipelineSpec');
  const deploymentConfig = root.lookupType('ml_pipelines.PipelineDeploymentConfig');
  const platformSpec = root.lookupType('ml_pipelines.PlatformSpec');
  return {
    check(text: string): string[] {
      const problems: string[] = [];
      const docs = parseAllDocuments(text);
      if (!Array.isArray(docs) || docs.length === 0) return ['not a YAML document'];
      for (const d of docs) for (const e of d.errors) problems.push(`YAML: ${e.message}`);
      if (problems.length) return problems;
      const [spec, platform, ...rest] = docs.map((d) => d.toJS());
      if (rest.length) problems.push('more than two YAML documents (a PipelineSpec and a PlatformSpec)');
      walkMessage(spec, pipelineSpec, '$', problems);
      if (platform !== undefined) walkMessage(platform, platformSpec, '$platform', problems);
      if (isObject(spec)) {
        if (spec.schemaVersion !== '2.1.0') problems.push(`$.schemaVersion: must be 2.1.0, got ${JSON.stringify(spec.schemaVersion)}`);
        const name = isObject(spec.pipelineInfo) ? spec.pipelineInfo.name : undefined;
        if (typeof name !== 'string' || !/^[a-z0-9][a-z0-9-]{0,127}$/.test(name)) problems.push(`$.pipelineInfo.name: ${JSON.stringify(name)} is not a pipeline name`);
        if (!isObject(spec.root)) problems.push('$.root: required');
        if (spec.deploymentSpec !== undefined) walkMessage(spec.deploymentSpec, deploymentConfig, '$.deploymentSpec', problems);
        if (problems.length === 0) checkGraph(spec, problems);
      }
      return problems;
    },
  };
}

// ---- the proto3 JSON mapping, walked over the reflection tree ----

const WELL_KNOWN: Record<string, (value: unknown) => string | undefined> = {
  '.google.protobuf.Struct': (v) => (isObject(v) ? undefined : 'must be an object (Struct)'),
  '.google.protobuf.Value': (v) => (v === undefined ? 'must be a JSON value' : undefined),
  '.google.protobuf.ListValue': (v) => (Array.isArray(v) ? undefined : 'must be a list (ListValue)'),
  '.google.protobuf.Duration': (v) => (typeof v === 'string' && /^-?[0-9]+(\.[0-9]{1,9})?s$/.test(v) ? undefined : 'must be a duration such as "3.5s"'),
  '.google.protobuf.Timestamp': (v) => (typeof v === 'string' && !Number.isNaN(Date.parse(v)) ? undefined : 'must be an RFC 3339 time'),
  '.google.protobuf.Any': (v) => (isObject(v) && typeof v['@type'] === 'string' ? undefined : 'must be an object with @type (Any)'),
};

function walkMessage(value: unknown, type: protobuf.Type, at: string, problems: string[]): void {
  const special = WELL_KNOWN[type.fullName];
  if (special) {
    const why = special(value);
    if (why) problems.push(`${at}: ${why}`);
    return;
  }
  if (!isObject(value)) {
    problems.push(`${at}: must be an object (${type.name})`);
    return;
  }
  const byName = new Map<string, protobuf.Field>();
  for (const field of type.fieldsArray) {
    byName.set(field.name, field);
    byName.set(jsonName(field), field);
  }
  const seen = new Set<protobuf.Field>();
  for (const [key, v] of Object.entries(value)) {
    const field = byName.get(key);
    if (!field) {
      problems.push(`${at}.${key}: unknown field of ${type.name}`);
      continue;
    }
    if (seen.has(field)) problems.push(`${at}.${key}: field given twice (as ${field.name} and ${jsonName(field)})`);
    seen.add(field);
    // protojson reads null as "not set", except where it is a google.protobuf.Value.
    if (v === null && field.resolvedType?.fullName !== '.google.protobuf.Value') continue;
    walkField(v, field, `${at}.${key}`, problems);
  }
  for (const oneof of type.oneofsArray) {
    const set = oneof.fieldsArray.filter((f) => seen.has(f) && value[f.name] !== null && value[jsonName(f)] !== null);
    if (set.length > 1) problems.push(`${at}: ${set.map((f) => jsonName(f)).join(' and ')} are one of ${oneof.name}: set at most one`);
  }
}

function walkField(value: unknown, field: protobuf.Field, at: string, problems: string[]): void {
  if (field instanceof protobuf.MapField) {
    if (!isObject(value)) return void problems.push(`${at}: must be an object (map)`);
    for (const [k, v] of Object.entries(value)) {
      if (field.keyType !== 'string' && !/^-?[0-9]+$/.test(k)) problems.push(`${at}.${k}: map key must be an integer`);
      walkSingle(v, field, `${at}.${k}`, problems);
    }
    return;
  }
  if (field.repeated) {
    if (!Array.isArray(value)) return void problems.push(`${at}: must be a list`);
    value.forEach((v, i) => walkSingle(v, field, `${at}[${i}]`, problems));
    return;
  }
  walkSingle(value, field, at, problems);
}

function walkSingle(value: unknown, field: protobuf.Field, at: string, problems: string[]): void {
  const resolved = field.resolvedType;
  if (resolved instanceof protobuf.Type) return walkMessage(value, resolved, at, problems);
  if (resolved instanceof protobuf.Enum) {
    const ok = typeof value === 'string' ? value in resolved.values : Number.isInteger(value);
    if (!ok) problems.push(`${at}: ${JSON.stringify(value)} is not a ${resolved.name} (${Object.keys(resolved.values).join(', ')})`);
    return;
  }
  const why = scalarProblem(field.type, value);
  if (why) problems.push(`${at}: ${why}`);
}

function scalarProblem(type: string, value: unknown): string | undefined {
  switch (type) {
    case 'string':
      return typeof value === 'string' ? undefined : 'must be a string';
    case 'bool':
      return typeof value === 'boolean' ? undefined : 'must be true or false';
    case 'double':
    case 'float':
      return typeof value === 'number' || (typeof value === 'string' && /^(-?Infinity|NaN|-?[0-9.eE+-]+)$/.test(value)) ? undefined : 'must be a number';
    case 'bytes':
      return typeof value === 'string' && /^[A-Za-z0-9+/_-]*=*$/.test(value) ? undefined : 'must be base64 text';
    case 'int64':
    case 'uint64':
    case 'sint64':
    case 'fixed64':
    case 'sfixed64':
      // The JSON mapping writes 64-bit integers as strings; readers take numbers too.
      return (typeof value === 'string' && /^-?[0-9]+$/.test(value)) || Number.isSafeInteger(value) ? undefined : 'must be an integer (a string of digits)';
    default:
      return Number.isInteger(value) || (typeof value === 'string' && /^-?[0-9]+$/.test(value)) ? undefined : 'must be an integer';
  }
}

function jsonName(field: protobuf.Field): string {
  const option = field.options?.json_name;
  return typeof option === 'string' ? option : field.name.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());
}

// ---- the graph ----

type Obj = Record<string, unknown>;

const PLACEHOLDER = /\{\{\$\.(inputs|outputs)\.(parameters|artifacts)\['([^']*)'\]/g;

function checkGraph(spec: Obj, problems: string[]): void {
  const components = (spec.components ?? {}) as Record<string, Obj>;
  const executors = ((spec.deploymentSpec as Obj | undefined)?.executors ?? {}) as Record<string, Obj>;
  const usedExecutors = new Set<string>();
  for (const [name, component] of Object.entries(components)) {
    const label = component.executorLabel as string | undefined;
    if (label !== undefined) {
      usedExecutors.add(label);
      if (!executors[label]) problems.push(`components.${name}.executorLabel: no executor ${label}`);
      else checkPlaceholders(executors[label], component, `deploymentSpec.executors.${label}`, problems);
    }
    if (component.dag) checkDag(component.dag as Obj, component, components, `components.${name}.dag`, problems);
  }
  for (const label of Object.keys(executors)) if (!usedExecutors.has(label)) problems.push(`deploymentSpec.executors.${label}: no component uses it`);
  checkDag((spec.root as Obj).dag as Obj, spec.root as Obj, components, 'root.dag', problems);
}

function checkPlaceholders(executor: Obj, component: Obj, at: string, problems: string[]): void {
  const container = executor.container as Obj | undefined;
  if (!container) return;
  const strings = [...((container.command as string[] | undefined) ?? []), ...((container.args as string[] | undefined) ?? [])];
  for (const s of strings) {
    for (const m of s.matchAll(PLACEHOLDER)) {
      const [, side, kind, key] = m;
      const defs = ((component[side === 'inputs' ? 'inputDefinitions' : 'outputDefinitions'] as Obj | undefined)?.[kind] ?? {}) as Obj;
      if (!(key in defs)) problems.push(`${at}: ${m[0]}...}} names no declared ${side.slice(0, -1)} ${kind.slice(0, -1)} '${key}'`);
    }
  }
}

function checkDag(dag: Obj | undefined, owner: Obj, components: Record<string, Obj>, at: string, problems: string[]): void {
  if (!dag) return;
  const tasks = (dag.tasks ?? {}) as Record<string, Obj>;
  const ownerParams = ((owner.inputDefinitions as Obj | undefined)?.parameters ?? {}) as Obj;
  const ownerArtifacts = ((owner.inputDefinitions as Obj | undefined)?.artifacts ?? {}) as Obj;
  const edges = new Map<string, string[]>();
  const outputsOf = (task: string, kind: 'artifacts' | 'parameters'): Obj | undefined => {
    const ref = (tasks[task]?.componentRef as Obj | undefined)?.name as string | undefined;
    return ref && components[ref] ? ((((components[ref].outputDefinitions as Obj | undefined) ?? {})[kind] ?? {}) as Obj) : undefined;
  };
  for (const [name, task] of Object.entries(tasks)) {
    const here = `${at}.tasks.${name}`;
    // KFP lowercases task names and turns other runs of characters into '-'.
    if (!/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(name)) problems.push(`${here}: not a task name as KFP writes them`);
    const ref = (task.componentRef as Obj | undefined)?.name as string | undefined;
    const component = ref ? components[ref] : undefined;
    if (!component) problems.push(`${here}.componentRef: no component ${ref}`);
    const deps = (task.dependentTasks as string[] | undefined) ?? [];
    for (const d of deps) if (!tasks[d]) problems.push(`${here}.dependentTasks: no task ${d}`);
    const producers: string[] = [];
    const inputs = (task.inputs ?? {}) as Obj;
    const declared = (kind: 'parameters' | 'artifacts') => ((component?.inputDefinitions as Obj | undefined)?.[kind] ?? {}) as Record<string, Obj>;
    for (const kind of ['parameters', 'artifacts'] as const) {
      const given = (inputs[kind] ?? {}) as Record<string, Obj>;
      for (const [key, spec] of Object.entries(given)) {
        const where = `${here}.inputs.${kind}.${key}`;
        if (component && !(key in declared(kind))) problems.push(`${where}: the component declares no such input`);
        const fromTask = (spec.taskOutputArtifact ?? spec.taskOutputParameter) as Obj | undefined;
        if (fromTask) {
          const producer = fromTask.producerTask as string;
          const key2 = (fromTask.outputArtifactKey ?? fromTask.outputParameterKey) as string;
          const outputs = outputsOf(producer, spec.taskOutputArtifact ? 'artifacts' : 'parameters');
          if (!tasks[producer]) problems.push(`${where}: no producer task ${producer}`);
          else if (!outputs || !(key2 in outputs)) problems.push(`${where}: task ${producer} has no output ${key2}`);
          producers.push(producer);
          if (!deps.includes(producer)) problems.push(`${where}: reads task ${producer}, which is not in dependentTasks`);
        }
        if (typeof spec.componentInputParameter === 'string' && !(spec.componentInputParameter in ownerParams)) {
          problems.push(`${where}: no pipeline input parameter ${spec.componentInputParameter}`);
        }
        if (typeof spec.componentInputArtifact === 'string' && !(spec.componentInputArtifact in ownerArtifacts)) {
          problems.push(`${where}: no input artifact ${spec.componentInputArtifact}`);
        }
      }
      if (component) {
        for (const [key, def] of Object.entries(declared(kind))) {
          if (!(key in given) && !def.isOptional && def.defaultValue === undefined) problems.push(`${here}.inputs.${kind}.${key}: required by the component, not given`);
        }
      }
    }
    edges.set(name, [...deps, ...producers]);
  }
  for (const kind of ['parameters', 'artifacts'] as const) {
    for (const [key, out] of Object.entries(((dag.outputs as Obj | undefined)?.[kind] ?? {}) as Record<string, Obj>)) {
      const selectors = [out.valueFromParameter, ...(((out.artifactSelectors as Obj[] | undefined) ?? []) as unknown[])].filter(Boolean) as Obj[];
      for (const s of selectors) if (!tasks[s.producerSubtask as string]) problems.push(`${at}.outputs.${kind}.${key}: no task ${s.producerSubtask}`);
    }
  }
  const cycle = findCycle(edges);
  if (cycle) problems.push(`${at}: tasks depend on each other in a cycle: ${cycle.join(' -> ')}`);
}

/** A dependency cycle in `edges` (task -> tasks it waits for), or undefined. */
export function findCycle(edges: Map<string, string[]>): string[] | undefined {
  const state = new Map<string, 1 | 2>();
  const visit = (n: string, trail: string[]): string[] | undefined => {
    if (state.get(n) === 2) return undefined;
    if (state.get(n) === 1) return [...trail, n];
    state.set(n, 1);
    for (const d of edges.get(n) ?? []) {
      const found = visit(d, [...trail, n]);
      if (found) return found;
    }
    state.set(n, 2);
    return undefined;
  };
  for (const n of edges.keys()) {
    const found = visit(n, []);
    if (found) return found;
  }
  return undefined;
}

function isObject(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
