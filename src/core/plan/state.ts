/**
 * Which steps may read or change process state that flows from step to step in notebook order:
 * the global random generators (seeded in one cell, drawn from in a later one) and process
 * settings. Run one by one, such steps must keep notebook order and each must start from the
 * state the one before left (pipeline.json `state: true`; the runtime's --state-in/--state-out).
 *
 * Conservative by design: mentioning a generator is enough. A step marked needlessly only loses
 * some parallelism; a step missed would draw other numbers than the notebook did.
 */
import type { DefinitionInfo } from '../analysis/types';
import type { Plan, Step } from './model';

/**
 * Words that name a global generator, seeding, or a library that draws from one unless given a
 * seed: Python's `random`, numpy's (`np.random`, `RandomState`, `default_rng`), scikit-learn
 * estimators and splitters (numpy's generator when `random_state` is None), `DataFrame.sample`,
 * `scipy.stats` draws (`.rvs(`), torch, TensorFlow/Keras, JAX; JavaScript's `Math.random`,
 * seedrandom, faker, chance, lodash's `_.shuffle`/`_.sample`.
 */
const STATE_WORDS = /random|seed|default_rng|\brng\b|\bsklearn\b|train_test_split|shuffle|\.sample\(|\.rvs\(|\btorch\b|\btensorflow\b|\btf\.|\bkeras\b|\bjax\b|\bfaker\b|\bchance\b/i;

export function touchesState(step: Step, plan: Plan): boolean {
  if (step.settings?.length) return true;
  return sourcesOf(step, plan).some((code) => STATE_WORDS.test(code));
}

/** The code a step runs: its own, its imports, and the shared functions, classes and setup values it reaches. */
function sourcesOf(step: Step, plan: Plan): string[] {
  const sources = [step.code, ...step.imports.map((i) => i.code), ...step.localDefinitions.map((d) => d.code)];
  const definitions = new Map(plan.definitions.map((d) => [d.name, d]));
  const seen = new Set<string>();
  const pending = [...step.sharedUses, ...step.localDefinitions.flatMap(readNames)];
  while (pending.length) {
    const name = pending.pop()!;
    if (seen.has(name)) continue;
    seen.add(name);
    const def = definitions.get(name);
    if (def) {
      sources.push(def.code);
      pending.push(...readNames(def));
    } else {
      // A setup value (`rng = np.random.default_rng(0)` in an imports cell) made by shared code.
      const mention = new RegExp(`\\b${escapeRegExp(name)}\\b`);
      sources.push(...plan.sharedCode.filter((part) => mention.test(part.body)).map((part) => part.body));
    }
    sources.push(...plan.sharedImports.filter((i) => i.names.includes(name)).map((i) => i.code));
  }
  return sources;
}

function readNames(def: DefinitionInfo): string[] {
  return def.globals.map((ref) => ref.name);
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
