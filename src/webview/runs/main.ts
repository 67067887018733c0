/// <reference lib="dom" />
/**
 * Compare Runs: a notebook's runs across versions as a table (sort by a header, filter, choose
 * columns), the differences between two ticked runs, and a chart of one metric across runs,
 * coloured by version.
 *
 * Why Chart.js and not Vega-Lite: one small chart type is needed, and Chart.js draws it with
 * plain canvas calls. Vega compiles expressions with `new Function` unless its separate
 * interpreter is wired in (our CSP has no 'unsafe-eval'), and weighs several times more.
 */
import { CategoryScale, Chart, Legend, LinearScale, LineController, LineElement, PointElement, Tooltip } from 'chart.js';
import { cellText, Column, diffRuns, RunRow, runColumns, runsCsv } from '../../core/lineage/compare';
import { setupPage, vscodeApi } from '../page';
import type { FromRuns, RunsState, ToRuns } from '../protocol';

Chart.register(LineController, LineElement, PointElement, LinearScale, CategoryScale, Tooltip, Legend);

const api = vscodeApi<FromRuns, RunsState>();
let state: RunsState = api.getState() ?? { notebookUri: document.body.dataset.notebook ?? '' };
let rows: RunRow[] = [];
let chart: Chart | undefined;

setupPage(`
body { font-family: var(--vscode-font-family); font-size: var(--vscode-font-size); color: var(--vscode-foreground); background: var(--vscode-editor-background); padding: 8px 16px; }
#toolbar { display: flex; gap: 8px; align-items: center; flex-wrap: wrap; margin-bottom: 8px; }
input, select { background: var(--vscode-input-background); color: var(--vscode-input-foreground); border: 1px solid var(--vscode-input-border, transparent); padding: 3px 6px; font: inherit; }
input:focus, select:focus, button:focus-visible { outline: 1px solid var(--vscode-focusBorder); }
button { background: var(--vscode-button-secondaryBackground); color: var(--vscode-button-secondaryForeground); border: 1px solid var(--vscode-button-border, transparent); padding: 3px 8px; cursor: pointer; font: inherit; }
#columns { display: flex; gap: 10px; flex-wrap: wrap; margin-bottom: 8px; }
#columns[hidden] { display: none; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; padding: 3px 8px; border-bottom: 1px solid var(--vscode-editorWidget-border, var(--vscode-panel-border)); white-space: nowrap; }
th { cursor: pointer; user-select: none; color: var(--vscode-descriptionForeground); font-weight: 600; }
th[aria-sort="ascending"]::after { content: " ▲"; }
th[aria-sort="descending"]::after { content: " ▼"; }
tr.selected td { background: var(--vscode-list-activeSelectionBackground); color: var(--vscode-list-activeSelectionForeground); }
td.status-failed { color: var(--vscode-errorForeground); }
h2 { font-size: 1.1em; margin: 16px 0 6px; }
.muted { color: var(--vscode-descriptionForeground); }
#chart-box { position: relative; height: 260px; max-width: 900px; }
`);

document.body.innerHTML = `
  <div id="toolbar">
    <input id="filter" type="search" placeholder="Filter runs (any text, e.g. failed)" aria-label="Filter runs" size="32">
    <button id="choose-columns" aria-expanded="false">Columns…</button>
    <button id="export">Export CSV</button>
    <span id="count" class="muted" aria-live="polite"></span>
  </div>
  <div id="columns" hidden role="group" aria-label="Columns shown"></div>
  <table id="runs"><thead></thead><tbody></tbody></table>
  <h2>Difference</h2>
  <div id="diff" class="muted">Tick two runs to compare them.</div>
  <h2>Metric across runs</h2>
  <div><select id="metric" aria-label="Metric to chart"></select></div>
  <div id="chart-box"><canvas id="chart" role="img" aria-label="Metric chart"></canvas></div>`;

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const filterInput = $<HTMLInputElement>('filter');
filterInput.value = state.filter ?? '';

function save(patch: Partial<RunsState>): void {
  state = { ...state, ...patch };
  api.setState(state);
}

function visibleColumns(all: Column[]): Column[] {
  const hidden = new Set(state.hidden ?? []);
  return all.filter((c) => !hidden.has(c.key));
}

