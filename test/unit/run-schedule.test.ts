/**
 * The step graph of `run --jobs` (data edges, `after`, the state chain, `--from`) and the
 * scheduler over it (at most N at a time, fail fast, cancel), with steps that only wait.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { PipelineManifest } from '../../src/core/generate/manifest';
import { hasIndependentSteps, StepGraph, stepGraph } from '../../src/core/run/graph';
import { schedule } from '../../src/core/run/scheduler';

type StepSpec = { name: string; inputs?: [string, string][]; after?: string[]; state?: boolean };

function manifest(steps: StepSpec[]): PipelineManifest {
  return {
    steps: steps.map((s) => ({
      name: s.name,
      file: `${s.name}.py`,
      cells: [],
      inputs: (s.inputs ?? []).map(([name, from]) => ({ name, from })),
      outputs: [],
      after: s.after ?? [],
      params: [],
      metrics: [],
      resources: {},
      ...(s.state ? { state: true } : {}),
    })),
    edges: steps.flatMap((s) => (s.after ?? []).map((a) => [a, s.name] as [string, string])),
  } as unknown as PipelineManifest;
}

const DIAMOND: StepSpec[] = [
  { name: 'load' },
  { name: 'left', inputs: [['data', 'load']] },
  { name: 'right', inputs: [['data', 'load']] },
  { name: 'join', inputs: [['a', 'left'], ['b', 'right']] },
];

const needs = (graph: StepGraph) => Object.fromEntries(graph.steps.map((s) => [s.name, [...s.needs].sort()]));

describe('the step graph', () => {
  it('waits for producers and after: steps; a diamond has independent steps, a chain has none', () => {
    const graph = stepGraph(manifest([...DIAMOND, { name: 'report', after: ['join'] }]));
    assert.deepEqual(needs(graph), { load: [], left: ['load'], right: ['load'], join: ['left', 'right'], report: ['join'] });
    assert.equal(hasIndependentSteps(graph), true);
    const chain = stepGraph(manifest([{ name: 'a' }, { name: 'b', inputs: [['x', 'a']] }, { name: 'c', after: ['b'] }]));
    assert.equal(hasIndependentSteps(chain), false);
  });

  it('puts every state step after the previous one in notebook order, and says whose state it resumes', () => {
    const graph = stepGraph(
      manifest([
        { name: 'load' },
        { name: 'left', inputs: [['data', 'load']], state: true },
        { name: 'plain', inputs: [['data', 'load']] },
        { name: 'right', inputs: [['data', 'load']], state: true },
      ]),
    );
    assert.deepEqual(needs(graph), { load: [], left: ['load'], plain: ['load'], right: ['left', 'load'] });
    assert.deepEqual(
      graph.steps.map((s) => [s.name, s.stateFrom]),
      [['load', undefined], ['left', null], ['plain', undefined], ['right', 'left']],
    );
  });

  it('with --from keeps the steps from there on; a producer or state step before it is looked up, not waited for', () => {
    const graph = stepGraph(
      manifest([
        { name: 'load', state: true },
        { name: 'left', inputs: [['data', 'load']], state: true },
        { name: 'right', inputs: [['data', 'load']] },
      ]),
      'left',
    );
    assert.deepEqual(needs(graph), { left: [], right: [] });
    assert.equal(graph.steps[0].stateFrom, undefined);
    assert.throws(() => stepGraph(manifest(DIAMOND), 'nope'), /--from nope: no such step/);
  });
});

/** A step that takes `ms` and reports how many ran at once. */
function timedSteps(ms: Record<string, number>, fail: string[] = []) {
  let running = 0;
  let peak = 0;
  const order: string[] = [];
  const run = async (step: { name: string }, signal: AbortSignal) => {
    running++;
    peak = Math.max(peak, running);
    order.push(`start ${step.name}`);
    try {
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(resolve, ms[step.name] ?? 10);
        signal.addEventListener('abort', () => (clearTimeout(timer), reject(new Error('aborted'))), { once: true });
      });
      order.push(`end ${step.name}`);
      return !fail.includes(step.name);
    } finally {
      running--;
    }
  };
  return { run, order, peak: () => peak };
}

describe('the scheduler', () => {
  const graph = stepGraph(manifest(DIAMOND));

  it('runs independent steps together, never more than N, each after what it needs', async () => {
    const two = timedSteps({ left: 60, right: 60 });
    const results = await schedule(graph, 2, two.run);
    assert.deepEqual(results.map((r) => `${r.name}:${r.outcome}`), ['load:succeeded', 'left:succeeded', 'right:succeeded', 'join:succeeded']);
    assert.equal(two.peak(), 2);
    assert.ok(two.order.indexOf('start join') > two.order.indexOf('end left') && two.order.indexOf('start join') > two.order.indexOf('end right'));

    const one = timedSteps({});
    await schedule(graph, 1, one.run);
    assert.equal(one.peak(), 1);
  });

  it('fails fast: a failed branch lets the other finish and skips the join', async () => {
    const steps = timedSteps({ left: 10, right: 80 }, ['left']);
    const results = await schedule(graph, 2, steps.run);
    assert.deepEqual(results.map((r) => `${r.name}:${r.outcome}`), ['load:succeeded', 'left:failed', 'right:succeeded', 'join:skipped']);
    assert.equal(results[3].seconds, 0);
  });

  it('after a failure starts nothing new, even a step that needs nothing that failed', async () => {
    const wide = stepGraph(manifest([{ name: 'a' }, { name: 'b' }, { name: 'c' }]));
    const results = await schedule(wide, 1, timedSteps({}, ['a']).run);
    assert.deepEqual(results.map((r) => r.outcome), ['failed', 'skipped', 'skipped']);
  });

  it('cancel reaches the running steps and skips the rest', async () => {
    const controller = new AbortController();
    const steps = timedSteps({ left: 5000, right: 5000 });
    setTimeout(() => controller.abort(), 100);
    const started = Date.now();
    const results = await schedule(graph, 2, steps.run, controller.signal);
    assert.ok(Date.now() - started < 2000);
    assert.deepEqual(results.map((r) => `${r.name}:${r.outcome}`), ['load:succeeded', 'left:cancelled', 'right:cancelled', 'join:skipped']);
  });

  it('a step that cannot start is an error of the run; a loop in the graph is named', async () => {
    await assert.rejects(schedule(graph, 2, async () => Promise.reject(new Error('cannot start python'))), /cannot start python/);
    const loop = stepGraph(manifest([{ name: 'a', after: ['b'] }, { name: 'b', after: ['a'] }]));
    await assert.rejects(schedule(loop, 2, timedSteps({}).run), /in a loop: a -> b -> a/);
  });
});
