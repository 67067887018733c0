/// <reference lib="dom" />
/**
 * The Pipeline Graph webview: lays out the plan's graph (dagre), draws it as SVG, and talks to
 * the extension only through the messages in ../protocol. Zoom, position and selection live
 * in the webview state, so hiding the tab or reloading the window keeps them.
 */
import { nodeDetails, type GraphNode, type PipelineGraph } from '../../core/plan/graph';
import type { StepRunView } from '../../core/plan/runProgress';
import type { FromGraph, GraphState, RunOverlay, ToGraph, Viewport } from '../protocol';
import { setupPage, vscodeApi } from '../page';
import { edgeText, layoutGraph, type GraphLayout, type PlacedNode, type Size } from './layout';
import { PAGE_CSS, SVG_CSS, THEME_VARIABLES } from './styles';

const api = vscodeApi<FromGraph, GraphState>();
const SVG = 'http://www.w3.org/2000/svg';
const PAD_X = 10;
const LINE = 16;

setupPage(PAGE_CSS);
document.body.innerHTML = `
  <div id="toolbar" role="toolbar" aria-label="Graph">
    <button id="fit" title="Fit the graph in the view (0)">Fit</button>
    <button id="zoom-in" title="Zoom in (+)" aria-label="Zoom in">+</button>
    <button id="zoom-out" title="Zoom out (-)" aria-label="Zoom out">−</button>
    <button id="export" title="Save the graph as an SVG file">Export SVG</button>
    <button id="problems" hidden></button>
    <span id="readonly" class="badge" hidden title="Restricted Mode: the graph is read-only; building and running need a trusted workspace">Restricted Mode</span>
    <span id="status" aria-live="polite"></span>
  </div>
  <svg class="pipeline" id="canvas" role="application" aria-label="Pipeline graph: arrow keys move between steps, Enter opens the step's first cell">
    <defs>
      <marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse">
        <path class="arrowhead" d="M 0 0 L 10 5 L 0 10 z"></path>
      </marker>
    </defs>
    <g id="viewport"></g>
  </svg>
  <div id="message" role="alert"></div>`;

const canvas = document.getElementById('canvas') as unknown as SVGSVGElement;
const viewportGroup = document.getElementById('viewport') as unknown as SVGGElement;
const statusText = document.getElementById('status')!;
const problemsButton = document.getElementById('problems') as HTMLButtonElement;
const message = document.getElementById('message')!;

let state: GraphState = api.getState() ?? { notebookUri: document.body.dataset.notebook ?? '' };
let graph: PipelineGraph | undefined;
let placed: GraphLayout | undefined;
let run: RunOverlay | undefined;
let revision = 0;
let view: Viewport = state.viewport ?? { x: 0, y: 0, scale: 1 };

// ---- measuring and drawing ----

const measureContext = document.createElement('canvas').getContext('2d')!;
const fontFamily = getComputedStyle(document.body).fontFamily;
/**
 * Widths by font and text. A re-plan measures every node again, and switching the canvas font
 * costs more than the measuring: with this cache an edit measures only the texts it changed.
 */
const widths = new Map<string, number>();
function textWidth(text: string, font: string): number {
  const key = `${font}\u0000${text}`;
  let width = widths.get(key);
  if (width === undefined) {
    const spec = `${font} ${fontFamily}`;
    if (measureContext.font !== spec) measureContext.font = spec;
    width = measureContext.measureText(text).width;
    if (widths.size > 10_000) widths.clear(); // texts of graphs long gone
    widths.set(key, width);
  }
  return width;
}

function statusLine(view: StepRunView | undefined): string {
  if (!view) return '';
  const parts: string[] = [{ queued: '○ queued', running: '◌ running…', done: '✓ done', failed: '✗ failed', skipped: '– skipped' }[view.state]];
  if (view.seconds !== undefined) parts.push(`${view.seconds < 10 ? view.seconds.toFixed(2) : view.seconds.toFixed(1)} s`);
  if (view.outputBytes !== undefined) parts.push(formatBytes(view.outputBytes));
  return parts.join(' · ');
}

