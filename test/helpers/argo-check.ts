/**
 * A strict reader of Argo Workflow files, standing in for `argo lint` and the server: the
 * upstream JSON Schema (2020-12), made as strict as the server is (every object that lists its
 * properties rejects others; IntOrString takes integers too, which the schema forgets; enums its
 * descriptions only state in words are enforced), then the
 * graph: templates, tasks, dependencies, artifact and parameter references all resolve, and the
 * DAG is acyclic.
 */
import { readFileSync } from 'fs';
import * as path from 'path';
import Ajv2020 from 'ajv/dist/2020';
import { parseAllDocuments } from 'yaml';
import { findCycle } from './kfp-check';

export interface ArgoChecker {
  check(text: string): string[];
}

type Obj = Record<string, unknown>;

export function argoChecker(specsDir: string): ArgoChecker {
  const schema = strictSchema(JSON.parse(readFileSync(path.join(specsDir, 'argo', 'schema.json'), 'utf8')));
  const ajv = new Ajv2020({ strict: false, allErrors: true, validateFormats: false });
  const validate = ajv.compile(schema);
  return {
    check(text: string): string[] {
      const docs = parseAllDocuments(text);
      if (!Array.isArray(docs) || docs.length !== 1) return ['expected one YAML document'];
      if (docs[0].errors.length) return docs[0].errors.map((e) => `YAML: ${e.message}`);
      const doc = docs[0].toJS() as Obj;
      if (!validate(doc)) return relevantErrors(validate.errors ?? [], doc);
      const problems: string[] = [];
      if (doc.kind === 'Workflow') checkGraph(doc.spec as Obj, problems);
      return problems;
    },
  };
}

/**
 * Enums the schema states only in prose ("One of Always, Never, IfNotPresent"), which the Argo
 * validator or the Kubernetes API server enforce: [definition, property, values].
 */
const PROSE_ENUMS: [string, string, string[]][] = [
  ['io.k8s.api.core.v1.Container', 'imagePullPolicy', ['Always', 'Never', 'IfNotPresent']],
  ['io.k8s.api.core.v1.ContainerPort', 'protocol', ['TCP', 'UDP', 'SCTP']],
  ['io.argoproj.workflow.v1alpha1.RetryStrategy', 'retryPolicy', ['Always', 'OnFailure', 'OnError', 'OnTransientError']],
  ['io.argoproj.workflow.v1alpha1.PodGC', 'strategy', ['OnPodCompletion', 'OnPodSuccess', 'OnWorkflowCompletion', 'OnWorkflowSuccess']],
];

/** The upstream schema with every object that lists properties closed, IntOrString fixed, prose enums enforced. */
export function strictSchema(schema: Obj): Obj {
  const copy = structuredClone(schema) as Obj;
  const defs = copy.definitions as Record<string, Obj>;
  defs['io.k8s.apimachinery.pkg.util.intstr.IntOrString'] = { type: ['string', 'integer'] };
  for (const [def, prop, values] of PROSE_ENUMS) ((defs[def].properties as Record<string, Obj>)[prop].enum = values);
  const close = (node: unknown): void => {
    if (Array.isArray(node)) return node.forEach(close);
    if (typeof node !== 'object' || node === null) return;
    const o = node as Obj;
    if (o.properties && typeof o.properties === 'object' && o.additionalProperties === undefined) o.additionalProperties = false;
    for (const v of Object.values(o)) close(v);
  };
  close(defs);
  return copy;
}

/**
 * The root is a oneOf over five kinds: its failures for the other kinds are noise. Keep the
 * errors under the branch whose `kind` matches the document.
 */
function relevantErrors(errors: { instancePath: string; schemaPath: string; message?: string; params: unknown }[], doc: Obj): string[] {
  const branch = ['ClusterWorkflowTemplate', 'CronWorkflow', 'Workflow', 'WorkflowEventBinding', 'WorkflowTemplate'].indexOf(String(doc.kind));
  const mine = errors.filter((e) => branch === -1 || e.schemaPath.startsWith(`#/oneOf/${branch}/`) || !e.schemaPath.startsWith('#/oneOf/'));
  return (mine.length ? mine : errors).map((e) => `${e.instancePath || '/'}: ${e.message} ${JSON.stringify(e.params)}`);
}

// ---- the graph ----

const TASK_OUTPUT = /\{\{(tasks|steps)\.([^.}]+)\.outputs\.(artifacts|parameters)\.([^.}]+)\}\}/g;
const INPUT_REF = /\{\{inputs\.(parameters|artifacts)\.([^.}]+)(?:\.path)?\}\}/g;
const WORKFLOW_PARAM = /\{\{workflow\.parameters\.([^.}]+)\}\}/g;

