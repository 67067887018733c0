/**
 * Runs an exported pipeline file against the real Docker engine the way the KFP v2 launcher or
 * the Argo executor would run its tasks: this checks OUR file and OUR image (commands, arguments,
 * placeholders, paths, outputs), not Kubeflow or Argo themselves.
 *
 * What is reproduced, from reading the upstream launcher and executor:
 * - the image's ENTRYPOINT is ignored: the file's `command` runs, with `args`;
 * - placeholders are replaced by plain string substitution inside any argument; unknown ones stay;
 * - KFP: parameter values are rendered as the launcher renders a google.protobuf.Value (strings
 *   raw, numbers in shortest form, booleans `true`/`false`, lists and structs as JSON); an artifact's
 *   local path is its URI under a mounted bucket (`minio://b/k` at `/minio/b/k`); only the parent
 *   directory of an output path is created; every output parameter file must exist afterwards;
 * - Argo: input artifacts are placed at their `path`, outputs collected from theirs after exit;
 *   `{{workflow.*}}` and `{{inputs.parameters.*}}` are substituted; a claim is one shared directory.
 * Tasks run one at a time in dependency order (ties in file order), each in a fresh container.
 */
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import { parse } from 'yaml';
import type { ContainerEngine, Mount } from '../../src/core/docker/engine';

type Obj = Record<string, any>;

export interface SimulatedTask {
  name: string;
  stdout: string;
  stderr: string;
  /** Output artifact key -> where its content landed on the host. */
  outputs: Map<string, string>;
  /** Output parameter key -> value as the orchestrator reads it. */
  parameters: Map<string, unknown>;
}

export interface Simulation {
  runId: string;
  tasks: SimulatedTask[];
  /** Host directories standing in for claims (Argo volumes), by claim name. */
  claims: Map<string, string>;
}

/** Container users differ from the test's: directories the "launcher" makes are open to them. */
function mkdirOpen(dir: string): void {
  fs.mkdirSync(dir, { recursive: true });
  fs.chmodSync(dir, 0o777);
}

async function runTask(engine: ContainerEngine, image: string, command: string[], args: string[], mounts: Mount[]): Promise<{ stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const { exitCode } = await engine.run({ image, entrypoint: command, args, mounts }, (text, stream) => {
    if (stream === 'stdout') stdout += text;
    else stderr += text;
  });
  if (exitCode !== 0) throw new Error(`task exited ${exitCode}: ${command.join(' ')} ${args.join(' ')}\n${stderr}`);
  return { stdout, stderr };
}

function substitute(text: string, values: Map<string, string>): string {
  let out = text;
  for (const [placeholder, value] of values) out = out.split(placeholder).join(value);
  return out;
}

/** Dependency order, ties broken by position in the file (a Kahn walk). */
function order(names: string[], deps: (name: string) => string[]): string[] {
  const done: string[] = [];
  while (done.length < names.length) {
    const next = names.find((n) => !done.includes(n) && deps(n).every((d) => done.includes(d)));
    if (!next) throw new Error(`no runnable task among ${names.filter((n) => !done.includes(n)).join(', ')}: a cycle`);
    done.push(next);
  }
  return done;
}

// ---- KFP ----

/** How the launcher writes a parameter value into an argument. */
function kfpParameterText(value: unknown): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'number') return String(value);
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  return JSON.stringify(value);
}

