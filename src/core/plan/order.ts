import type { Step } from './model';

/**
 * Topological order of steps; among ready steps the one that comes first in the notebook
 * runs first, so a plan without explicit edges runs in notebook order. Kahn's algorithm: O(V+E).
 */
export function orderSteps(steps: Step[], onCycle: (cycle: string[]) => void): Step[] {
  const position = new Map(steps.map((s, i) => [s.name, i]));
  const indegree = new Map(steps.map((s) => [s.name, 0]));
  const dependents = new Map<string, string[]>(steps.map((s) => [s.name, []]));
  for (const step of steps) {
    for (const dep of step.after) {
      if (!position.has(dep)) continue;
      indegree.set(step.name, indegree.get(step.name)! + 1);
      dependents.get(dep)!.push(step.name);
    }
  }
  const ready = steps.filter((s) => indegree.get(s.name) === 0).map((s) => position.get(s.name)!);
  const ordered: Step[] = [];
  while (ready.length) {
    ready.sort((a, b) => b - a); // few ready steps at a time in practice; keeps the code obvious
    const next = steps[ready.pop()!];
    ordered.push(next);
    for (const d of dependents.get(next.name)!) {
      indegree.set(d, indegree.get(d)! - 1);
      if (indegree.get(d) === 0) ready.push(position.get(d)!);
    }
  }
  if (ordered.length < steps.length) {
    onCycle(findCycle(steps.filter((s) => !ordered.includes(s))));
    return [...ordered, ...steps.filter((s) => !ordered.includes(s))];
  }
  return ordered;
}

function findCycle(remaining: Step[]): string[] {
  const byName = new Map(remaining.map((s) => [s.name, s]));
  const path: string[] = [];
  let current = remaining[0];
  while (current && !path.includes(current.name)) {
    path.push(current.name);
    current = byName.get(current.after.find((a) => byName.has(a)) ?? '')!;
  }
  return current ? [...path.slice(path.indexOf(current.name)), current.name] : path;
}
