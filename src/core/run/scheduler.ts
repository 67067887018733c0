/**
 * Runs the steps of a graph at most `jobs` at a time, each as soon as the steps it needs have
 * succeeded. Fail fast: after a failure nothing new starts, the running steps finish, and the
 * rest are skipped. Cancel: the signal reaches every running step (each stops its own process
 * or container); the steps that never started are skipped.
 */
import { Nb2prodError } from '../errors';
import type { StepGraph, StepNode } from './graph';

export type StepOutcome = 'succeeded' | 'failed' | 'skipped' | 'cancelled';

/** What a step is doing, as a launcher reports it: started, or how it ended. */
export type StepState = 'running' | StepOutcome;

export interface ScheduledStep {
  name: string;
  outcome: StepOutcome;
  /** Wall time of the step's process or container; 0 when it never started. */
  seconds: number;
}

/** Runs one step; resolves true when it succeeded. Rejects only when it was cancelled or could not start. */
export type StepRunner = (step: StepNode, signal: AbortSignal) => Promise<boolean>;

export async function schedule(graph: StepGraph, jobs: number, runStep: StepRunner, signal?: AbortSignal): Promise<ScheduledStep[]> {
  checkAcyclic(graph);
  const results = new Map<string, ScheduledStep>();
  const pending = [...graph.steps];
  const running = new Set<Promise<void>>();
  let failed = false;
  // Steps get their own controller so a step that cannot start does not cancel its siblings.
  const stop = new AbortController();
  const onAbort = () => stop.abort();
  signal?.addEventListener('abort', onAbort, { once: true });
  let firstError: unknown;

  const start = (step: StepNode) => {
    const started = Date.now();
    const task = runStep(step, stop.signal).then(
      (ok) => {
        results.set(step.name, { name: step.name, outcome: ok ? 'succeeded' : 'failed', seconds: since(started) });
        if (!ok) failed = true;
      },
      (err) => {
        const cancelled = stop.signal.aborted;
        results.set(step.name, { name: step.name, outcome: cancelled ? 'cancelled' : 'failed', seconds: since(started) });
        failed = true;
        if (!cancelled) firstError ??= err;
      },
    );
    const tracked = task.finally(() => running.delete(tracked));
    running.add(tracked);
  };

  try {
    for (;;) {
      if (!failed && !stop.signal.aborted) {
        for (const step of [...pending]) {
          if (running.size >= jobs) break;
          if (step.needs.every((n) => results.get(n)?.outcome === 'succeeded')) {
            pending.splice(pending.indexOf(step), 1);
            start(step);
          }
        }
      }
      if (running.size === 0) break;
      await Promise.race(running);
    }
  } finally {
    signal?.removeEventListener('abort', onAbort);
  }
  for (const step of pending) results.set(step.name, { name: step.name, outcome: 'skipped', seconds: 0 });
  // A step that could not start (no interpreter, the engine went away) is an error of the run, not a failed step.
  if (firstError) throw firstError;
  return graph.steps.map((s) => results.get(s.name)!);
}

function since(started: number): number {
  return (Date.now() - started) / 1000;
}

/** pipeline.json is generated, but a hand-edited `after` could close a loop: say so rather than skip everything. */
function checkAcyclic(graph: StepGraph): void {
  const needs = new Map(graph.steps.map((s) => [s.name, s.needs]));
  const state = new Map<string, 'visiting' | 'done'>();
  const visit = (name: string, trail: string[]): void => {
    if (state.get(name) === 'done') return;
    if (state.get(name) === 'visiting') throw new Nb2prodError(`pipeline.json: steps wait for each other in a loop: ${[...trail, name].join(' -> ')}`);
    state.set(name, 'visiting');
    for (const n of needs.get(name) ?? []) visit(n, [...trail, name]);
    state.set(name, 'done');
  };
  for (const s of graph.steps) visit(s.name, []);
}
