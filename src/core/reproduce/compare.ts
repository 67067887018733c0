/**
 * Comparing a run with its reproduction: every artifact and metric the lineage records, matched
 * by step and name (the run directories differ), and the steps that changed by themselves.
 * Pure: the CLI and the extension both call it on two run records.
 */
import type { ArtifactHash, ReproductionEntry, ReproductionRecordInput, RunRecordInput } from '../lineage/records';

export type Comparison = Pick<ReproductionRecordInput, 'status' | 'counts' | 'entries' | 'nondeterministic'>;

type Compared = Pick<RunRecordInput, 'artifacts' | 'metrics' | 'status' | 'runDir'>;

/**
 * `edges` are the pipeline's `[from, to]` step edges (pipeline.json): a step that differs only
 * because a step before it does is a consequence, not a source of nondeterminism.
 */
export function compareRuns(original: Compared, again: Compared, edges: readonly (readonly [string, string])[] = []): Comparison {
  const entries: ReproductionEntry[] = [
    ...pair(artifactsByKey(original), artifactsByKey(again), (key, a) => ({ kind: 'artifact' as const, name: key, ...(a.step ? { step: a.step } : {}) }), (a) => a.sha256),
    ...pair(metricsByKey(original), metricsByKey(again), (key) => ({ kind: 'metric' as const, name: key }), (v) => JSON.stringify(v)),
  ];
  const counts = { same: 0, differs: 0, new: 0, missing: 0 };
  for (const e of entries) counts[e.outcome]++;
  const identical = counts.differs + counts.new + counts.missing === 0;
  return {
    status: again.status !== 'succeeded' ? 'failed' : identical ? 'identical' : 'differs',
    counts,
    entries,
    nondeterministic: again.status === 'succeeded' ? nondeterministicSteps(entries, edges) : [],
  };
}

/** What to tell the user about a step that gave different outputs from the same inputs. */
export function nondeterminismHint(step: string, artifact: string): string {
  return (
    `step ${step} is not deterministic: ${artifact} differs although nothing before the step does. ` +
    'It may read the time or the clock, or use randomness without a seed: set a seed ' +
    '(random.seed(N), np.random.default_rng(N), random_state=N), or make the value a parameter.'
  );
}

/** In the original's order, then what only the new run has. */
function pair<T>(
  was: Map<string, T>,
  now: Map<string, T>,
  base: (key: string, value: T) => Pick<ReproductionEntry, 'kind' | 'name' | 'step'>,
  digest: (value: T) => string,
): ReproductionEntry[] {
  const out: ReproductionEntry[] = [];
  for (const [key, a] of was) {
    const b = now.get(key);
    const before = digest(a);
    if (b === undefined) out.push({ ...base(key, a), outcome: 'missing', was: before });
    else {
      const after = digest(b);
      out.push({ ...base(key, a), outcome: before === after ? 'same' : 'differs', was: before, now: after });
    }
  }
  for (const [key, b] of now) if (!was.has(key)) out.push({ ...base(key, b), outcome: 'new', now: digest(b) });
  return out;
}

/** `step/name` as run.json names an artifact; else its path inside the run directory. */
function artifactsByKey(run: Compared): Map<string, ArtifactHash> {
  const prefix = run.runDir ? `${run.runDir}/` : '';
  const out = new Map<string, ArtifactHash>();
  for (const a of run.artifacts ?? []) {
    const key = a.step && a.name ? `${a.step}/${a.name}` : prefix && a.path.startsWith(prefix) ? a.path.slice(prefix.length) : a.path;
    out.set(key, a);
  }
  return out;
}

function metricsByKey(run: Compared): Map<string, unknown> {
  return new Map(Object.entries(run.metrics ?? {}).sort(([a], [b]) => a.localeCompare(b)));
}

/**
 * Steps with a differing artifact none of whose predecessors (transitively) has one; without
 * edges, the steps are independent as far as we know, and each differing step is named.
 */
function nondeterministicSteps(entries: ReproductionEntry[], edges: readonly (readonly [string, string])[]): { step: string; artifact: string }[] {
  const firstDiffering = new Map<string, string>();
  for (const e of entries) if (e.kind === 'artifact' && e.step && e.outcome === 'differs' && !firstDiffering.has(e.step)) firstDiffering.set(e.step, e.name);
  const predecessors = new Map<string, string[]>();
  for (const [from, to] of edges) predecessors.set(to, [...(predecessors.get(to) ?? []), from]);
  const upstreamDiffers = (step: string, seen = new Set<string>()): boolean =>
    (predecessors.get(step) ?? []).some((p) => !seen.has(p) && (seen.add(p), firstDiffering.has(p) || upstreamDiffers(p, seen)));
  return [...firstDiffering].filter(([step]) => !upstreamDiffers(step)).map(([step, artifact]) => ({ step, artifact }));
}
