/**
 * The Pipeline Graph's layout (dagre) in Node: a 200-step plan laid out from scratch, and
 * again after one edit (a retag adds an edge), as the webview does on every re-plan. The
 * drawing part is timed in the browser by test/e2e/ui/graph.ui.test.ts.
 */
import type { GraphEdge, GraphNode, PipelineGraph } from '../../src/core/plan/graph';
import { layoutGraph } from '../../src/webview/graph/layout';
import { median, table } from './measure';

/** A chain of steps where every third also reads the value three steps back (side edges cross ranks). */
function bigGraph(steps: number, extraEdge = false): PipelineGraph {
  const nodes: GraphNode[] = [];
  const edges: GraphEdge[] = [];
  for (let i = 0; i < steps; i++) {
    nodes.push({ id: `s${i}`, label: `s${i}`, cells: [{ index: i + 1, id: `c${i}` }], params: [], metrics: [], problems: [] });
    if (i > 0) edges.push({ from: `s${i - 1}`, to: `s${i}`, kind: 'data', values: [`v${i - 1}`] });
    if (i % 3 === 0 && i > 3) edges.push({ from: `s${i - 3}`, to: `s${i}`, kind: 'data', values: [`v${i - 3}`] });
  }
  if (extraEdge) edges.push({ from: 's0', to: `s${steps - 1}`, kind: 'order', values: [] });
  return { notebook: 'bench.ipynb', nodes, edges, params: {}, problems: [] };
}

function time(graph: PipelineGraph, runs: number): number {
  const ms: number[] = [];
  for (let r = 0; r < runs; r++) {
    const started = performance.now();
    layoutGraph(graph, () => ({ width: 160, height: 76 }), (text) => ({ width: 7 * text.length + 8, height: 16 }));
    ms.push(performance.now() - started);
  }
  return median(ms);
}

export async function benchGraph(print: (row: string) => void): Promise<void> {
  const rows = [['steps', 'layout (median of 7)', 'after one edit']];
  for (const steps of [20, 50, 200]) {
    time(bigGraph(steps), 2); // warm up the JIT
    rows.push([String(steps), `${time(bigGraph(steps), 7).toFixed(1)} ms`, `${time(bigGraph(steps, true), 7).toFixed(1)} ms`]);
  }
  print(table(rows));
}