function filtered(all: Column[]): RunRow[] {
  const q = (state.filter ?? '').trim().toLowerCase();
  const matching = q ? rows.filter((r) => all.some((c) => cellText(c.value(r)).toLowerCase().includes(q))) : [...rows];
  const sort = state.sort;
  const column = sort && all.find((c) => c.key === sort.column);
  if (column) {
    matching.sort((a, b) => {
      const x = column.value(a);
      const y = column.value(b);
      const order = typeof x === 'number' && typeof y === 'number' ? x - y : cellText(x).localeCompare(cellText(y), undefined, { numeric: true });
      return sort!.descending ? -order : order;
    });
  }
  return matching;
}

function render(): void {
  const all = runColumns(rows);
  const columns = visibleColumns(all);
  const shown = filtered(all);
  const selected = new Set(state.selected ?? []);
  const head = document.createElement('tr');
  head.appendChild(document.createElement('th')).textContent = '';
  for (const c of columns) {
    const th = document.createElement('th');
    th.textContent = c.title;
    th.dataset.column = c.key;
    th.tabIndex = 0;
    th.title = c.key.startsWith('param:') ? 'parameter' : c.key.startsWith('metric:') ? 'metric' : '';
    if (state.sort?.column === c.key) th.setAttribute('aria-sort', state.sort.descending ? 'descending' : 'ascending');
    const sortBy = () => {
      save({ sort: { column: c.key, descending: state.sort?.column === c.key ? !state.sort.descending : false } });
      render();
    };
    th.addEventListener('click', sortBy);
    th.addEventListener('keydown', (e) => (e.key === 'Enter' || e.key === ' ') && sortBy());
    head.appendChild(th);
  }
  $('runs').querySelector('thead')!.replaceChildren(head);
  const body = shown.map((r) => {
    const tr = document.createElement('tr');
    tr.dataset.run = r.runId;
    tr.classList.toggle('selected', selected.has(r.id));
    const box = document.createElement('input');
    box.type = 'checkbox';
    box.checked = selected.has(r.id);
    box.setAttribute('aria-label', `compare run ${r.runId}`);
    box.addEventListener('change', () => toggle(r.id, box.checked));
    tr.appendChild(document.createElement('td')).appendChild(box);
    for (const c of columns) {
      const td = tr.appendChild(document.createElement('td'));
      td.textContent = cellText(c.value(r));
      if (c.key === 'status') td.className = `status-${r.status}`;
    }
    return tr;
  });
  $('runs').querySelector('tbody')!.replaceChildren(...body);
  $('count').textContent = `${shown.length} of ${rows.length} run${rows.length === 1 ? '' : 's'}`;
  renderColumnChooser(all);
  renderDiff();
  renderChart(all);
}

function toggle(id: string, on: boolean): void {
  let selected = (state.selected ?? []).filter((s) => s !== id);
  // Two runs are compared: ticking a third lets go of the one ticked first.
  if (on) selected = [...selected, id].slice(-2);
  save({ selected });
  render();
}

function renderColumnChooser(all: Column[]): void {
  const hidden = new Set(state.hidden ?? []);
  $('columns').replaceChildren(
    ...all.map((c) => {
      const label = document.createElement('label');
      const box = document.createElement('input');
      box.type = 'checkbox';
      box.checked = !hidden.has(c.key);
      box.dataset.column = c.key;
      box.addEventListener('change', () => {
        save({ hidden: box.checked ? [...hidden].filter((h) => h !== c.key) : [...hidden, c.key] });
        render();
      });
      label.append(box, ` ${c.title}`);
      return label;
    }),
  );
}

