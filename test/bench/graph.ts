/**
 * The Pipeline Graph's layout (dagre) in Node, for a 200-step plan: from scratch (opening the
 * graph), and the re-plans after one cell edit as the webview does them, from the layout on
 * screen: an edit that adds an arrow (a new dependency), one that adds a step, and one that
 * only renames a value (same shape). "no reuse" is what every re-plan cost before layouts were
 * reused. The drawing part is timed in the browser by test/e2e/ui/graph.ui.test.ts.
 */
import type { GraphEdge, GraphNode, PipelineGraph } from '../../src/core/plan/graph';
import { layoutGraph, type GraphLayout } from '../../src/webview/graph/layout';
import { median, table } from './measure';

type Edit = 'none' | 'edge' | 'step' | 'rename';

/** A chain of steps where every third also reads the value three steps back (side edges cross ranks). */
export function bigGraph(steps: number, edit: Edit = 'none'): PipelineGraph {
  const nodes: GraphNode[] = [];
  const edges: GraphEdge[] = [];
  for (let i = 0; i < steps; i++) {
    nodes.push({ id: `s${i}`, label: `s${i}`, cells: [{ index: i + 1, id: `c${i}` }], params: [], metrics: [], problems: [] });
    if (i > 0) edges.push({ from: `s${i - 1}`, to: `s${i}`, kind: 'data', values: [edit === 'rename' && i === steps / 2 ? `renamed${i - 1}` : `v${i - 1}`] });
    if (i % 3 === 0 && i > 3) edges.push({ from: `s${i - 3}`, to: `s${i}`, kind: 'data', values: [`v${i - 3}`] });
  }
  if (edit === 'edge') edges.push({ from: 's0', to: `s${steps - 1}`, kind: 'order', values: [] });
  if (edit === 'step') {
    nodes.push({ id: 'extra', label: 'extra', cells: [{ index: steps + 1, id: 'cx' }], params: [], metrics: [], problems: [] });
    edges.push({ from: `s${steps / 2}`, to: 'extra', kind: 'data', values: ['v'] });
  }
  return { notebook: 'bench.ipynb', nodes, edges, params: {}, problems: [] };
}

function lay(graph: PipelineGraph, previous?: GraphLayout): GraphLayout {
  return layoutGraph(graph, () => ({ width: 160, height: 76 }), (text) => ({ width: 7 * text.length + 8, height: 16 }), previous);
}

function time(graph: PipelineGraph, runs: number, previous?: GraphLayout): number {
  const ms: number[] = [];
  for (let r = 0; r < runs; r++) {
    const started = performance.now();
    lay(graph, previous);
    ms.push(performance.now() - started);
  }
  return median(ms);
}

export async function benchGraph(print: (row: string) => void): Promise<void> {
  const rows = [['steps', 'from scratch', 'edit: +arrow', 'edit: +step', 'edit: rename', '+arrow, no reuse']];
  for (const steps of [20, 50, 200]) {
    time(bigGraph(steps), 2); // warm up the JIT
    const shown = lay(bigGraph(steps));
    const ms = (n: number) => `${n.toFixed(1)} ms`;
    rows.push([
      String(steps),
      ms(time(bigGraph(steps), 7)),
      ms(time(bigGraph(steps, 'edge'), 7, shown)),
      ms(time(bigGraph(steps, 'step'), 7, shown)),
      ms(time(bigGraph(steps, 'rename'), 7, shown)),
      ms(time(bigGraph(steps, 'edge'), 7)),
    ]);
  }
  print(table(rows));
  print('  (median of 7; an edit is laid out from the layout on screen before it, as the webview does)');
}