function checkGraph(spec: Obj, problems: string[]): void {
  const templates = new Map(((spec.templates as Obj[] | undefined) ?? []).map((t) => [t.name as string, t]));
  if (!templates.has(spec.entrypoint as string)) problems.push(`spec.entrypoint: no template ${spec.entrypoint}`);
  const workflowParams = new Set((((spec.arguments as Obj | undefined)?.parameters as Obj[] | undefined) ?? []).map((p) => p.name as string));
  const volumes = new Set([
    ...(((spec.volumes as Obj[] | undefined) ?? []).map((v) => v.name as string)),
    ...(((spec.volumeClaimTemplates as Obj[] | undefined) ?? []).map((v) => (v.metadata as Obj).name as string)),
  ]);
  for (const [name, template] of templates) {
    const at = `templates.${name}`;
    const inputs = (template.inputs ?? {}) as Obj;
    const declared = (kind: string) => new Set((((inputs[kind] as Obj[] | undefined) ?? []) as Obj[]).map((x) => x.name as string));
    const text = JSON.stringify({ container: template.container, script: template.script, steps: template.steps, dag: template.dag, outputs: template.outputs });
    for (const m of text.matchAll(INPUT_REF)) if (!declared(m[1]).has(m[2])) problems.push(`${at}: ${m[0]} names no input of the template`);
    for (const m of text.matchAll(WORKFLOW_PARAM)) if (!workflowParams.has(m[1])) problems.push(`${at}: ${m[0]} names no workflow parameter`);
    for (const mount of (((template.container as Obj | undefined)?.volumeMounts as Obj[] | undefined) ?? [])) {
      if (!volumes.has(mount.name as string)) problems.push(`${at}.container.volumeMounts: no volume ${mount.name}`);
    }
    if (template.dag) checkCalls(((template.dag as Obj).tasks as Obj[]) ?? [], 'tasks', templates, `${at}.dag`, problems);
    if (template.steps) checkCalls(((template.steps as Obj[][]) ?? []).flat(), 'steps', templates, `${at}.steps`, problems, template.steps as Obj[][]);
  }
}

/** DAG tasks (or step groups): the templates they call, their inputs, and what they read from whom. */
function checkCalls(calls: Obj[], scope: 'tasks' | 'steps', templates: Map<string, Obj>, at: string, problems: string[], groups?: Obj[][]): void {
  const byName = new Map(calls.map((c) => [c.name as string, c]));
  const edges = new Map<string, string[]>();
  for (const call of calls) {
    const name = call.name as string;
    const here = `${at}.${name}`;
    const deps = [...((call.dependencies as string[] | undefined) ?? []), ...dependsNames(call.depends)];
    for (const d of deps) if (!byName.has(d)) problems.push(`${here}: depends on no task ${d}`);
    edges.set(name, deps);
    const target = templates.get(call.template as string);
    if (!target) {
      problems.push(`${here}: no template ${call.template}`);
      continue;
    }
    const args = (call.arguments ?? {}) as Obj;
    for (const kind of ['parameters', 'artifacts']) {
      const inputs = ((((target.inputs as Obj | undefined)?.[kind] as Obj[] | undefined) ?? []) as Obj[]);
      const given = new Set((((args[kind] as Obj[] | undefined) ?? []) as Obj[]).map((a) => a.name as string));
      for (const g of given) if (!inputs.some((i) => i.name === g)) problems.push(`${here}.arguments.${kind}.${g}: template ${target.name} has no such input`);
      for (const i of inputs) {
        const defaulted = i.value !== undefined || i.default !== undefined || i.from !== undefined || i.raw !== undefined || i.s3 !== undefined || i.optional === true;
        if (!given.has(i.name as string) && !defaulted) problems.push(`${here}: template ${target.name} needs input ${kind}.${i.name}`);
      }
    }
    for (const m of JSON.stringify(args).matchAll(TASK_OUTPUT)) {
      const [ref, kind, producer, outKind, key] = m;
      if (kind !== scope) {
        problems.push(`${here}: ${ref} refers to ${kind} inside ${scope}`);
        continue;
      }
      const p = byName.get(producer);
      if (!p) {
        problems.push(`${here}: ${ref} names no ${scope.slice(0, -1)} ${producer}`);
        continue;
      }
      const outputs = ((((templates.get(p.template as string)?.outputs as Obj | undefined)?.[outKind] as Obj[] | undefined) ?? []) as Obj[]);
      if (!outputs.some((o) => o.name === key)) problems.push(`${here}: ${ref}: template ${p.template} declares no output ${outKind}.${key}`);
      if (scope === 'tasks' && !ancestors(producer, name, edges, byName)) problems.push(`${here}: ${ref} reads a task it does not depend on`);
      if (groups && !earlierGroup(groups, producer, name)) problems.push(`${here}: ${ref} reads a step that does not run before it`);
    }
  }
  const cycle = findCycle(edges);
  if (cycle) problems.push(`${at}: tasks depend on each other in a cycle: ${cycle.join(' -> ')}`);
}

/** Task names in a `depends` expression (`A && (B.Succeeded || !C)`). */
function dependsNames(expression: unknown): string[] {
  if (typeof expression !== 'string') return [];
  return expression
    .split(/&&|\|\||[()!\s]+/)
    .map((t) => t.trim().replace(/\.(Succeeded|Failed|Errored|Skipped|Omitted|Daemoned|AnySucceeded|AllFailed)$/, ''))
    .filter(Boolean);
}

function ancestors(producer: string, task: string, edges: Map<string, string[]>, byName: Map<string, Obj>): boolean {
  const seen = new Set<string>();
  const stack = [...(edges.get(task) ?? [])];
  while (stack.length) {
    const n = stack.pop()!;
    if (n === producer) return true;
    if (seen.has(n) || !byName.has(n)) continue;
    seen.add(n);
    stack.push(...(edges.get(n) ?? []));
  }
  return false;
}

function earlierGroup(groups: Obj[][], producer: string, step: string): boolean {
  const index = (n: string) => groups.findIndex((g) => g.some((s) => s.name === n));
  return index(producer) !== -1 && index(producer) < index(step);
}
