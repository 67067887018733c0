/**
 * The plan as a graph: what the CLI prints as Mermaid or DOT, the generated README draws, and
 * the Pipeline Graph webview lays out. One derivation, so the three never disagree about
 * which edges exist or what flows along them.
 */
import type { Diagnostic } from '../errors';
import type { Plan } from './model';

export interface GraphNode {
  /** The step name (a safe slug, unique in the plan). */
  id: string;
  /** The name as written in the tag, when it differs. */
  label: string;
  /** 0-based cell indexes and ids, in notebook order. */
  cells: { index: number; id: string }[];
  params: string[];
  metrics: string[];
  /** Error and warning messages of the step (info notes are left out: they are not problems). */
  problems: { severity: 'error' | 'warning'; message: string; cell?: number; line?: number }[];
}

export interface GraphEdge {
  from: string;
  to: string;
  /** `data`: values flow along it (named in `values`); `order`: an `after:` tag, nothing flows. */
  kind: 'data' | 'order';
  values: string[];
}

export interface PipelineGraph {
  notebook: string;
  nodes: GraphNode[];
  edges: GraphEdge[];
  params: Record<string, unknown>;
  /** Plan-level errors and warnings (not tied to one step). */
  problems: GraphNode['problems'];
}

export function pipelineGraph(plan: Plan): PipelineGraph {
  const nodes = plan.steps.map((s) => ({
    id: s.name,
    label: s.label,
    cells: s.cells.map((c) => ({ index: c.index, id: c.id })),
    params: [...s.params],
    metrics: [...s.metrics],
    problems: problemsOf(s.diagnostics),
  }));
  const edges: GraphEdge[] = [];
  for (const s of plan.steps) {
    const flowing = new Map<string, string[]>();
    for (const input of s.inputs) flowing.set(input.from, [...(flowing.get(input.from) ?? []), input.name]);
    // `after` lists every predecessor, data or not (the planner adds the producers to it); keep its order.
    for (const from of s.after) {
      const values = flowing.get(from);
      edges.push({ from, to: s.name, kind: values ? 'data' : 'order', values: values ?? [] });
    }
  }
  return { notebook: plan.notebook, nodes, edges, params: plan.params, problems: problemsOf(plan.diagnostics) };
}

function problemsOf(diagnostics: Diagnostic[]): GraphNode['problems'] {
  return diagnostics
    .filter((d): d is Diagnostic & { severity: 'error' | 'warning' } => d.severity !== 'info')
    .map((d) => ({ severity: d.severity, message: d.message, cell: d.cell, line: d.line }));
}

/** `cells 1–3, 5` (1-based, as Problems and the plan view number them). */
export function cellRanges(cells: readonly { index: number }[]): string {
  const numbers = [...new Set(cells.map((c) => c.index + 1))].sort((a, b) => a - b);
  const parts: string[] = [];
  for (let i = 0; i < numbers.length; ) {
    let j = i;
    while (j + 1 < numbers.length && numbers[j + 1] === numbers[j] + 1) j++;
    parts.push(j === i ? `${numbers[i]}` : `${numbers[i]}–${numbers[j]}`);
    i = j + 1;
  }
  if (!parts.length) return 'no cells';
  return `${numbers.length === 1 ? 'cell' : 'cells'} ${parts.join(', ')}`;
}

/** The lines under a node's name: its cells, then what it reads and reports. */
export function nodeDetails(node: GraphNode): string[] {
  const lines = [cellRanges(node.cells)];
  if (node.params.length) lines.push(`params: ${node.params.join(', ')}`);
  if (node.metrics.length) lines.push(`metrics: ${node.metrics.join(', ')}`);
  return lines;
}

/**
 * Mermaid flowchart source. Node ids get a `step_` prefix because Mermaid reserves words a
 * step may well be called (`end`, `style`, `class`, `click`, `graph`), and an id starting with
 * `o` or `x` right after `--` would turn the arrow into a circle or cross head.
 */
export function graphMermaid(graph: PipelineGraph): string {
  const id = (step: string) => `step_${step}`;
  const lines = ['flowchart TD'];
  for (const n of graph.nodes) {
    const text = [`<b>${mermaidText(n.id)}</b>`, ...nodeDetails(n).map(mermaidText)].join('<br/>');
    lines.push(`  ${id(n.id)}["${text}"]`);
  }
  for (const e of graph.edges) {
    const arrow = e.kind === 'data' ? (e.values.length ? `-->|"${mermaidText(e.values.join(', '))}"|` : '-->') : '-.->|"after"|';
    lines.push(`  ${id(e.from)} ${arrow} ${id(e.to)}`);
  }
  const failing = graph.nodes.filter((n) => n.problems.some((p) => p.severity === 'error'));
  if (failing.length) {
    lines.push('  classDef error stroke:#d32f2f,stroke-width:2px');
    lines.push(`  class ${failing.map((n) => id(n.id)).join(',')} error`);
  }
  return lines.join('\n') + '\n';
}

/** Inside a quoted Mermaid label only `"` and `#` (entity syntax) and markup need escaping. */
function mermaidText(s: string): string {
  return s.replace(/#/g, '#35;').replace(/"/g, '#quot;').replace(/</g, '#lt;').replace(/>/g, '#gt;');
}

/** Graphviz DOT source; `dot -Tsvg` draws it. */
export function graphDot(graph: PipelineGraph): string {
  const lines = [
    'digraph pipeline {',
    '  rankdir=TB;',
    '  node [shape=box, style=rounded, fontname="Helvetica"];',
    '  edge [fontname="Helvetica", fontsize=10];',
  ];
  for (const n of graph.nodes) {
    const attrs = [`label=${dotId([n.id, ...nodeDetails(n)].join('\n'))}`];
    if (n.problems.some((p) => p.severity === 'error')) attrs.push('color="#d32f2f"', 'penwidth=2');
    lines.push(`  ${dotId(n.id)} [${attrs.join(', ')}];`);
  }
  for (const e of graph.edges) {
    const attrs = e.kind === 'data' ? (e.values.length ? [`label=${dotId(e.values.join(', '))}`] : []) : ['style=dashed', 'label="after"'];
    lines.push(`  ${dotId(e.from)} -> ${dotId(e.to)}${attrs.length ? ` [${attrs.join(', ')}]` : ''};`);
  }
  lines.push('}');
  return lines.join('\n') + '\n';
}

/** A quoted DOT identifier: quotes and backslashes escaped, newlines as `\n` (centred lines). */
function dotId(s: string): string {
  return `"${s.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`;
}
