/**
 * Every message between the extension and its webviews, and the state a webview keeps across
 * hide/show and reloads. Both sides import these types, so a renamed field fails to compile
 * on both. Plain data only: messages are structured-cloned.
 */
import type { RunRow } from '../core/lineage/compare';
import type { PipelineGraph } from '../core/plan/graph';
import type { StepRunView } from '../core/plan/runProgress';

/** The view type of each panel (also in package.json `activationEvents: onWebviewPanel:`). */
export const GRAPH_VIEW_TYPE = 'nb2prod.graph';
export const RUNS_VIEW_TYPE = 'nb2prod.runs';

// ---- Pipeline Graph ----

export interface RunOverlay {
  runId?: string;
  status: 'running' | 'succeeded' | 'failed' | 'cancelled';
  steps: Record<string, StepRunView>;
}

export type ToGraph =
  | {
      type: 'graph';
      graph: PipelineGraph;
      /** Restricted Mode: the graph is shown, but nothing that would run code is offered. */
      readOnly: boolean;
      /** Increases with every re-plan, so timings name the graph they belong to. */
      revision: number;
    }
  /** The plan could not be made at all (unreadable notebook): the last good graph stays, with this message. */
  | { type: 'planFailed'; message: string }
  | { type: 'select'; step: string | undefined }
  | { type: 'run'; run: RunOverlay | undefined };

export type FromGraph =
  | { type: 'ready' }
  /** Reveal and select the step's first cell. */
  | { type: 'reveal'; step: string }
  | { type: 'showProblems' }
  | { type: 'exportSvg'; svg: string }
  | { type: 'rendered'; revision: number; nodes: number; edges: number; layoutMs: number; renderMs: number };

export interface Viewport {
  x: number;
  y: number;
  scale: number;
}

export interface GraphState {
  notebookUri: string;
  viewport?: Viewport;
  selected?: string;
}

// ---- Compare Runs ----

export type ToRuns = { type: 'runs'; notebook: string; rows: RunRow[] };

export type FromRuns = { type: 'ready' } | { type: 'exportCsv'; csv: string };

export interface RunsState {
  notebookUri: string;
  sort?: { column: string; descending: boolean };
  filter?: string;
  hidden?: string[];
  selected?: string[];
  metric?: string;
}
