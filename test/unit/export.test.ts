/**
 * `nb2prod export kfp|argo`: what the files say (one task per step, typed parameters, artifacts,
 * dependencies, resources, the run id), that they pass the strict checkers, and how the command
 * behaves (default paths, image choice, usage errors, lineage).
 */
import assert from 'assert/strict';
import { createHash } from 'crypto';
import { copyFileSync, cpSync, existsSync, readFileSync } from 'fs';
import * as path from 'path';
import { describe, it, before } from 'node:test';
import { parse } from 'yaml';
import { argoWorkflow } from '../../src/core/export/argo';
import { kfpPipelineSpec } from '../../src/core/export/kfp';
import { resourcesOf, taskModel } from '../../src/core/export/tasks';
import type { PipelineManifest } from '../../src/core/generate/manifest';
import { argoChecker, ArgoChecker } from '../helpers/argo-check';
import { nb2prod } from '../helpers/cli';
import { kfpChecker, KfpChecker } from '../helpers/kfp-check';
import { FIXTURES, REPO_ROOT, tempDir, writeNotebook } from '../helpers/notebooks';
import { requireSpecs, SPECS_DIR } from '../helpers/specs';

type Obj = Record<string, any>;

/** A workspace holding a copy of a fixture notebook; returns the workspace. */
function workspaceWith(notebook: string): string {
  const ws = tempDir('nb2prod-export-');
  copyFileSync(notebook, path.join(ws, path.basename(notebook)));
  return ws;
}

function exported(ws: string, args: string[]): { file: string; text: string; doc: Obj; stderr: string } {
  const r = nb2prod(['export', ...args], ws);
  assert.equal(r.status, 0, r.stderr);
  const file = r.stdout.trim();
  const text = readFileSync(file, 'utf8');
  return { file, text, doc: parse(text), stderr: r.stderr };
}

const DIAMOND = path.join(FIXTURES, 'notebooks', 'export_diamond.ipynb');

