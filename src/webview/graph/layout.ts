/**
 * Places the pipeline graph with dagre (layered, Sugiyama style). Pure: the webview measures
 * text and draws; the benchmark runs this in Node.
 *
 * Why dagre and not elkjs: a pipeline is a small DAG read top to bottom, which is exactly
 * dagre's layered layout, edge labels included (it reserves room for them between ranks).
 * dagre is synchronous and about 60 KB minified in the webview bundle, where elkjs is 1.5 MB
 * of compiled Java that wants a Web Worker (a separate script, and a worker-src in the CSP)
 * to stay off the UI thread; for the 200-step case dagre lays out in tens of milliseconds.
 */
import { graphlib, layout } from '@dagrejs/dagre';
import type { GraphEdge, PipelineGraph } from '../../core/plan/graph';

export interface Size {
  width: number;
  height: number;
}

export interface Point {
  x: number;
  y: number;
}

/** Centre coordinates, as dagre gives them. */
export interface PlacedNode extends Point, Size {
  id: string;
}

export interface PlacedEdge {
  edge: GraphEdge;
  points: Point[];
  /** Centre of the label box, when the edge has a label. */
  label?: Point & Size & { text: string };
}

export interface GraphLayout extends Size {
  nodes: PlacedNode[];
  edges: PlacedEdge[];
}

/** What an edge says: the values that flow, or `after` for an order-only edge. */
export function edgeText(edge: GraphEdge): string {
  return edge.kind === 'order' ? 'after' : edge.values.join(', ');
}

export function layoutGraph(graph: PipelineGraph, nodeSize: (id: string) => Size, labelSize: (text: string) => Size): GraphLayout {
  const g = new graphlib.Graph({ directed: true, multigraph: false });
  // Edge labels are not given to dagre: it would put a dummy rank for them between every two
  // ranks, which doubles the work (200 steps: about 180 ms instead of 100). The ranks are set
  // far enough apart instead, and each label sits at the middle of its route.
  g.setGraph({ rankdir: 'TB', nodesep: 36, ranksep: 56, edgesep: 16, marginx: 16, marginy: 16 });
  g.setDefaultEdgeLabel(() => ({}));
  for (const n of graph.nodes) g.setNode(n.id, { ...nodeSize(n.id) });
  const known = new Set(graph.nodes.map((n) => n.id));
  const edges = graph.edges.filter((e) => known.has(e.from) && known.has(e.to));
  for (const e of edges) g.setEdge(e.from, e.to, {});
  layout(g);
  const nodes = graph.nodes.map((n) => {
    const v = g.node(n.id);
    return { id: n.id, x: v.x, y: v.y, width: v.width, height: v.height };
  });
  const placed = edges.map((e) => {
    const points = (g.edge(e.from, e.to) as { points: Point[] }).points.map((p) => ({ x: p.x, y: p.y }));
    const text = edgeText(e);
    return { edge: e, points, label: text ? { ...midpoint(points), ...labelSize(text), text } : undefined };
  });
  const { width = 0, height = 0 } = g.graph() as { width?: number; height?: number };
  return { nodes, edges: placed, width, height };
}

/** The point halfway along a polyline (by length). */
export function midpoint(points: readonly Point[]): Point {
  const lengths = points.slice(1).map((p, i) => Math.hypot(p.x - points[i].x, p.y - points[i].y));
  let rest = lengths.reduce((a, b) => a + b, 0) / 2;
  for (let i = 0; i < lengths.length; i++) {
    if (rest <= lengths[i] && lengths[i] > 0) {
      const t = rest / lengths[i];
      return { x: points[i].x + (points[i + 1].x - points[i].x) * t, y: points[i].y + (points[i + 1].y - points[i].y) * t };
    }
    rest -= lengths[i];
  }
  return points[0];
}
