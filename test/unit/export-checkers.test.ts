/**
 * The conformance checkers themselves: they must accept every file the upstream projects ship
 * (what real compilers write) and reject deliberately broken variants of them, or a pass of our
 * exports would prove nothing.
 */
import assert from 'assert/strict';
import { readdirSync, readFileSync } from 'fs';
import * as path from 'path';
import { describe, it, before } from 'node:test';
import { parse, stringify } from 'yaml';
import { argoChecker, ArgoChecker } from '../helpers/argo-check';
import { kfpChecker, KfpChecker } from '../helpers/kfp-check';
import { requireSpecs, SPECS_DIR } from '../helpers/specs';

type Obj = Record<string, any>;

function examples(kind: 'kfp' | 'argo'): { name: string; text: string }[] {
  if (!SPECS_DIR) return [];
  const dir = path.join(SPECS_DIR, kind, 'examples');
  return readdirSync(dir)
    .filter((f) => f.endsWith('.yaml'))
    .map((name) => ({ name, text: readFileSync(path.join(dir, name), 'utf8') }));
}

/** An upstream example changed by `edit` (which gets the parsed document). */
function broken(text: string, edit: (doc: Obj) => void): string {
  const doc = parse(text);
  edit(doc);
  return stringify(doc);
}

describe('KFP PipelineSpec checker', () => {
  let kfp: KfpChecker;
  before(() => {
    if (SPECS_DIR) kfp = kfpChecker(SPECS_DIR);
  });

  it('accepts every upstream example the KFP compiler wrote', (t) => {
    if (!requireSpecs(t)) return;
    const all = examples('kfp');
    assert.ok(all.length >= 5);
    for (const { name, text } of all) assert.deepEqual(kfp.check(text), [], name);
  });

  it('rejects unknown fields, bad enum names, two fields of a oneof and wrong scalar types', (t) => {
    if (!requireSpecs(t)) return;
    const { text } = examples('kfp').find((e) => e.name === 'two_step_pipeline_containerized.yaml')!;
    const cases: [string, (d: Obj) => void, RegExp][] = [
      ['unknown top-level field', (d) => (d.pipelineSpecVersion = 1), /unknown field of PipelineSpec/],
      ['unknown field in a task', (d) => (d.root.dag.tasks.component1.retries = 3), /unknown field of PipelineTaskSpec/],
      ['bad parameter type name', (d) => (d.components['comp-component1'].inputDefinitions.parameters.text.parameterType = 'TEXT'), /is not a ParameterTypeEnum/],
      [
        'two members of a oneof',
        (d) => (d.root.dag.tasks.component1.inputs.parameters.text.runtimeValue = { constant: 'x' }),
        /one of kind: set at most one/,
      ],
      ['string where a list belongs', (d) => (d.root.dag.tasks.component2.dependentTasks = 'component1'), /must be a list/],
      ['wrong schemaVersion', (d) => (d.schemaVersion = '2.0.0'), /must be 2\.1\.0/],
      ['bad pipeline name', (d) => (d.pipelineInfo.name = 'Two Steps'), /not a pipeline name/],
    ];
    for (const [what, edit, expected] of cases) {
      const problems = kfp.check(broken(text, edit));
      assert.ok(problems.some((p) => expected.test(p)), `${what}: ${problems.join('; ') || 'accepted'}`);
    }
  });

  it('checks deploymentSpec against PipelineDeploymentConfig, which the server would silently truncate', (t) => {
    if (!requireSpecs(t)) return;
    const { text } = examples('kfp').find((e) => e.name === 'two_step_pipeline_containerized.yaml')!;
    const unknown = kfp.check(broken(text, (d) => (d.deploymentSpec.executors['exec-component1'].container.workingDir = '/app')));
    assert.ok(unknown.some((p) => /deploymentSpec.*unknown field of PipelineContainerSpec/.test(p)), unknown.join('; '));
    const resources = kfp.check(broken(text, (d) => (d.deploymentSpec.executors['exec-component1'].container.resources = { cpuLimit: 'lots', resourceGpu: '1' })));
    assert.ok(resources.some((p) => /cpuLimit: must be a number/.test(p)), resources.join('; '));
    assert.ok(resources.some((p) => /resourceGpu: unknown field of ResourceSpec/.test(p)), resources.join('; '));
  });

  it('rejects dangling references, undeclared placeholders and cycles', (t) => {
    if (!requireSpecs(t)) return;
    const { text } = examples('kfp').find((e) => e.name === 'two_step_pipeline_containerized.yaml')!;
    const cases: [string, (d: Obj) => void, RegExp][] = [
      ['component', (d) => (d.root.dag.tasks.component2.componentRef.name = 'comp-nowhere'), /no component comp-nowhere/],
      ['executor', (d) => (d.components['comp-component2'].executorLabel = 'exec-nowhere'), /no executor exec-nowhere/],
      ['producer task', (d) => (d.root.dag.tasks.component2.inputs.artifacts.input_gcs.taskOutputArtifact.producerTask = 'component9'), /no producer task component9/],
      ['producer output', (d) => (d.root.dag.tasks.component2.inputs.artifacts.input_gcs.taskOutputArtifact.outputArtifactKey = 'nope'), /has no output nope/],
      ['dependency', (d) => (d.root.dag.tasks.component2.dependentTasks = ['component0']), /no task component0/],
      ['pipeline parameter', (d) => (d.root.dag.tasks.component1.inputs.parameters.text.componentInputParameter = 'txt'), /no pipeline input parameter txt/],
      [
        'placeholder',
        (d) => d.deploymentSpec.executors['exec-component2'].container.args.push("{{$.inputs.parameters['missing']}}"),
        /names no declared input parameter 'missing'/,
      ],
      [
        'cycle',
        (d) => {
          d.root.dag.tasks.component1.dependentTasks = ['component2'];
        },
        /cycle/,
      ],
    ];
    for (const [what, edit, expected] of cases) {
      const problems = kfp.check(broken(text, edit));
      assert.ok(problems.some((p) => expected.test(p)), `dangling ${what}: ${problems.join('; ') || 'accepted'}`);
    }
  });
});