describe('nb2prod export of the diamond fixture (after:, limit:, parameters of six types)', () => {
  let ws: string;
  let kfp: ReturnType<typeof exported>;
  let argo: ReturnType<typeof exported>;
  let volume: ReturnType<typeof exported>;
  let kfpCheck: KfpChecker | undefined;
  let argoCheck: ArgoChecker | undefined;

  before(() => {
    ws = workspaceWith(DIAMOND);
    kfp = exported(ws, ['kfp', 'export_diamond.ipynb']);
    argo = exported(ws, ['argo', 'pipelines/export_diamond', '--image', 'registry.example:5000/team/diamond:v1']);
    volume = exported(ws, ['argo', 'pipelines/export_diamond', '--image', 'registry.example:5000/team/diamond:v1', '--volume', 'diamond-data', '--out', 'diamond-volume.yaml']);
    if (SPECS_DIR) {
      kfpCheck = kfpChecker(SPECS_DIR);
      argoCheck = argoChecker(SPECS_DIR);
    }
  });

  it('writes <pipeline dir>/<slug>.<target>.yaml by default and prints its path', () => {
    assert.equal(kfp.file, path.join(ws, 'pipelines', 'export_diamond', 'export_diamond.kfp.yaml'));
    assert.equal(argo.file, path.join(ws, 'pipelines', 'export_diamond', 'export_diamond.argo.yaml'));
    assert.equal(volume.file, path.join(ws, 'diamond-volume.yaml'));
  });

  it('passes the strict KFP and Argo checkers', (t) => {
    if (!requireSpecs(t)) return;
    assert.deepEqual(kfpCheck!.check(kfp.text), []);
    assert.deepEqual(argoCheck!.check(argo.text), []);
    assert.deepEqual(argoCheck!.check(volume.text), []);
  });

  it('KFP: one task, component and executor per step, with after: and data edges as dependentTasks', () => {
    const tasks = kfp.doc.root.dag.tasks;
    assert.deepEqual(Object.keys(tasks), ['load', 'left', 'right', 'join', 'audit']);
    assert.deepEqual(Object.keys(kfp.doc.components).length, 5);
    assert.deepEqual(Object.keys(kfp.doc.deploymentSpec.executors).length, 5);
    assert.deepEqual(tasks.join.dependentTasks, ['left', 'right']);
    assert.deepEqual(tasks.audit.dependentTasks, ['right'], 'the after:right edge');
    assert.deepEqual(tasks.join.inputs.artifacts.left, { taskOutputArtifact: { producerTask: 'left', outputArtifactKey: 'left' } });
    assert.equal(tasks.load.dependentTasks, undefined);
  });

  it('KFP: parameters typed from their defaults, with the defaults; the run id from the job uuid', () => {
    const params = kfp.doc.root.inputDefinitions.parameters;
    assert.deepEqual(
      Object.fromEntries(Object.entries(params).map(([k, v]: [string, any]) => [k, v.parameterType])),
      { n_rows: 'NUMBER_INTEGER', scale: 'NUMBER_DOUBLE', label: 'STRING', use_offset: 'BOOLEAN', weights: 'LIST', options: 'STRUCT' },
    );
    assert.equal(params.label.defaultValue, "diamond: a 'quoted' {{value}} #1", 'a notebook string reaches the file as data, escaped by YAML');
    assert.deepEqual(params.options.defaultValue, { mode: 'fast', depth: 2 });
    assert.deepEqual(params.weights.defaultValue, [1, 2, 3]);
    const runId = kfp.doc.root.dag.tasks.load.inputs.parameters.nb2prod_run_id;
    assert.deepEqual(runId, { runtimeValue: { constant: '{{$.pipeline_job_uuid}}' } });
  });

  it('KFP: the command runs the package; args are the step contract with placeholders', () => {
    const container = kfp.doc.deploymentSpec.executors['exec-join'].container;
    assert.deepEqual(container.command, ['python', '-m', 'export_diamond']);
    assert.deepEqual(container.args, [
      '--only', 'join',
      '--run-id', "{{$.inputs.parameters['nb2prod_run_id']}}",
      '--param', "weights={{$.inputs.parameters['weights']}}",
      '--param', "options={{$.inputs.parameters['options']}}",
      '--input', "left={{$.inputs.artifacts['left'].path}}",
      '--input', "right={{$.inputs.artifacts['right'].path}}",
      '--output', "total={{$.outputs.artifacts['total'].path}}",
      '--metrics-out', "{{$.outputs.parameters['nb2prod_metrics'].output_file}}",
    ]);
    assert.deepEqual(kfp.doc.components['comp-join'].outputDefinitions.parameters, { nb2prod_metrics: { parameterType: 'STRUCT' } });
  });

  it('KFP: limit: tags become the container resources', () => {
    assert.deepEqual(kfp.doc.deploymentSpec.executors['exec-left'].container.resources, { resourceCpuLimit: '500m', resourceMemoryLimit: '256Mi' });
    assert.equal(kfp.doc.deploymentSpec.executors['exec-right'].container.resources, undefined);
  });

  it('without --image: the local build tag, and a warning that a cluster cannot pull it', () => {
    const image = kfp.doc.deploymentSpec.executors['exec-load'].container.image;
    assert.match(image, /^nb2prod\/export_diamond:[0-9a-f]{12}$/);
    assert.match(kfp.stderr, /warning: nb2prod\/export_diamond:[0-9a-f]{12} is the local tag .* a cluster cannot pull it/);
    assert.doesNotMatch(argo.stderr, /local tag/);
    assert.match(argo.stderr, /warning: parameter label's default contains '\{\{': Argo may read it as a template expression/);
  });

  it('Argo: a DAG of the same tasks, parameters as workflow arguments, artifacts unarchived', () => {
    const spec = argo.doc.spec;
    const dag = spec.templates.find((t: Obj) => t.name === spec.entrypoint).dag.tasks;
    assert.deepEqual(dag.map((t: Obj) => t.name), ['load', 'left', 'right', 'join', 'audit']);
    assert.deepEqual(dag.find((t: Obj) => t.name === 'audit').dependencies, ['right']);
    assert.deepEqual(spec.arguments.parameters.find((p: Obj) => p.name === 'options'), { name: 'options', value: '{"mode":"fast","depth":2}' });
    assert.deepEqual(spec.arguments.parameters.find((p: Obj) => p.name === 'label'), { name: 'label', value: "diamond: a 'quoted' {{value}} #1" });
    const left = spec.templates.find((t: Obj) => t.name === 'step-left');
    assert.deepEqual(left.outputs.artifacts, [{ name: 'left', path: '/tmp/nb2prod/outputs/left', archive: { none: {} } }]);
    assert.deepEqual(left.container.resources, { limits: { cpu: '500m', memory: '256Mi' } });
    assert.equal(left.container.image, 'registry.example:5000/team/diamond:v1');
    assert.ok(left.container.args.includes('{{workflow.uid}}'));
  });

  it('Argo --volume: one claim mounted in every task, paths on it, no artifacts', () => {
    const spec = volume.doc.spec;
    assert.deepEqual(spec.volumes, [{ name: 'nb2prod-data', persistentVolumeClaim: { claimName: 'diamond-data' } }]);
    const steps = spec.templates.filter((t: Obj) => t.container);
    assert.equal(steps.length, 5);
    for (const t of steps) {
      assert.deepEqual(t.container.volumeMounts, [{ name: 'nb2prod-data', mountPath: '/mnt/nb2prod' }]);
      assert.equal(t.inputs.artifacts, undefined);
      assert.equal(t.outputs.artifacts, undefined);
    }
    const join = steps.find((t: Obj) => t.name === 'step-join');
    assert.ok(join.container.args.includes('left=/mnt/nb2prod/{{workflow.uid}}/left/outputs/left'));
    assert.ok(join.container.args.includes('total=/mnt/nb2prod/{{workflow.uid}}/join/outputs/total'));
    assert.doesNotMatch(volume.text, /archive/);
  });

  it('records each export in lineage under the version it came from; verify passes', () => {
    const tree = nb2prod(['lineage', '--json'], ws);
    assert.equal(tree.status, 0, tree.stderr);
    const version = JSON.parse(tree.stdout).notebooks[0].versions.at(-1);
    assert.deepEqual(
      version.exports.map((e: Obj) => [e.target, e.file, e.imageSource]),
      [
        ['kfp', 'pipelines/export_diamond/export_diamond.kfp.yaml', 'local'],
        ['argo', 'pipelines/export_diamond/export_diamond.argo.yaml', 'option'],
        ['argo', 'diamond-volume.yaml', 'option'],
      ],
    );
    const sha = (f: string) => createHash('sha256').update(readFileSync(f)).digest('hex');
    assert.equal(version.exports[0].sha256, sha(kfp.file));
    assert.equal(version.exports[2].image, 'registry.example:5000/team/diamond:v1');
    const text = nb2prod(['lineage'], ws);
    assert.match(text.stdout, /export [0-9a-f]{12}  kfp  .*pipelines\/export_diamond\/export_diamond\.kfp\.yaml/);
    const store = readFileSync(path.join(ws, '.nb2prod', 'lineage.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    for (const e of store.filter((r) => r.type === 'export')) assert.deepEqual(e.parents, [version.id]);
    const verify = nb2prod(['lineage', 'verify'], ws);
    assert.equal(verify.status, 0, verify.stdout + verify.stderr);
  });

  it('keeps exports out of the image build context (they name the image)', () => {
    const ignore = readFileSync(path.join(ws, 'pipelines', 'export_diamond', '.dockerignore'), 'utf8');
    assert.match(ignore, /^\*\.kfp\.yaml$/m);
    assert.match(ignore, /^\*\.argo\.yaml$/m);
  });
});

describe('nb2prod export: usage and other pipelines', () => {
  it('an unknown target, a missing argument or --volume with kfp is a usage error (exit 2)', () => {
    const ws = workspaceWith(DIAMOND);
    for (const argv of [['export', 'tekton', 'export_diamond.ipynb'], ['export', 'kfp'], ['export', 'kfp', 'export_diamond.ipynb', '--volume', 'x']]) {
      const r = nb2prod(argv, ws);
      assert.equal(r.status, 2, `${argv.join(' ')}: ${r.stderr}`);
    }
    const badImage = nb2prod(['export', 'kfp', 'export_diamond.ipynb', '--image', 'Not An Image'], ws);
    assert.equal(badImage.status, 1);
    assert.match(badImage.stderr, /not a reference with a tag or digest/);
  });

  it('the example notebook and a TypeScript notebook export to files the checkers accept', (t) => {
    if (!requireSpecs(t)) return;
    const kfpCheck = kfpChecker(SPECS_DIR!);
    const argoCheck = argoChecker(SPECS_DIR!);
    const ws = tempDir('nb2prod-export-');
    cpSync(path.join(REPO_ROOT, 'examples'), ws, { recursive: true });
    copyFileSync(path.join(FIXTURES, 'notebooks', 'ts_pipeline.ipynb'), path.join(ws, 'ts_pipeline.ipynb'));
    for (const nb of ['sales_forecast.ipynb', 'ts_pipeline.ipynb']) {
      const k = exported(ws, ['kfp', nb, '--image', 'r.example/p:1']);
      assert.deepEqual(kfpCheck.check(k.text), [], nb);
      assert.deepEqual(argoCheck.check(exported(ws, ['argo', nb, '--image', 'r.example/p:1']).text), [], nb);
      if (nb.startsWith('ts_')) assert.deepEqual(Object.values(k.doc.deploymentSpec.executors).map((e: any) => e.container.command)[0], ['node', 'main.mjs']);
    }
  });

  it('a float default spelled 1.0 in the parameters cell is NUMBER_DOUBLE, though JSON stores 1', () => {
    const ws = tempDir('nb2prod-export-');
    const nb = writeNotebook(ws, 'floaty.ipynb', [
      { source: 'rate = 1.0\nsteps = 3\n', tags: ['parameters'] },
      { source: 'value = rate * steps\nprint(value)\n', tags: ['step:compute'] },
    ]);
    const k = exported(ws, ['kfp', nb, '--image', 'r.example/p:1']);
    assert.equal(k.doc.root.inputDefinitions.parameters.rate.parameterType, 'NUMBER_DOUBLE');
    assert.equal(k.doc.root.inputDefinitions.parameters.steps.parameterType, 'NUMBER_INTEGER');
    assert.ok(existsSync(k.file));
  });
});

describe('the export task model', () => {
  function manifest(steps: Partial<PipelineManifest['steps'][number] & { state?: boolean }>[], params: Record<string, unknown> = {}): PipelineManifest {
    return {
      schemaVersion: 1,
      generator: 'nb2prod',
      slug: 'My_Pipeline',
      package: 'my_pipeline',
      language: 'python',
      runner: 'python',
      notebook: { path: 'nb.ipynb', hash: 'a'.repeat(64) },
      planHash: 'b'.repeat(64),
      baseImage: 'python:3.11-slim',
      params,
      steps: steps.map((s) => ({ name: 'x', file: '', cells: [], inputs: [], outputs: [], after: [], params: [], metrics: [], resources: {}, ...s })),
      edges: [],
      files: {},
      data: {},
    };
  }

  it('passes state from each state-touching step to the next one (contract: steps marked state)', () => {
    const m = manifest([
      { name: 'seed', outputs: ['rng_user'], state: true },
      { name: 'plain', inputs: [{ name: 'rng_user', from: 'seed' }], outputs: ['y'] },
      { name: 'sample', inputs: [{ name: 'y', from: 'plain' }], state: true },
      { name: 'again', state: true },
    ]);
    const p = taskModel(m);
    const [seed, plain, sample, again] = p.tasks;
    assert.equal(p.keys.state, 'nb2prod_state');
    assert.deepEqual(seed.outputs, ['rng_user', 'nb2prod_state']);
    assert.ok(!plain.outputs.includes('nb2prod_state'));
    assert.deepEqual(sample.inputs.map((i) => `${i.name}<-${i.producer}`), ['y<-plain', 'nb2prod_state<-seed']);
    assert.deepEqual(again.inputs.map((i) => `${i.name}<-${i.producer}`), ['nb2prod_state<-sample']);
    assert.deepEqual(again.dependsOn, ['sample']);
    const spec = kfpPipelineSpec(p, { image: 'r/x:1', generator: 'nb2prod' }) as Obj;
    const args: string[] = spec.deploymentSpec.executors['exec-sample'].container.args;
    assert.deepEqual(args.slice(args.indexOf('--state-in'), args.indexOf('--state-in') + 4), [
      '--state-in', "{{$.inputs.artifacts['nb2prod_state'].path}}", '--state-out', "{{$.outputs.artifacts['nb2prod_state'].path}}",
    ]);
    assert.ok(!spec.deploymentSpec.executors['exec-seed'].container.args.includes('--state-in'));
  });

  it('names: KFP pipeline and task names from slugs, reserved keys never collide with notebook names', () => {
    const p = taskModel(manifest([{ name: 'load_data', outputs: ['nb2prod_run_id'] }, { name: 'load__data' }], { nb2prod_metrics: 1 }));
    assert.equal(p.name, 'my-pipeline');
    assert.deepEqual(p.tasks.map((t) => t.name), ['load-data', 'load-data-2']);
    assert.equal(p.keys.runId, '_nb2prod_run_id');
    assert.equal(p.keys.metrics, '_nb2prod_metrics');
  });

  it('rejects limit: values that are not Kubernetes quantities or known resources', () => {
    assert.deepEqual(resourcesOf('s', { cpu: '2', memory: '1.5Gi', 'nvidia.com/gpu': '1' }), { cpu: '2', memory: '1.5Gi', accelerators: [{ type: 'nvidia.com/gpu', count: '1' }] });
    assert.throws(() => resourcesOf('s', { memory: '4GB; rm -rf /' }), /not a Kubernetes quantity/);
    assert.throws(() => resourcesOf('s', { 'nvidia.com/gpu': 'two' }), /whole number/);
    assert.throws(() => resourcesOf('s', { disk: '1Gi' }), /names no resource/);
  });

  it('rejects names that could escape a placeholder, and claim names Kubernetes refuses', () => {
    assert.throws(() => taskModel(manifest([{ name: 'a', outputs: ["x'].path}}"] }])), /cannot be exported/);
    assert.throws(() => argoWorkflow(taskModel(manifest([{ name: 'a' }])), { image: 'r/x:1', volume: 'Data Claim' }), /not a PersistentVolumeClaim name/);
  });
});
