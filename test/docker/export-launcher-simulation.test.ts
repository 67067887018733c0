/**
 * Exported KFP and Argo files, run task by task against the real engine as the KFP launcher and
 * the Argo executor would (test/docker/launcher-simulation.ts), compute what a whole local run
 * computes: every output's sha256, the printed lines, the metrics. The fixture is the diamond
 * (after:, limit:, six parameter types) plus two steps that share random-generator state.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'child_process';
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import { after, before, describe, it } from 'node:test';
import { buildPipeline } from '../../src/core/docker/build';
import type { ContainerEngine } from '../../src/core/docker/engine';
import { exportPipeline } from '../../src/core/export/export';
import { productionize } from '../../src/core/pipeline';
import { FIXTURES } from '../helpers/notebooks';
import { removeRepository, removeTempDirs, requireEngine, tempDir, testRepository } from './helpers';
import { simulateArgo, simulateKfp, Simulation } from './launcher-simulation';

const PYTHON = process.env.NB2PROD_PYTHON ?? 'python3';
let engine: ContainerEngine | undefined;
const repository = testRepository();

interface Reference {
  stdout: string;
  /** `step/name` -> sha256 of the value file. */
  artifacts: Map<string, string>;
  metrics: Record<string, unknown>;
}

/** The diamond fixture with two state-sharing steps before its metrics cell. */
function notebookWithState(): string {
  const nb = JSON.parse(fs.readFileSync(path.join(FIXTURES, 'notebooks', 'export_diamond.ipynb'), 'utf8'));
  const cell = (id: string, tags: string[], source: string) => ({ cell_type: 'code', id, metadata: { tags }, source, outputs: [], execution_count: null });
  nb.cells.splice(
    nb.cells.length - 1,
    0,
    cell('shuffle', ['step:shuffle'], 'import random\nrandom.seed(7)\norder = list(rows)\nrandom.shuffle(order)\nprint("order", order[:5])\n'),
    // Unseeded: its draw equals the whole run's only when the generator state arrives from shuffle.
    cell('draw', ['step:draw'], 'import random\npick = random.random()\nprint("pick", repr(pick))\n'),
  );
  return JSON.stringify(nb);
}

function sha256File(file: string): string {
  return crypto.createHash('sha256').update(fs.readFileSync(file)).digest('hex');
}

/** A `--output` directory holds exactly one visible file, `<name>.<ext>`: its hash. */
function valueFileHash(dir: string, name: string): string {
  const visible = fs.readdirSync(dir).filter((f) => !f.startsWith('.'));
  assert.equal(visible.length, 1, `${dir}: ${visible.join(', ')}`);
  assert.ok(visible[0].startsWith(`${name}.`), visible[0]);
  return sha256File(path.join(dir, visible[0]));
}

function compare(sim: Simulation, reference: Reference, stepOf: (task: string) => string, stateKey: string): void {
  assert.equal(sim.tasks.map((t) => t.stdout).join(''), reference.stdout, 'the printed lines, task after task, are the whole run\'s');
  const seen = new Map<string, string>();
  for (const task of sim.tasks) {
    for (const [key, dir] of task.outputs) if (key !== stateKey) seen.set(`${stepOf(task.name)}/${key}`, valueFileHash(dir, key));
  }
  assert.deepEqual(new Map([...seen].sort()), new Map([...reference.artifacts].sort()));
  const metrics = Object.assign({}, ...sim.tasks.map((t) => {
    const m = t.parameters.get('nb2prod_metrics');
    return typeof m === 'string' ? JSON.parse(m) : m;
  }));
  assert.deepEqual(metrics, reference.metrics);
}

describe('exported files run by a simulated KFP launcher and Argo executor equal a whole local run', () => {
  let dir: string;
  let image: string;
  let reference: Reference;
  let work: string;

  before(async () => {
    work = await tempDir();
    fs.writeFileSync(path.join(work, 'diamond.ipynb'), notebookWithState());
    dir = (await productionize(path.join(work, 'diamond.ipynb'), { cwd: work, env: process.env })).outDir;
    // The whole run happens in a copy: its artifacts must not reach the image's build context.
    const local = path.join(work, 'local-run');
    fs.cpSync(dir, local, { recursive: true });
    const manifest = JSON.parse(fs.readFileSync(path.join(dir, 'pipeline.json'), 'utf8'));
    const run = spawnSync(PYTHON, ['-m', manifest.package, '--run-id', 'whole'], { cwd: local, encoding: 'utf8' });
    assert.equal(run.status, 0, run.stderr);
    const record = JSON.parse(fs.readFileSync(path.join(local, 'artifacts', 'whole', 'run.json'), 'utf8'));
    reference = {
      stdout: run.stdout,
      artifacts: new Map(record.artifacts.map((a: { step: string; name: string; sha256: string }) => [`${a.step}/${a.name}`, a.sha256])),
      metrics: record.metrics,
    };
    assert.equal(reference.artifacts.size, 4, JSON.stringify(record.artifacts));
  });

  after(async () => {
    if (engine) await removeRepository(engine, repository);
    await removeTempDirs();
  });

  it('builds the image the exports run', async (t) => {
    engine = await requireEngine(t);
    if (!engine) return;
    const built = await buildPipeline({ dir, engine, repository });
    assert.ok(built.status === 'succeeded' || built.status === 'up-to-date', built.error?.describe());
    image = built.tags[0];
  });

  it('KFP: every task in its own container, artifacts through the bucket, state from shuffle to draw', async (t) => {
    if (!engine || !image) return t.skip('no engine or image');
    const file = (await exportPipeline({ dir, target: 'kfp', image, out: path.join(work, 'diamond.kfp.yaml') })).file;
    const sim = await simulateKfp(file, engine, path.join(work, 'kfp'));
    assert.deepEqual(sim.tasks.map((x) => x.name), ['load', 'left', 'right', 'join', 'audit', 'shuffle', 'draw']);
    compare(sim, reference, (task) => task, 'nb2prod_state');
    assert.match(sim.tasks.find((x) => x.name === 'right')!.stdout, /diamond: a 'quoted' \{\{value\}\} #1/, 'a string parameter arrives verbatim');
  });

  it('Argo: the same with artifacts placed and collected by path', async (t) => {
    if (!engine || !image) return t.skip('no engine or image');
    const file = (await exportPipeline({ dir, target: 'argo', image, out: path.join(work, 'diamond.argo.yaml') })).file;
    const sim = await simulateArgo(file, engine, path.join(work, 'argo'));
    compare(sim, reference, (task) => task, 'nb2prod_state');
  });

  it('Argo --volume: values pass on the claim, and the steps merge one run.json there', async (t) => {
    if (!engine || !image) return t.skip('no engine or image');
    const file = (await exportPipeline({ dir, target: 'argo', image, volume: 'diamond-data', out: path.join(work, 'diamond.volume.yaml') })).file;
    const sim = await simulateArgo(file, engine, path.join(work, 'volume'));
    assert.equal(sim.tasks.map((x) => x.stdout).join(''), reference.stdout);
    const claim = sim.claims.get('diamond-data')!;
    const record = JSON.parse(fs.readFileSync(path.join(claim, sim.runId, 'run.json'), 'utf8'));
    assert.equal(record.status, 'succeeded');
    for (const [key, sha] of reference.artifacts) {
      const [step, name] = key.split('/');
      assert.equal(valueFileHash(path.join(claim, sim.runId, step, 'outputs', name), name), sha, key);
    }
    assert.deepEqual(record.metrics, reference.metrics);
  });
});
