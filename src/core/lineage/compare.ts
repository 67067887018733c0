/**
 * Runs side by side: a notebook's runs across its versions as table rows, the differences
 * between two of them, and the table as CSV. Pure (no Node APIs): the Compare Runs webview
 * bundles it too.
 */
import type { LineageModel } from './model';

export interface RunRow {
  /** The lineage record id. */
  id: string;
  runId: string;
  /** 1-based number of the notebook version the run belongs to (0: unknown). */
  version: number;
  ts: string;
  status: string;
  seconds?: number;
  local: boolean;
  params: Record<string, unknown>;
  metrics: Record<string, unknown>;
  /** Artifact path -> sha256. */
  artifacts: Record<string, string>;
}

export function runRows(model: LineageModel, notebook: string): RunRow[] {
  const nb = model.notebooks.get(notebook);
  if (!nb) return [];
  const runs = [...nb.versions.flatMap((v) => v.runs), ...nb.unversioned.runs];
  return runs
    .map((run) => {
      const r = run.record;
      const started = r.started ? Date.parse(r.started) : NaN;
      const finished = r.finished ? Date.parse(r.finished) : NaN;
      const seconds = Number.isFinite(finished - started) ? (finished - started) / 1000 : r.steps?.reduce((n, s) => n + (s.seconds ?? 0), 0);
      return {
        id: run.id,
        runId: r.runId,
        version: run.version ? nb.versions.indexOf(run.version) + 1 : 0,
        ts: run.ts,
        status: r.status,
        seconds,
        local: r.local,
        params: r.params ?? {},
        metrics: r.metrics ?? {},
        artifacts: Object.fromEntries((r.artifacts ?? []).map((a) => [a.path.split('/').slice(-2).join('/'), a.sha256])),
      };
    })
    .sort((a, b) => a.ts.localeCompare(b.ts));
}

export interface RunDifference {
  kind: 'param' | 'metric' | 'artifact';
  name: string;
  a: unknown;
  b: unknown;
}

/** What differs between two runs: parameters, metrics, and artifacts whose content changed. */
export function diffRuns(a: RunRow, b: RunRow): RunDifference[] {
  const out: RunDifference[] = [];
  const compare = (kind: RunDifference['kind'], x: Record<string, unknown>, y: Record<string, unknown>) => {
    for (const name of [...new Set([...Object.keys(x), ...Object.keys(y)])].sort()) {
      if (JSON.stringify(x[name]) !== JSON.stringify(y[name])) out.push({ kind, name, a: x[name], b: y[name] });
    }
  };
  compare('param', a.params, b.params);
  compare('metric', a.metrics, b.metrics);
  // Artifacts are named by run directory and file; only the file part is comparable across runs.
  const byFile = (r: RunRow) => Object.fromEntries(Object.entries(r.artifacts).map(([p, sha]) => [p.split('/').pop()!, sha.slice(0, 12)]));
  compare('artifact', byFile(a), byFile(b));
  return out;
}

export interface Column {
  key: string;
  title: string;
  value: (row: RunRow) => unknown;
}

/** The table's columns: fixed ones, then one per parameter and per metric any run has. */
export function runColumns(rows: readonly RunRow[]): Column[] {
  const names = (pick: (r: RunRow) => Record<string, unknown>) => [...new Set(rows.flatMap((r) => Object.keys(pick(r))))].sort();
  return [
    { key: 'run', title: 'run', value: (r) => r.runId },
    { key: 'version', title: 'version', value: (r) => r.version || '' },
    { key: 'when', title: 'when', value: (r) => r.ts },
    { key: 'status', title: 'status', value: (r) => r.status },
    { key: 'seconds', title: 'seconds', value: (r) => (r.seconds === undefined ? '' : Math.round(r.seconds * 1000) / 1000) },
    { key: 'where', title: 'where', value: (r) => (r.local ? 'local' : 'container') },
    ...names((r) => r.params).map((n) => ({ key: `param:${n}`, title: n, value: (r: RunRow) => r.params[n] })),
    ...names((r) => r.metrics).map((n) => ({ key: `metric:${n}`, title: n, value: (r: RunRow) => r.metrics[n] })),
  ];
}

/** A cell as text: strings as they are, everything else as JSON, absent as empty. */
export function cellText(v: unknown): string {
  if (v === undefined || v === null) return '';
  return typeof v === 'string' ? v : typeof v === 'number' || typeof v === 'boolean' ? String(v) : JSON.stringify(v);
}

/** RFC 4180 CSV (CRLF line ends, quotes doubled); a leading =+-@ is quoted away from spreadsheet formulas. */
export function runsCsv(rows: readonly RunRow[], columns: readonly Column[]): string {
  const field = (v: unknown) => {
    let s = cellText(v);
    if (/^[=+\-@\t\r]/.test(s) && !/^-?\d/.test(s)) s = `'${s}`;
    return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
  };
  return [columns.map((c) => field(c.title)), ...rows.map((r) => columns.map((c) => field(c.value(r))))].map((line) => line.join(',')).join('\r\n') + '\r\n';
}
