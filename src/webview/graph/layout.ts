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

/**
 * Lays out `graph`. With `previous` (the layout on screen before a re-plan) the result moves as
 * little as possible, and most re-plans after a cell edit skip dagre's expensive phases:
 *  - same steps, same sizes, same arrows (the edit changed a value name or nothing drawn):
 *    every position is kept and only the labels are placed again, no dagre at all;
 *  - otherwise (an arrow or a step came or went, a node grew): dagre ranks and positions, but
 *    each rank keeps its left-to-right order from `previous` instead of dagre's crossing
 *    minimisation (half of the work for 200 steps), new routes and steps slotted in beside
 *    their neighbours. The graph does not jump around under the user's eyes either.
 * A graph that changed a lot (a quarter of its steps new) is laid out from scratch.
 */
export function layoutGraph(graph: PipelineGraph, nodeSize: (id: string) => Size, labelSize: (text: string) => Size, previous?: GraphLayout): GraphLayout {
  const known = new Set(graph.nodes.map((n) => n.id));
  const edges = graph.edges.filter((e) => known.has(e.from) && known.has(e.to));
  const sizes = new Map(graph.nodes.map((n) => [n.id, nodeSize(n.id)]));
  const label = (e: GraphEdge, points: Point[]) => {
    const text = edgeText(e);
    return text ? { ...midpoint(points), ...labelSize(text), text } : undefined;
  };
  if (previous && sameShape(previous, sizes, edges)) {
    const routes = new Map(previous.edges.map((e) => [edgeKey(e.edge), e.points]));
    return {
      nodes: previous.nodes,
      edges: edges.map((e) => ({ edge: e, points: routes.get(edgeKey(e))!, label: label(e, routes.get(edgeKey(e))!) })),
      width: previous.width,
      height: previous.height,
    };
  }
  const g = new graphlib.Graph({ directed: true, multigraph: false });
  // Edge labels are not given to dagre: it would put a dummy rank for them between every two
  // ranks, which doubles the work (200 steps: about 180 ms instead of 100). The ranks are set
  // far enough apart instead, and each label sits at the middle of its route.
  g.setGraph({ rankdir: 'TB', nodesep: 36, ranksep: 56, edgesep: 16, marginx: 16, marginy: 16 });
  g.setDefaultEdgeLabel(() => ({}));
  for (const n of graph.nodes) g.setNode(n.id, { ...sizes.get(n.id)! });
  for (const e of edges) g.setEdge(e.from, e.to, {});
  const before = new Set(previous?.nodes.map((n) => n.id));
  const keep = previous && graph.nodes.filter((n) => !before.has(n.id)).length * 4 < graph.nodes.length ? previous : undefined;
  layout(g, keep ? { customOrder: (inner) => keepOrder(inner as unknown as OrderGraph, keep) } : {});
  const nodes = graph.nodes.map((n) => {
    const v = g.node(n.id);
    return { id: n.id, x: v.x, y: v.y, width: v.width, height: v.height };
  });
  const placed = edges.map((e) => {
    const points = (g.edge(e.from, e.to) as { points: Point[] }).points.map((p) => ({ x: p.x, y: p.y }));
    return { edge: e, points, label: label(e, points) };
  });
  const { width = 0, height = 0 } = g.graph() as { width?: number; height?: number };
  return { nodes, edges: placed, width, height };
}

function edgeKey(e: GraphEdge): string {
  return `${e.from}\u0000${e.to}`;
}

function sameShape(previous: GraphLayout, sizes: ReadonlyMap<string, Size>, edges: readonly GraphEdge[]): boolean {
  if (previous.nodes.length !== sizes.size || previous.edges.length !== edges.length) return false;
  for (const p of previous.nodes) {
    const size = sizes.get(p.id);
    if (!size || size.width !== p.width || size.height !== p.height) return false;
  }
  const before = new Set(previous.edges.map((e) => edgeKey(e.edge)));
  return edges.every((e) => before.has(edgeKey(e)));
}

/** The little of dagre's internal graph that ordering reads and writes. */
interface OrderGraph {
  nodes(): string[];
  node(v: string): { rank: number; order: number; dummy?: string; edgeObj?: { v: string; w: string } };
  predecessors(v: string): string[] | undefined;
  successors(v: string): string[] | undefined;
}

/**
 * Orders every rank of dagre's graph (real steps, and the dummy nodes that carry long arrows
 * through ranks) by where things were in `previous`: a step by its old x, a dummy by the old
 * route of its arrow at the same fraction of the way, and anything new by its neighbours.
 */
function keepOrder(g: OrderGraph, previous: GraphLayout): void {
  const oldX = new Map(previous.nodes.map((n) => [n.id, n.x]));
  const oldRoutes = new Map(previous.edges.map((e) => [edgeKey(e.edge), e.points.map((p) => p.x)]));
  /** The step at the end of whatever `v` is: itself, or the far end of the arrow a dummy carries. */
  const stepX = (v: string, towards: 'v' | 'w'): number | undefined => {
    const obj = g.node(v).edgeObj;
    return oldX.get(g.node(v).dummy && obj ? obj[towards] : v);
  };
  const key = (v: string): number => {
    const node = g.node(v);
    const obj = node.edgeObj;
    if (node.dummy && obj) {
      const from = g.node(obj.v).rank;
      const t = (node.rank - from) / (g.node(obj.w).rank - from);
      const route = oldRoutes.get(`${obj.v}\u0000${obj.w}`) ?? [oldX.get(obj.v), oldX.get(obj.w)].filter((x): x is number => x !== undefined);
      return route.length ? along(route, t) : Infinity;
    }
    const x = oldX.get(v);
    if (x !== undefined) return x;
    const around = [...(g.predecessors(v) ?? []).map((p) => stepX(p, 'v')), ...(g.successors(v) ?? []).map((s) => stepX(s, 'w'))].filter((x): x is number => x !== undefined);
    return around.length ? around.reduce((a, b) => a + b, 0) / around.length : Infinity;
  };
  const ranks = new Map<number, { v: string; key: number }[]>();
  for (const v of g.nodes()) {
    const rank = g.node(v).rank;
    if (!ranks.has(rank)) ranks.set(rank, []);
    ranks.get(rank)!.push({ v, key: key(v) });
  }
  for (const members of ranks.values()) {
    members.sort((a, b) => a.key - b.key || (a.v < b.v ? -1 : 1));
    members.forEach((m, i) => (g.node(m.v).order = i));
  }
}

/** The value at fraction `t` (0..1) of a sequence of evenly spaced samples. */
function along(xs: readonly number[], t: number): number {
  const at = Math.min(Math.max(t, 0), 1) * (xs.length - 1);
  const i = Math.floor(at);
  return i >= xs.length - 1 ? xs[xs.length - 1] : xs[i] + (xs[i + 1] - xs[i]) * (at - i);
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