describe('Argo Workflow checker', () => {
  let argo: ArgoChecker;
  before(() => {
    if (SPECS_DIR) argo = argoChecker(SPECS_DIR);
  });

  it('accepts every upstream example', (t) => {
    if (!requireSpecs(t)) return;
    const all = examples('argo');
    assert.ok(all.length >= 3);
    for (const { name, text } of all) assert.deepEqual(argo.check(text), [], name);
  });

  it('rejects unknown fields and bad enum values, which the upstream schema alone lets through', (t) => {
    if (!requireSpecs(t)) return;
    const { text } = examples('argo').find((e) => e.name === 'artifact-passing.yaml')!;
    const unknown = argo.check(broken(text, (d) => (d.spec.templates[1].container.workDir = '/app')));
    assert.ok(unknown.some((p) => /additionalProperties|must NOT have additional properties/.test(p)), unknown.join('; ') || 'accepted');
    const badEnum = argo.check(broken(text, (d) => (d.spec.templates[1].container.imagePullPolicy = 'Sometimes')));
    assert.ok(badEnum.length > 0, 'an imagePullPolicy outside the enum is accepted');
    const badType = argo.check(broken(text, (d) => (d.spec.templates[1].container.args = 'echo')));
    assert.ok(badType.length > 0, 'args as a string is accepted');
  });

  it('takes integers where Kubernetes takes IntOrString', (t) => {
    if (!requireSpecs(t)) return;
    const { text } = examples('argo').find((e) => e.name === 'artifact-passing.yaml')!;
    const probe = broken(text, (d) => (d.spec.templates[1].container.readinessProbe = { httpGet: { port: 8080, path: '/' } }));
    assert.deepEqual(argo.check(probe), []);
  });

  it('rejects dangling references and cycles', (t) => {
    if (!requireSpecs(t)) return;
    const diamond = examples('argo').find((e) => e.name === 'dag-diamond-steps.yaml')!.text;
    const passing = examples('argo').find((e) => e.name === 'artifact-passing.yaml')!.text;
    const cases: [string, string, (d: Obj) => void, RegExp][] = [
      ['entrypoint', diamond, (d) => (d.spec.entrypoint = 'nowhere'), /no template nowhere/],
      ['template', diamond, (d) => (d.spec.templates[2].dag.tasks[1].template = 'echo-twice'), /no template echo-twice/],
      ['dependency', diamond, (d) => (d.spec.templates[2].dag.tasks[3].depends = 'B && E'), /depends on no task E/],
      ['cycle', diamond, (d) => (d.spec.templates[2].dag.tasks[0].depends = 'D'), /cycle/],
      ['input', diamond, (d) => (d.spec.templates[0].container.command = ['echo', '{{inputs.parameters.msg}}']), /names no input/],
      ['step output', passing, (d) => (d.spec.templates[0].steps[1][0].arguments.artifacts[0].from = '{{steps.generate-artifact.outputs.artifacts.nope}}'), /declares no output artifacts.nope/],
      ['argument', passing, (d) => (d.spec.templates[0].steps[1][0].arguments.artifacts[0].name = 'msg'), /has no such input/],
    ];
    for (const [what, text, edit, expected] of cases) {
      const problems = argo.check(broken(text, edit));
      assert.ok(problems.some((p) => expected.test(p)), `dangling ${what}: ${problems.join('; ') || 'accepted'}`);
    }
  });
});
