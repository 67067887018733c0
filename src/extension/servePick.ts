/**
 * Which run Serve Model serves when it is not started on a run in the Lineage tree: the
 * notebook (the given one, the active one, or one picked from those with a successful run),
 * then one of its successful runs, newest first.
 */
import * as path from 'path';
import * as vscode from 'vscode';
import { Nb2prodError } from '../core/errors';
import type { LineageModel, NotebookNode, RunNode } from '../core/lineage';
import { relativeTime } from './lineageTree';
import type { LineageView } from './lineageView';
import { isJupyterNotebook, workspaceDirFor } from './notebooks';

export interface ServeChoice {
  folder: string;
  model: LineageModel;
  run: RunNode;
}

/** What automation may pass instead of a tree item: `{notebook, run, local, port}`. */
export interface ServeArgs {
  notebook?: vscode.Uri;
  run?: string;
  local?: boolean;
  port?: number;
}

export function serveArgs(arg: unknown): ServeArgs | undefined {
  if (!arg || typeof arg !== 'object' || arg instanceof vscode.Uri || 'source' in arg) return undefined;
  const a = arg as { notebook?: unknown; run?: unknown; local?: unknown; port?: unknown };
  if (a.notebook === undefined && a.run === undefined && a.local === undefined && a.port === undefined) return undefined;
  if (a.port !== undefined && !(Number.isInteger(a.port) && (a.port as number) >= 0 && (a.port as number) <= 65535)) {
    throw new Nb2prodError(`port must be a whole number from 0 (a free port) to 65535, not ${JSON.stringify(a.port)}`, undefined, 'USAGE');
  }
  const base = vscode.workspace.workspaceFolders?.[0]?.uri.fsPath ?? process.cwd();
  return {
    notebook: typeof a.notebook === 'string' ? vscode.Uri.file(path.resolve(base, a.notebook)) : a.notebook instanceof vscode.Uri ? a.notebook : undefined,
    run: typeof a.run === 'string' ? a.run : undefined,
    local: typeof a.local === 'boolean' ? a.local : undefined,
    port: a.port as number | undefined,
  };
}

/** Runs that can be served: those that succeeded (a failed run may lack the fitted values). */
export function servableRuns(nb: NotebookNode): RunNode[] {
  const runs = [...nb.versions.flatMap((v) => v.runs), ...nb.unversioned.runs];
  return runs.filter((r) => r.record.status === 'succeeded').sort((a, b) => b.ts.localeCompare(a.ts));
}

/** The notebook (given, active, or asked for), then the run; undefined when a picker was dismissed. */
export async function chooseRun(lineage: LineageView, notebook: vscode.Uri | undefined): Promise<ServeChoice | undefined> {
  await lineage.refresh();
  const active = vscode.window.activeNotebookEditor?.notebook;
  const uri = notebook ?? (active && isJupyterNotebook(active) ? active.uri : undefined);
  const candidates = uri ? [notebookOf(lineage, uri)] : withRuns(lineage);
  if (candidates.length === 0 || (uri && servableRuns(candidates[0].nb).length === 0)) {
    const which = uri ? path.basename(uri.fsPath) : 'any notebook';
    throw new Nb2prodError(`no successful run of ${which} to serve: run its pipeline first`, undefined, 'NOT_FOUND');
  }
  const chosen =
    candidates.length === 1
      ? candidates[0]
      : (
          await vscode.window.showQuickPick(
            candidates.map((c) => ({ label: c.nb.path, description: `${servableRuns(c.nb).length} successful run(s)`, c })),
            { title: 'Serve Model', placeHolder: 'Notebook whose model to serve' },
          )
        )?.c;
  if (!chosen) return undefined;
  const runs = servableRuns(chosen.nb);
  const now = Date.now();
  const picked =
    runs.length === 1
      ? runs[0]
      : (
          await vscode.window.showQuickPick(
            runs.map((run, i) => ({
              label: `Run ${run.record.runId}`,
              description: [run.record.local ? 'local' : 'container', relativeTime(run.ts, now), i === 0 ? 'latest' : ''].filter(Boolean).join(' · '),
              run,
            })),
            { title: `Serve Model: ${path.posix.basename(chosen.nb.path)}`, placeHolder: 'Run whose fitted values to serve' },
          )
        )?.run;
  return picked && { folder: chosen.folder, model: chosen.model, run: picked };
}

function notebookOf(lineage: LineageView, uri: vscode.Uri): { folder: string; model: LineageModel; nb: NotebookNode } {
  const folder = workspaceDirFor(uri);
  const model = lineage.model(folder);
  const rel = path.relative(folder, uri.fsPath).split(path.sep).join('/');
  const nb = model?.notebooks.get(rel);
  if (!model || !nb) throw new Nb2prodError(`${rel} has no runs in the lineage of this workspace: run its pipeline first`, undefined, 'NOT_FOUND');
  return { folder, model, nb };
}

function withRuns(lineage: LineageView): { folder: string; model: LineageModel; nb: NotebookNode }[] {
  return (vscode.workspace.workspaceFolders ?? []).flatMap((f) => {
    const model = lineage.model(f.uri.fsPath);
    if (!model) return [];
    return [...model.notebooks.values()].filter((nb) => servableRuns(nb).length > 0).map((nb) => ({ folder: f.uri.fsPath, model, nb }));
  });
}
