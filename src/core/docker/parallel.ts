/**
 * `run --jobs N`: every step its own runner invocation (`--only STEP`), as a process or a
 * container, with the steps of the graph that may run together running together. Each step is
 * told exactly where to read its inputs and state and where to write its outputs, all inside
 * the run directory, so no step looks anything up by itself while another one is writing:
 *
 *   <run>/<step>/<output>/<output>.<ext>   one directory per output (--output, then --input)
 *   <run>/<step>/.random-state.pkl ...     a state step's state (--state-out, then --state-in)
 *   <run>/<step>/.metrics.json             its metrics; <run>/<step>/.step.json its record
 *
 * At the end the steps' records are merged into run.json, which lineage reads as it reads a
 * sequential run's.
 */
import * as fs from 'fs';
import * as path from 'path';
import { CancelledError } from '../errors';
import type { StepGraph, StepNode } from '../run/graph';
import { schedule, ScheduledStep, StepState } from '../run/scheduler';
import type { OutputStream } from './engine';
import { lineSplitter } from './lines';
import type { PipelineManifest, RunArtifact, RunRecord, RunStepRecord } from './pipeline-dir';
import { runnerArgs } from './pipeline-dir';
import type { Launcher } from './run';

/** Beside the run id label: which step a container runs. */
export const STEP_LABEL = 'nb2prod.step';

export interface ParallelRun {
  manifest: PipelineManifest;
  graph: StepGraph;
  jobs: number;
  launcher: Launcher;
  artifactsDir: string;
  runId: string;
  params: string[];
  onOutput?: (text: string, stream: OutputStream) => void;
  onStep?: (step: string, state: StepState) => void;
  signal?: AbortSignal;
}

/**
 * An empty state directory: what a step resumes when no state step comes before it in the
 * notebook (the state the setup code leaves), and what a step that touches no state is given,
 * so that it never reads a state file another step is writing.
 */
const INITIAL_STATE = '.initial-state';

/** Runs the graph; resolves with the exit code of the run (that of the first failed step), and writes run.json. */
export async function runParallel(run: ParallelRun): Promise<number | null> {
  const runDir = path.join(run.artifactsDir, run.runId);
  const started = new Date();
  await fs.promises.mkdir(path.join(runDir, INITIAL_STATE), { recursive: true });
  const exitCodes = new Map<string, number | null>();
  const runStep = async (step: StepNode, signal: AbortSignal): Promise<boolean> => {
    // Whole lines with the step's name: steps running together interleave lines, never parts of lines.
    const output = lineSplitter((line, stream) => run.onOutput?.(`[${step.name}] ${line}\n`, stream));
    run.onStep?.(step.name, 'running');
    try {
      const code = await run.launcher.launch(stepArgs(run, step), {
        manifest: run.manifest,
        artifactsDir: run.artifactsDir,
        runId: run.runId,
        onOutput: output.write,
        signal,
        labels: { [STEP_LABEL]: step.name },
      });
      exitCodes.set(step.name, code);
      run.onStep?.(step.name, code === 0 ? 'succeeded' : 'failed');
      return code === 0;
    } catch (err) {
      run.onStep?.(step.name, signal.aborted ? 'cancelled' : 'failed');
      throw err;
    } finally {
      output.flush();
    }
  };
  let steps: ScheduledStep[];
  try {
    steps = await schedule(run.graph, run.jobs, runStep, run.signal);
  } catch (err) {
    if (run.signal?.aborted) throw new CancelledError('Run');
    throw err;
  }
  const skipped = steps.filter((s) => s.outcome === 'skipped').map((s) => s.name);
  for (const name of skipped) run.onStep?.(name, 'skipped');
  if (skipped.length && !run.signal?.aborted) run.onOutput?.(`[nb2prod] not started after a failure: ${skipped.join(', ')}\n`, 'stderr');

  const records = await readStepRecords(runDir, steps);
  const firstFailed = steps.find((s) => s.outcome === 'failed');
  const exitCode = firstFailed ? (exitCodes.get(firstFailed.name) ?? 1) : 0;
  // The package rejected its arguments (a bad --param) before any step began: like a sequential
  // run, no run.json, so the caller reports a usage error.
  const rejected = records.size === 0 && [...exitCodes.values()].includes(2);
  if (!rejected) {
    await writeJson(path.join(runDir, 'run.json'), mergeRecords(run, steps, records, started, run.signal?.aborted === true));
  }
  if (run.signal?.aborted) throw new CancelledError('Run');
  return exitCode;
}