export async function simulateKfp(file: string, engine: ContainerEngine, work: string): Promise<Simulation> {
  const spec = parse(fs.readFileSync(file, 'utf8')) as Obj;
  const runId = crypto.randomUUID();
  const bucket = path.join(work, 'minio');
  const tasks = spec.root.dag.tasks as Record<string, Obj>;
  const defaults = Object.fromEntries(Object.entries((spec.root.inputDefinitions?.parameters ?? {}) as Record<string, Obj>).map(([k, v]) => [k, v.defaultValue]));
  const producers = (t: Obj): string[] => [
    ...((t.dependentTasks as string[] | undefined) ?? []),
    ...Object.values((t.inputs?.artifacts ?? {}) as Record<string, Obj>).map((a) => a.taskOutputArtifact.producerTask as string),
  ];
  const results = new Map<string, SimulatedTask>();
  const artifactUri = new Map<string, string>();

  for (const name of order(Object.keys(tasks), (n) => producers(tasks[n]))) {
    const task = tasks[name];
    const component = spec.components[task.componentRef.name];
    const container = spec.deploymentSpec.executors[component.executorLabel].container;
    const values = new Map<string, string>();
    for (const [key, input] of Object.entries((task.inputs?.parameters ?? {}) as Record<string, Obj>)) {
      let value: unknown;
      if (input.componentInputParameter !== undefined) value = defaults[input.componentInputParameter];
      else if (input.runtimeValue) value = input.runtimeValue.constant === '{{$.pipeline_job_uuid}}' ? runId : input.runtimeValue.constant;
      else if (input.taskOutputParameter) value = results.get(input.taskOutputParameter.producerTask)!.parameters.get(input.taskOutputParameter.outputParameterKey);
      values.set(`{{$.inputs.parameters['${key}']}}`, kfpParameterText(value));
    }
    for (const [key, input] of Object.entries((task.inputs?.artifacts ?? {}) as Record<string, Obj>)) {
      const uri = artifactUri.get(`${input.taskOutputArtifact.producerTask}/${input.taskOutputArtifact.outputArtifactKey}`)!;
      values.set(`{{$.inputs.artifacts['${key}'].path}}`, uri.replace(/^minio:\/\//, '/minio/'));
    }
    const outputs = new Map<string, string>();
    for (const key of Object.keys(component.outputDefinitions?.artifacts ?? {})) {
      const uri = `minio://mlpipeline/v2/artifacts/${spec.pipelineInfo.name}/${runId}/${name}/${key}`;
      artifactUri.set(`${name}/${key}`, uri);
      const hostPath = path.join(bucket, uri.slice('minio://'.length));
      // The launcher creates only the parent; the step makes the path itself.
      mkdirOpen(path.dirname(hostPath));
      outputs.set(key, hostPath);
      values.set(`{{$.outputs.artifacts['${key}'].path}}`, `/minio/${uri.slice('minio://'.length)}`);
    }
    const parameterDir = path.join(work, 'kfp-outputs', name);
    mkdirOpen(parameterDir);
    const outputParameters = Object.entries((component.outputDefinitions?.parameters ?? {}) as Record<string, Obj>);
    for (const [key] of outputParameters) values.set(`{{$.outputs.parameters['${key}'].output_file}}`, `/tmp/kfp/outputs/${key}`);

    const command = (container.command as string[]).map((c) => substitute(c, values));
    const args = ((container.args as string[] | undefined) ?? []).map((a) => substitute(a, values));
    for (const a of [...command, ...args]) if (a.includes('{{$')) throw new Error(`task ${name}: unresolved placeholder in ${a}`);
    fs.mkdirSync(bucket, { recursive: true });
    const run = await runTask(engine, container.image, command, args, [
      { source: bucket, target: '/minio' },
      { source: parameterDir, target: '/tmp/kfp/outputs' },
    ]);

    const parameters = new Map<string, unknown>();
    for (const [key, def] of outputParameters) {
      const f = path.join(parameterDir, key);
      if (!fs.existsSync(f)) throw new Error(`task ${name}: output parameter ${key} was not written (the launcher fails the task)`);
      const text = fs.readFileSync(f, 'utf8');
      parameters.set(key, def.parameterType === 'STRING' ? text : JSON.parse(text));
    }
    for (const [key, hostPath] of outputs) if (!fs.existsSync(hostPath)) throw new Error(`task ${name}: output artifact ${key} was not written`);
    results.set(name, { name, ...run, outputs, parameters });
  }
  return { runId, tasks: [...results.values()], claims: new Map() };
}

// ---- Argo ----

export async function simulateArgo(file: string, engine: ContainerEngine, work: string): Promise<Simulation> {
  const workflow = parse(fs.readFileSync(file, 'utf8')) as Obj;
  const spec = workflow.spec as Obj;
  const runId = crypto.randomUUID();
  const globals = new Map<string, string>([['{{workflow.uid}}', runId]]);
  for (const p of (spec.arguments?.parameters ?? []) as Obj[]) globals.set(`{{workflow.parameters.${p.name}}}`, String(p.value));
  const claims = new Map<string, string>();
  const volumes = new Map<string, string>();
  for (const v of (spec.volumes ?? []) as Obj[]) {
    const dir = path.join(work, 'claims', v.persistentVolumeClaim.claimName);
    mkdirOpen(dir);
    claims.set(v.persistentVolumeClaim.claimName, dir);
    volumes.set(v.name, dir);
  }
  const templates = new Map(((spec.templates ?? []) as Obj[]).map((t) => [t.name as string, t]));
  const dag = (templates.get(spec.entrypoint)!.dag.tasks ?? []) as Obj[];
  const byName = new Map(dag.map((t) => [t.name as string, t]));
  const results = new Map<string, SimulatedTask>();

  for (const name of order([...byName.keys()], (n) => (byName.get(n)!.dependencies as string[] | undefined) ?? [])) {
    const task = byName.get(name)!;
    const template = templates.get(task.template)!;
    const container = template.container as Obj;
    const scratch = path.join(work, 'argo', name);
    const values = new Map(globals);
    for (const p of (task.arguments?.parameters ?? []) as Obj[]) values.set(`{{inputs.parameters.${p.name}}}`, substitute(String(p.value), globals));
    const mounts: Mount[] = [];
    // Output paths (artifacts, parameter files) are read after exit: their common directory is kept.
    const outputPaths = [...((template.outputs?.artifacts ?? []) as Obj[]).map((a) => a.path as string), ...((template.outputs?.parameters ?? []) as Obj[]).map((p) => p.valueFrom.path as string)];
    const kept = outputPaths.length ? commonDirectory(outputPaths) : undefined;
    if (kept) {
      mkdirOpen(scratch);
      mounts.push({ source: scratch, target: kept });
    }
    for (const a of (task.arguments?.artifacts ?? []) as Obj[]) {
      const m = /^\{\{tasks\.([^.]+)\.outputs\.artifacts\.([^}]+)\}\}$/.exec(a.from)!;
      const source = results.get(m[1])!.outputs.get(m[2])!;
      const input = ((template.inputs?.artifacts ?? []) as Obj[]).find((i) => i.name === a.name)!;
      // The executor puts a copy of the artifact at the input's path.
      const copy = path.join(work, 'argo-inputs', name, a.name);
      fs.cpSync(source, copy, { recursive: true });
      mounts.push({ source: copy, target: input.path, readOnly: true });
      values.set(`{{inputs.artifacts.${a.name}.path}}`, input.path);
    }
    for (const m of (container.volumeMounts ?? []) as Obj[]) mounts.push({ source: volumes.get(m.name)!, target: m.mountPath });

    const command = (container.command as string[]).map((c) => substitute(c, values));
    const args = ((container.args as string[] | undefined) ?? []).map((a) => substitute(a, values));
    for (const a of [...command, ...args]) if (/\{\{(inputs|workflow|tasks)\./.test(a)) throw new Error(`task ${name}: unresolved variable in ${a}`);
    const run = await runTask(engine, container.image, command, args, mounts);

    const onHost = (p: string) => path.join(scratch, path.relative(kept!, p));
    const outputs = new Map<string, string>();
    for (const a of (template.outputs?.artifacts ?? []) as Obj[]) {
      if (!fs.existsSync(onHost(a.path))) throw new Error(`task ${name}: output artifact ${a.name} not found at ${a.path}`);
      outputs.set(a.name, onHost(a.path));
    }
    const parameters = new Map<string, unknown>();
    for (const p of (template.outputs?.parameters ?? []) as Obj[]) {
      if (!fs.existsSync(onHost(p.valueFrom.path))) throw new Error(`task ${name}: output parameter ${p.name} not found at ${p.valueFrom.path}`);
      parameters.set(p.name, fs.readFileSync(onHost(p.valueFrom.path), 'utf8'));
    }
    results.set(name, { name, ...run, outputs, parameters });
  }
  return { runId, tasks: [...results.values()], claims };
}

function commonDirectory(paths: string[]): string {
  const split = paths.map((p) => path.posix.dirname(p).split('/'));
  const common: string[] = [];
  for (let i = 0; split.every((s) => i < s.length && s[i] === split[0][i]); i++) common.push(split[0][i]);
  return common.join('/') || '/';
}
