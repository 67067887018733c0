/**
 * `run --jobs`: the diamond notebook whose two branches sleep 2 s each, `run --local --jobs 2`
 * beside `--jobs 1` (one process) as a ratio; what running a step on its own costs (start,
 * imports, loading its inputs, writing its record) as a process and as a container, beside the
 * same step inside the one-process run; and the diamond's ratio in containers.
 */
import { spawnSync } from 'child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'fs';
import * as os from 'os';
import * as path from 'path';
import { buildPipeline } from '../../src/core/docker/build';
import { createDockerEngine } from '../../src/core/docker/dockerode-engine';
import type { RunRecord } from '../../src/core/docker/pipeline-dir';
import { RunOutcome, runInContainer, runLocal } from '../../src/core/docker/run';
import { removeRepository, testRepository } from '../docker/helpers';
import { PYTHON_DIAMOND, SCIENTIFIC_PYTHON } from '../helpers/diamond';
import { notebookJson } from '../helpers/notebooks';
import { measure, median, repeat } from './measure';

const ROOT = path.resolve(__dirname, '..', '..', '..');
const CLI = path.join(ROOT, 'dist', 'cli.js');
/** Debian's interpreter: numpy is installed, and it starts in about 0.05 s (the pyenv shim takes 0.5 s). */
const PYTHON = SCIENTIFIC_PYTHON;
const ML_BASE_IMAGE = 'nb2prod-base/python-ml:bookworm';
const BRANCH_SECONDS = 2;

/** The last step run's output, shown when it fails. */
const output: string[] = [];
const keep = (text: string) => void output.push(text);

export async function benchJobs(print: (row: string) => void): Promise<void> {
  const work = mkdtempSync(path.join(os.tmpdir(), 'nb2prod-bench-jobs-'));
  writeFileSync(path.join(work, 'diamond.ipynb'), notebookJson(PYTHON_DIAMOND));
  const dir = path.join(work, 'pipeline');
  const made = spawnSync(process.execPath, [CLI, 'productionize', 'diamond.ipynb', '--out', dir], { cwd: work, encoding: 'utf8' });
  if (made.status !== 0) throw new Error(`productionize failed: ${made.stderr}`);
  const version = spawnSync(PYTHON, ['-c', 'import sys; print(sys.version.split()[0])'], { encoding: 'utf8' }).stdout.trim();
  print(`  interpreter: ${PYTHON} (Python ${version}); ${os.availableParallelism()} CPUs`);

  let n = 0;
  // Five of each, the median: other work on the machine slows the process starts --jobs 2 has more of.
  const run = (jobs: number) =>
    repeat(5, () => {
      const m = measure(process.execPath, [CLI, 'run', dir, '--local', '--python', PYTHON, '--jobs', String(jobs), '--run-id', `j${jobs}-${n++}`, '--param', `pause=${BRANCH_SECONDS}`], work);
      if (m.status !== 0) throw new Error(`run --jobs ${jobs} failed: ${m.stderr}`);
      return m;
    });
  const one = run(1);
  const two = run(2);
  print(
    `  diamond, two ${BRANCH_SECONDS} s branches: run --local --jobs 1 ${one.seconds.toFixed(2)} s, --jobs 2 ${two.seconds.toFixed(2)} s: ` +
      `${(one.seconds / two.seconds).toFixed(2)}x faster (target >= 1.7x)`,
  );

  // The join alone, reading the branches' outputs from the one-process run: start + imports + loading inputs.
  const sequentialRun = 'j1-0';
  const inProcess = (JSON.parse(readFileSync(path.join(dir, 'artifacts', sequentialRun, 'run.json'), 'utf8')) as RunRecord).steps.find((s) => s.name === 'join')!.seconds;
  const asProcess = await timed(() => runLocal({ dir, python: PYTHON, only: 'join', runId: sequentialRun, onOutput: keep }), 5);
  const containers = await containerFigures(dir, sequentialRun, print);
  print(
    `  one step (join) alone: in the one process ${inProcess.toFixed(3)} s | own process ${asProcess.toFixed(3)} s` +
      (containers ? ` | own container ${containers.step.toFixed(3)} s` : ''),
  );
  if (containers) {
    print(
      `  diamond in containers: --jobs 1 ${containers.one.toFixed(2)} s, --jobs 2 ${containers.two.toFixed(2)} s: ` +
        `${(containers.one / containers.two).toFixed(2)}x faster (each extra container on the critical path costs the start above)`,
    );
  }
  // Timed like the step runs above (from this process), so the figures compare.
  const floor = median(
    Array.from({ length: 5 }, () => {
      const started = process.hrtime.bigint();
      spawnSync(PYTHON, ['-c', 'import numpy']);
      return Number(process.hrtime.bigint() - started) / 1e9;
    }),
  );
  print(`  floor: ${PYTHON} -c 'import numpy' ${floor.toFixed(3)} s (the step's own imports)`);
}

/** The median of `times` runs' own seconds; a run that does not succeed stops the bench with its output. */
async function timed(launch: () => Promise<RunOutcome>, times: number): Promise<number> {
  const seconds: number[] = [];
  for (let i = 0; i < times; i++) {
    const outcome = await launch();
    if (outcome.status !== 'succeeded') throw new Error(`run ${outcome.status}: ${outcome.error?.message}\n${output.join('')}`);
    output.length = 0;
    seconds.push(outcome.seconds);
  }
  return median(seconds);
}

/**
 * In the pipeline's image (built on the local scientific base): the join alone in its own
 * container, and the whole diamond with --jobs 1 and 2. Undefined without an engine.
 */
async function containerFigures(dir: string, runId: string, print: (row: string) => void): Promise<{ step: number; one: number; two: number } | undefined> {
  const engine = createDockerEngine(process.env);
  try {
    await engine.info();
  } catch (e) {
    print(`  container figures skipped: ${(e as Error).message}`);
    return undefined;
  }
  const repository = testRepository();
  try {
    const built = await buildPipeline({ dir, engine, repository, baseImage: ML_BASE_IMAGE });
    if (built.status !== 'succeeded' && built.status !== 'up-to-date') throw new Error(`build ${built.status}: ${built.error?.describe()}`);
    const image = built.tags[0];
    const step = await timed(() => runInContainer({ dir, engine, image, only: 'join', runId, onOutput: keep }), 3);
    const whole = (jobs: number) => timed(() => runInContainer({ dir, engine, image, jobs, params: [`pause=${BRANCH_SECONDS}`], onOutput: keep }), 3);
    return { step, one: await whole(1), two: await whole(2) };
  } finally {
    await removeRepository(engine, repository);
  }
}