/** `--only STEP` plus where everything it reads and writes lives, as the runner sees the artifacts directory. */
function stepArgs(run: ParallelRun, step: StepNode): string[] {
  const artifacts = run.launcher.artifactsPath(run.artifactsDir);
  // The runner may see the artifacts directory elsewhere (a container's mount): join with its separator.
  const join = artifacts === run.artifactsDir ? path.join : path.posix.join;
  const inRun = (...parts: string[]) => join(artifacts, run.runId, ...parts);
  const inGraph = new Set(run.graph.steps.map((s) => s.name));
  const args = runnerArgs({ params: run.params, only: step.name, runId: run.runId, artifactsDir: artifacts });
  for (const input of step.inputs) {
    // A producer before --from did not run now: the runner finds its output in an earlier run.
    if (inGraph.has(input.from)) args.push('--input', `${input.name}=${inRun(input.from, input.name)}`);
  }
  for (const name of step.outputs) args.push('--output', `${name}=${inRun(step.name, name)}`);
  if (step.state) {
    if (step.stateFrom !== undefined) args.push('--state-in', inRun(step.stateFrom ?? INITIAL_STATE));
    args.push('--state-out', inRun(step.name));
  } else {
    args.push('--state-in', inRun(INITIAL_STATE));
  }
  args.push('--metrics-out', inRun(step.name, '.metrics.json'));
  return args;
}

/** What a step writes about itself (`.step.json`, the step contract). */
interface StepRecord extends RunStepRecord {
  params?: Record<string, unknown>;
  artifacts?: RunArtifact[];
  metrics?: Record<string, unknown>;
}

async function readStepRecords(runDir: string, steps: ScheduledStep[]): Promise<Map<string, StepRecord>> {
  const records = new Map<string, StepRecord>();
  for (const step of steps) {
    if (step.outcome === 'skipped') continue;
    let record: StepRecord;
    try {
      record = JSON.parse(await fs.promises.readFile(path.join(runDir, step.name, '.step.json'), 'utf8'));
    } catch {
      // Killed, or crashed before writing it: the scheduler's outcome stands in for it.
      continue;
    }
    // A record that disagrees with the exit code was left by an earlier run under the same id.
    if ((record.status === 'succeeded') === (step.outcome === 'succeeded')) records.set(step.name, record);
  }
  return records;
}

/** run.json of the whole run, in the shape a sequential run writes; steps in notebook order, skipped ones too. */
function mergeRecords(run: ParallelRun, steps: ScheduledStep[], records: Map<string, StepRecord>, started: Date, cancelled: boolean): RunRecord {
  const merged: RunRecord = {
    run_id: run.runId,
    params: { ...run.manifest.params },
    status: cancelled ? 'cancelled' : steps.every((s) => s.outcome === 'succeeded') ? 'succeeded' : 'failed',
    started: started.toISOString(),
    finished: new Date().toISOString(),
    steps: [],
    artifacts: [],
    metrics: {},
  };
  for (const step of steps) {
    const record = records.get(step.name);
    const status = record?.status ?? step.outcome;
    const error = record?.error ?? (step.outcome === 'failed' ? 'exited without a step record' : undefined);
    merged.steps.push({ name: step.name, status, seconds: record?.seconds ?? round(step.seconds), ...(error ? { error } : {}) });
    Object.assign(merged.params, record?.params);
    merged.artifacts.push(...(record?.artifacts ?? []));
    Object.assign(merged.metrics, record?.metrics);
  }
  return merged;
}

function round(seconds: number): number {
  return Math.round(seconds * 1000) / 1000;
}

async function writeJson(file: string, data: unknown): Promise<void> {
  const temporary = `${file}.tmp`;
  await fs.promises.writeFile(temporary, JSON.stringify(data, null, 2) + '\n');
  await fs.promises.rename(temporary, file);
}