function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KB`;
  return `${(n / 1024 / 1024).toFixed(1)} MB`;
}

function nodeLines(node: GraphNode): { text: string; cls: string }[] {
  const lines = nodeDetails(node).map((text) => ({ text, cls: 'detail' }));
  const firstError = node.problems.find((p) => p.severity === 'error') ?? node.problems[0];
  if (firstError) lines.push({ text: truncate(`${node.problems.length > 1 ? `${node.problems.length} problems: ` : ''}${firstError.message}`, 48), cls: 'problem' });
  return lines;
}

function truncate(s: string, n: number): string {
  return s.length > n ? `${s.slice(0, n - 1)}…` : s;
}

/** Room for every line, and always for the run status line, so a run never moves the nodes. */
function nodeSize(node: GraphNode): Size {
  const widths = [textWidth(node.id, '600 13px'), ...nodeLines(node).map((l) => textWidth(l.text, '12px')), textWidth('◌ running… · 00.00 s · 000.0 KB', '11px')];
  return { width: Math.max(120, Math.ceil(Math.max(...widths)) + 2 * PAD_X), height: 10 + 18 + LINE * (nodeLines(node).length + 1) + 6 };
}

function el<K extends keyof SVGElementTagNameMap>(tag: K, attrs: Record<string, string | number>, parent?: Element): SVGElementTagNameMap[K] {
  const e = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
  parent?.appendChild(e);
  return e;
}

function pathOf(points: { x: number; y: number }[]): string {
  // Quadratic curves through the midpoints: smooth bends without leaving dagre's route.
  let d = `M ${points[0].x} ${points[0].y}`;
  for (let i = 1; i < points.length - 1; i++) {
    const mid = { x: (points[i].x + points[i + 1].x) / 2, y: (points[i].y + points[i + 1].y) / 2 };
    d += ` Q ${points[i].x} ${points[i].y} ${i === points.length - 2 ? `${points[i + 1].x} ${points[i + 1].y}` : `${mid.x} ${mid.y}`}`;
  }
  if (points.length === 2) d += ` L ${points[1].x} ${points[1].y}`;
  return d;
}

/** What the drawing depends on: most edits inside a cell change none of it, and then nothing is laid out again. */
let drawnKey = '';

function render(readOnly: boolean): void {
  if (!graph) return;
  const t0 = performance.now();
  const key = JSON.stringify([graph.nodes, graph.edges, graph.problems, readOnly]);
  if (key === drawnKey && placed) {
    api.postMessage({ type: 'rendered', revision, nodes: graph.nodes.length, edges: placed.edges.length, layoutMs: 0, renderMs: performance.now() - t0 });
    return;
  }
  drawnKey = key;
  const byId = new Map(graph.nodes.map((n) => [n.id, n]));
  // From the layout on screen: a re-plan moves as little as it can, and costs less (see layoutGraph).
  placed = layoutGraph(graph, (id) => nodeSize(byId.get(id)!), (text) => ({ width: textWidth(text, '11px') + 8, height: 16 }), placed);
  const t1 = performance.now();
  const edges = el('g', { class: 'edges' });
  for (const e of placed.edges) {
    el('path', { class: `edge ${e.edge.kind}`, d: pathOf(e.points), 'marker-end': 'url(#arrow)', 'data-from': e.edge.from, 'data-to': e.edge.to, 'data-label': edgeText(e.edge) }, edges);
    if (e.label) {
      const g = el('g', { class: 'edge-label', transform: `translate(${e.label.x - e.label.width / 2}, ${e.label.y - e.label.height / 2})` }, edges);
      el('rect', { width: e.label.width, height: e.label.height, rx: 3 }, g);
      el('text', { x: 4, y: 12 }, g).textContent = e.label.text;
    }
  }
  const nodes = el('g', { class: 'nodes' });
  for (const p of placed.nodes) drawNode(nodes, byId.get(p.id)!, p);
  viewportGroup.replaceChildren(edges, nodes);
  applyRun();
  applySelection();
  const errors = graph.nodes.reduce((n, s) => n + s.problems.length, 0) + graph.problems.length;
  problemsButton.hidden = errors === 0;
  problemsButton.textContent = `⚠ ${errors} problem${errors === 1 ? '' : 's'}`;
  document.getElementById('readonly')!.hidden = !readOnly;
  statusText.textContent = `${graph.nodes.length} step${graph.nodes.length === 1 ? '' : 's'}, ${graph.edges.length} edge${graph.edges.length === 1 ? '' : 's'}`;
  if (!state.viewport) fit();
  else applyViewport();
  const t2 = performance.now();
  // Also on the element, where the UI tests read them.
  canvas.dataset.revision = String(revision);
  canvas.dataset.layoutMs = (t1 - t0).toFixed(1);
  canvas.dataset.renderMs = (t2 - t1).toFixed(1);
  api.postMessage({ type: 'rendered', revision, nodes: graph.nodes.length, edges: placed.edges.length, layoutMs: t1 - t0, renderMs: t2 - t1 });
}

function drawNode(parent: SVGGElement, node: GraphNode, p: PlacedNode): void {
  const g = el('g', {
    class: `node${node.problems.some((x) => x.severity === 'error') ? ' has-error' : ''}`,
    transform: `translate(${p.x - p.width / 2}, ${p.y - p.height / 2})`,
    'data-step': node.id,
    tabindex: -1,
    role: 'button',
  }, parent);
  el('rect', { width: p.width, height: p.height, rx: 6 }, g);
  el('text', { class: 'title', x: PAD_X, y: 22 }, g).textContent = node.id;
  const lines = nodeLines(node);
  lines.forEach((l, i) => (el('text', { class: l.cls, x: PAD_X, y: 22 + LINE * (i + 1) }, g).textContent = l.text));
  el('text', { class: 'status', x: PAD_X, y: 22 + LINE * (lines.length + 1) }, g);
  if (node.problems.length) el('title', {}, g).textContent = node.problems.map((x) => `${x.severity}: ${x.message}`).join('\n');
  g.addEventListener('click', () => choose(node.id, true));
}

function nodeElement(step: string | undefined): SVGGElement | undefined {
  if (!step) return undefined;
  return (viewportGroup.querySelector(`g.node[data-step="${CSS.escape(step)}"]`) as SVGGElement | null) ?? undefined;
}

function applyRun(): void {
  for (const g of viewportGroup.querySelectorAll<SVGGElement>('g.node')) {
    const view = run?.steps[g.dataset.step ?? ''];
    for (const c of [...g.classList]) if (c.startsWith('state-')) g.classList.remove(c);
    if (view) g.classList.add(`state-${view.state}`);
    g.querySelector('.status')!.textContent = statusLine(view);
    const label = [`step ${g.dataset.step}`, ...[...g.querySelectorAll('.detail')].map((t) => t.textContent), statusLine(view)].filter(Boolean).join(', ');
    g.setAttribute('aria-label', label);
    if (view?.error) {
      const title = g.querySelector<SVGTitleElement>('title') ?? el('title', {}, g);
      title.textContent = view.error;
    }
  }
}

function applySelection(): void {
  for (const g of viewportGroup.querySelectorAll<SVGGElement>('g.node')) {
    const on = g.dataset.step === state.selected;
    g.classList.toggle('selected', on);
    g.setAttribute('aria-pressed', String(on));
  }
  // Roving tabindex: Tab enters the graph at the selected (or first) node.
  const focusable = nodeElement(state.selected) ?? viewportGroup.querySelector<SVGGElement>('g.node') ?? undefined;
  for (const g of viewportGroup.querySelectorAll<SVGGElement>('g.node')) g.setAttribute('tabindex', g === focusable ? '0' : '-1');
}

function choose(step: string, reveal: boolean): void {
  state = { ...state, selected: step };
  api.setState(state);
  applySelection();
  nodeElement(step)?.focus();
  if (reveal) api.postMessage({ type: 'reveal', step });
}

// ---- pan, zoom, fit ----

function applyViewport(): void {
  viewportGroup.setAttribute('transform', `translate(${view.x}, ${view.y}) scale(${view.scale})`);
  state = { ...state, viewport: view };
  api.setState(state);
}

function fit(): void {
  if (!placed) return;
  const box = canvas.getBoundingClientRect();
  const top = 40; // below the toolbar
  const scale = Math.min(1.25, (box.width - 16) / Math.max(placed.width, 1), (box.height - top - 8) / Math.max(placed.height, 1));
  view = { scale, x: (box.width - placed.width * scale) / 2, y: top + Math.max(0, (box.height - top - placed.height * scale) / 2) };
  applyViewport();
}

function zoom(factor: number, at?: { x: number; y: number }): void {
  const box = canvas.getBoundingClientRect();
  const c = at ?? { x: box.width / 2, y: box.height / 2 };
  const scale = Math.min(4, Math.max(0.1, view.scale * factor));
  const k = scale / view.scale;
  view = { scale, x: c.x - (c.x - view.x) * k, y: c.y - (c.y - view.y) * k };
  applyViewport();
}

let drag: { x: number; y: number; vx: number; vy: number } | undefined;
canvas.addEventListener('pointerdown', (e) => {
  if ((e.target as Element).closest('g.node')) return;
  drag = { x: e.clientX, y: e.clientY, vx: view.x, vy: view.y };
  canvas.setPointerCapture(e.pointerId);
  canvas.classList.add('panning');
});
canvas.addEventListener('pointermove', (e) => {
  if (!drag) return;
  view = { ...view, x: drag.vx + e.clientX - drag.x, y: drag.vy + e.clientY - drag.y };
  applyViewport();
});
const endDrag = () => {
  drag = undefined;
  canvas.classList.remove('panning');
};
canvas.addEventListener('pointerup', endDrag);
canvas.addEventListener('pointercancel', endDrag);
canvas.addEventListener(
  'wheel',
  (e) => {
    e.preventDefault();
    const box = canvas.getBoundingClientRect();
    zoom(Math.exp(-e.deltaY * 0.0015), { x: e.clientX - box.left, y: e.clientY - box.top });
  },
  { passive: false },
);

// ---- keyboard: arrows move between nodes, Enter opens the cell ----

/**
 * The node an arrow key moves to. Ranks run down the page, so Up and Down go to the nearest
 * rank that way and Left and Right stay in the nearest rank; among those, the closest one.
 */
function neighbour(from: PlacedNode, key: string): PlacedNode | undefined {
  const dir = { ArrowUp: [0, -1], ArrowDown: [0, 1], ArrowLeft: [-1, 0], ArrowRight: [1, 0] }[key];
  if (!dir || !placed) return undefined;
  let best: { node: PlacedNode; dy: number; dx: number } | undefined;
  for (const n of placed.nodes) {
    const dx = Math.abs(n.x - from.x);
    const dy = Math.abs(n.y - from.y);
    if (n === from || (n.x - from.x) * dir[0] + (n.y - from.y) * dir[1] <= 1) continue;
    if (!best || dy < best.dy - 1 || (Math.abs(dy - best.dy) <= 1 && dx < best.dx)) best = { node: n, dy, dx };
  }
  return best?.node;
}

document.addEventListener('keydown', (e) => {
  if ((e.target as Element).closest('button')) return;
  // The node with the keyboard focus (Tab, a click) is where keys act; else the selected one.
  const at = (e.target as Element).closest<SVGGElement>('g.node')?.dataset.step ?? state.selected;
  if (e.key === '+' || e.key === '=') zoom(1.2);
  else if (e.key === '-') zoom(1 / 1.2);
  else if (e.key === '0') fit();
  else if (e.key.startsWith('Arrow') && placed) {
    const current = placed.nodes.find((n) => n.id === at) ?? placed.nodes[0];
    const next = at ? neighbour(current, e.key) : current;
    if (next) choose(next.id, false);
  } else if ((e.key === 'Enter' || e.key === ' ') && at) choose(at, true);
  else return;
  e.preventDefault();
});

// ---- export ----

/** A standalone SVG: the graph at scale 1, with the theme's current colours written in. */
function exportSvg(): string {
  const style = getComputedStyle(document.documentElement);
  const values = Object.keys(THEME_VARIABLES).map((name) => `${name}: ${style.getPropertyValue(name).trim() || 'initial'};`).join(' ');
  const clone = canvas.cloneNode(true) as SVGSVGElement;
  clone.removeAttribute('id');
  clone.setAttribute('xmlns', SVG);
  clone.setAttribute('width', String(Math.ceil(placed?.width ?? 0)));
  clone.setAttribute('height', String(Math.ceil(placed?.height ?? 0)));
  clone.setAttribute('viewBox', `0 0 ${Math.ceil(placed?.width ?? 0)} ${Math.ceil(placed?.height ?? 0)}`);
  clone.querySelector('#viewport')?.removeAttribute('transform');
  for (const n of clone.querySelectorAll('.selected')) n.classList.remove('selected');
  const css = document.createElementNS(SVG, 'style');
  css.textContent = `svg { ${values} } rect.background { fill: var(--nb-bg); }${SVG_CSS}`;
  clone.insertBefore(css, clone.firstChild);
  const background = el('rect', { class: 'background', width: '100%', height: '100%' });
  clone.insertBefore(background, clone.querySelector('#viewport'));
  return new XMLSerializer().serializeToString(clone);
}

document.getElementById('fit')!.addEventListener('click', fit);
document.getElementById('zoom-in')!.addEventListener('click', () => zoom(1.2));
document.getElementById('zoom-out')!.addEventListener('click', () => zoom(1 / 1.2));
document.getElementById('export')!.addEventListener('click', () => api.postMessage({ type: 'exportSvg', svg: exportSvg() }));
problemsButton.addEventListener('click', () => api.postMessage({ type: 'showProblems' }));

// ---- messages from the extension ----

let readOnly = false;
window.addEventListener('message', (event: MessageEvent<ToGraph>) => {
  const m = event.data;
  switch (m.type) {
    case 'graph':
      graph = m.graph;
      revision = m.revision;
      readOnly = m.readOnly;
      message.textContent = '';
      if (state.selected && !graph.nodes.some((n) => n.id === state.selected)) state = { ...state, selected: undefined };
      render(readOnly);
      break;
    case 'planFailed':
      message.textContent = m.message;
      break;
    case 'select':
      state = { ...state, selected: m.step };
      api.setState(state);
      applySelection();
      break;
    case 'run':
      run = m.run;
      applyRun();
      break;
  }
});
window.addEventListener('resize', () => {
  if (!state.viewport) fit();
});

api.postMessage({ type: 'ready' });