function renderDiff(): void {
  const picked = (state.selected ?? []).map((id) => rows.find((r) => r.id === id)).filter((r): r is RunRow => !!r);
  const diff = $('diff');
  if (picked.length !== 2) {
    diff.className = 'muted';
    diff.textContent = 'Tick two runs to compare them.';
    return;
  }
  const [a, b] = picked.sort((x, y) => x.ts.localeCompare(y.ts));
  const changes = diffRuns(a, b);
  diff.className = '';
  if (!changes.length) {
    diff.textContent = `Runs ${a.runId} and ${b.runId} have the same parameters, metrics and artifacts.`;
    return;
  }
  const table = document.createElement('table');
  const head = table.appendChild(document.createElement('tr'));
  for (const t of ['', '', a.runId, b.runId]) head.appendChild(document.createElement('th')).textContent = t;
  for (const c of changes) {
    const tr = table.appendChild(document.createElement('tr'));
    tr.dataset.kind = c.kind;
    tr.dataset.name = c.name;
    for (const t of [c.kind, c.name, cellText(c.a) || '—', cellText(c.b) || '—']) tr.appendChild(document.createElement('td')).textContent = t;
  }
  diff.replaceChildren(table);
}

const PALETTE = ['--vscode-charts-blue', '--vscode-charts-orange', '--vscode-charts-green', '--vscode-charts-purple', '--vscode-charts-red', '--vscode-charts-yellow'];

function renderChart(all: Column[]): void {
  const metrics = all.filter((c) => c.key.startsWith('metric:') && rows.some((r) => typeof c.value(r) === 'number'));
  const select = $<HTMLSelectElement>('metric');
  const current = metrics.find((m) => m.key === state.metric) ?? metrics[0];
  select.replaceChildren(...metrics.map((m) => Object.assign(document.createElement('option'), { value: m.key, textContent: m.title, selected: m === current })));
  const canvas = $<HTMLCanvasElement>('chart');
  chart?.destroy();
  chart = undefined;
  if (!current) {
    canvas.dataset.points = '0';
    return;
  }
  const style = getComputedStyle(document.body);
  const colour = (i: number) => style.getPropertyValue(PALETTE[i % PALETTE.length]).trim() || '#888';
  const ordered = [...rows].sort((a, b) => a.ts.localeCompare(b.ts));
  const versions = [...new Set(ordered.map((r) => r.version))];
  const datasets = versions.map((v, i) => ({
    label: v ? `version ${v}` : 'unknown version',
    data: ordered.flatMap((r, x) => (r.version === v && typeof current.value(r) === 'number' ? [{ x: x + 1, y: current.value(r) as number }] : [])),
    borderColor: colour(i),
    backgroundColor: colour(i),
    pointRadius: 4,
    showLine: true,
  }));
  canvas.dataset.points = String(datasets.reduce((n, d) => n + d.data.length, 0));
  const fg = style.getPropertyValue('--vscode-foreground').trim();
  const grid = style.getPropertyValue('--vscode-editorWidget-border').trim() || 'rgba(128,128,128,0.3)';
  chart = new Chart(canvas, {
    type: 'line',
    data: { datasets },
    options: {
      animation: false,
      maintainAspectRatio: false,
      parsing: false,
      scales: {
        x: { type: 'linear', title: { display: true, text: 'run (oldest first)', color: fg }, ticks: { stepSize: 1, color: fg, precision: 0 }, grid: { color: grid } },
        y: { title: { display: true, text: current.title, color: fg }, ticks: { color: fg }, grid: { color: grid } },
      },
      plugins: {
        legend: { labels: { color: fg } },
        tooltip: { callbacks: { title: (items) => ordered[(items[0]?.parsed.x ?? 1) - 1]?.runId ?? '' } },
      },
    },
  });
}

filterInput.addEventListener('input', () => {
  save({ filter: filterInput.value });
  render();
});
$('metric').addEventListener('change', () => {
  save({ metric: $<HTMLSelectElement>('metric').value });
  render();
});
$('choose-columns').addEventListener('click', () => {
  const box = $('columns');
  box.hidden = !box.hidden;
  $('choose-columns').setAttribute('aria-expanded', String(!box.hidden));
});
$('export').addEventListener('click', () => {
  const all = runColumns(rows);
  api.postMessage({ type: 'exportCsv', csv: runsCsv(filtered(all), visibleColumns(all)) });
});

window.addEventListener('message', (event: MessageEvent<ToRuns>) => {
  if (event.data.type !== 'runs') return;
  rows = event.data.rows;
  document.title = `Runs of ${event.data.notebook}`;
  render();
});

api.postMessage({ type: 'ready' });
