/**
 * The step graph a parallel run schedules, read from pipeline.json: a step waits for the steps
 * producing its inputs, for its `after` steps, and, when it touches process state (random
 * generators, settings: `state: true`), for the previous state step in notebook order, whose
 * saved state it resumes. Steps that touch no state keep only their data edges, so they may
 * run beside anything.
 */
import { Nb2prodError } from '../errors';
import type { PipelineManifest } from '../generate/manifest';

export interface StepNode {
  name: string;
  /** Steps of this graph that must succeed first (producers, `after`, the previous state step). */
  needs: string[];
  /** Inputs with the step producing each; a producer outside the graph (`--from`) is not in `needs`. */
  inputs: { name: string; from: string }[];
  outputs: string[];
  state: boolean;
  /**
   * The nearest earlier state step (notebook order), whose saved state this step resumes.
   * Null when there is none in the notebook: the step starts from the state the setup code
   * leaves, as the notebook did. Undefined when that step lies before `--from`: the runner
   * looks it up in earlier runs, as a sequential `--from` run does.
   */
  stateFrom?: string | null;
}

export interface StepGraph {
  /** In notebook order. */
  steps: StepNode[];
}

/** The graph of every step, or of `from` and the steps after it in notebook order (what `--from` runs). */
export function stepGraph(manifest: PipelineManifest, from?: string): StepGraph {
  const all = manifest.steps;
  const first = from === undefined ? 0 : all.findIndex((s) => s.name === from);
  if (first < 0) throw new Nb2prodError(`--from ${from}: no such step (steps: ${all.map((s) => s.name).join(', ')})`);
  const selected = new Set(all.slice(first).map((s) => s.name));
  const edges = new Map<string, Set<string>>(all.map((s) => [s.name, new Set<string>()]));
  for (const [before, after] of manifest.edges ?? []) edges.get(after)?.add(before);
  let previousState: string | null = null;
  const steps: StepNode[] = [];
  for (const step of all) {
    const needs = new Set([...step.inputs.map((i) => i.from), ...step.after, ...(edges.get(step.name) ?? [])]);
    const state = step.state === true;
    const stateFrom = previousState;
    if (state && stateFrom) needs.add(stateFrom);
    if (state) previousState = step.name;
    if (!selected.has(step.name)) continue;
    steps.push({
      name: step.name,
      needs: [...needs].filter((n) => selected.has(n) && n !== step.name),
      inputs: step.inputs.map((i) => ({ name: i.name, from: i.from })),
      outputs: [...step.outputs],
      state,
      ...(state ? { stateFrom: stateFrom === null ? null : selected.has(stateFrom) ? stateFrom : undefined } : {}),
    });
  }
  return { steps };
}

/**
 * True when some two steps may run at the same time. Steps are numbered in notebook order, a
 * valid topological order; the graph is one chain exactly when every step needs the one before.
 */
export function hasIndependentSteps(graph: StepGraph): boolean {
  return graph.steps.some((step, i) => i > 0 && !step.needs.includes(graph.steps[i - 1].name));
}
