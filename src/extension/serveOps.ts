/**
 * Model endpoints started from this window (Serve Model): each is a session of the core's
 * `startServe` (a serving container, or the configured Python with `local`). They live as long
 * as the window: Stop ends one, deactivation ends them all. The status bar and the Lineage tree
 * only display this list and follow `onDidChange`.
 */
import * as path from 'path';
import * as vscode from 'vscode';
import type { RunNode } from '../core/lineage';
import type { ServeSession } from '../core/serve/session';
import type { Config } from './config';
import type { OutputLog } from './log';
import type { NotebookTarget } from './notebooks';
import { Nb2prodError } from '../core/errors';
import { Setting } from './constants';
import { ActionableError } from './errors';
import { PipelineOps, requireTrust } from './pipelineOps';
import type { Report } from './progress';

export interface Endpoint {
  /** The endpoint's URL: two endpoints never share one. */
  readonly id: string;
  readonly session: ServeSession;
  /** Workspace folder and lineage record id of the run served, so the tree lists it under that run. */
  readonly workspaceDir: string;
  readonly runRecordId: string;
  readonly local: boolean;
  readonly port: number;
  /** ISO times: asked for (before the lineage recorded it) and listening. */
  readonly requested: string;
  readonly started: string;
}

export interface ServeRequest {
  local: boolean;
  port: number;
}

export class Endpoints implements vscode.Disposable {
  private readonly live = new Map<string, Endpoint>();
  /** Endpoints being stopped on request: their exit is expected, whatever its code. */
  private readonly stopping = new Set<string>();
  private readonly changed = new vscode.EventEmitter<void>();
  readonly onDidChange = this.changed.event;

  constructor(
    private readonly ops: PipelineOps,
    private readonly config: Config,
    private readonly log: OutputLog,
  ) {}

  list(): Endpoint[] {
    return [...this.live.values()];
  }

  get(id: string): Endpoint | undefined {
    return this.live.get(id);
  }

  /** The endpoint already serving this run, if any (serving it twice would only fight over the port). */
  forRun(workspaceDir: string, runRecordId: string): Endpoint | undefined {
    return this.list().find((e) => e.workspaceDir === workspaceDir && e.runRecordId === runRecordId);
  }

  /**
   * Builds (or reuses) the serving image and starts it, or starts the local server; resolves once
   * it listens. Cancelling the signal stops the build or the start and leaves nothing running.
   */
  async start(target: NotebookTarget, run: RunNode, request: ServeRequest, signal: AbortSignal, report: Report): Promise<Endpoint> {
    requireTrust('Serving a model', "it runs the notebook's code and loads its pickled artifacts");
    const { startServe } = await import('../core/serve/session');
    const settings = this.config.get(target.uri);
    const runId = run.record.runId;
    const name = path.basename(target.uri.fsPath);
    const prefix = `serve ${name} (run ${runId})`;
    const requested = new Date().toISOString();
    report(request.local ? 'preparing the local server (skew guard first)' : 'building the serving image (skew guard in the build)');
    this.log.info(`${prefix}: starting ${request.local ? 'locally' : 'in a container'} on port ${request.port || 'any free port'}`);
    const session = await startServe({
      workspaceDir: target.workspaceDir,
      target: target.uri.fsPath,
      // The record id, not the run id: two notebooks' runs may share a run id.
      runId: run.id,
      port: request.port,
      local: request.local,
      python: settings.pythonPath || undefined,
      baseImage: settings.baseImage || undefined,
      engine: request.local ? undefined : await this.ops.engine(target.uri),
      env: this.config.env(target.uri),
      objectsDir: settings.objectStore || undefined,
      signal,
      // The server logs one line per request without payloads; build and guard output as it comes.
      log: (line) => this.log.stream(line),
    }).catch((e: unknown) => {
      throw e instanceof Nb2prodError && e.code === 'PORT_IN_USE' ? portInUse(request.port) : e;
    });
    const endpoint: Endpoint = {
      id: session.url,
      session,
      workspaceDir: target.workspaceDir,
      runRecordId: run.id,
      local: request.local,
      port: Number(new URL(session.url).port),
      requested,
      started: new Date().toISOString(),
    };
    this.live.set(endpoint.id, endpoint);
    this.log.info(`${prefix}: serving ${session.model} at ${session.url}${session.image ? ` from ${session.image}` : ''}`);
    void session.done.then(
      ({ code }) => this.ended(endpoint, code),
      (e: unknown) => this.ended(endpoint, undefined, e),
    );
    this.changed.fire();
    return endpoint;
  }

  /** Stops the endpoint (its container is removed); resolves when it no longer answers. */
  async stop(id: string): Promise<void> {
    const endpoint = this.live.get(id);
    if (!endpoint) return;
    this.log.info(`stopping ${endpoint.session.model} at ${endpoint.id}`);
    this.stopping.add(id);
    try {
      await endpoint.session.stop();
      await endpoint.session.done.catch(() => undefined);
    } finally {
      this.stopping.delete(id);
      this.forget(endpoint);
    }
    this.log.info(`the endpoint ${endpoint.session.model} at ${endpoint.id} stopped`);
  }

  /** Every endpoint stopped: on deactivation, so no container or server outlives the window. */
  async stopAll(): Promise<void> {
    await Promise.allSettled(this.list().map((e) => this.stop(e.id)));
  }

  private ended(endpoint: Endpoint, code: number | undefined, error?: unknown): void {
    if (!this.live.has(endpoint.id) || this.stopping.has(endpoint.id)) return;
    this.forget(endpoint);
    const what = `${endpoint.session.model} at ${endpoint.id}`;
    if (error !== undefined || (code !== 0 && code !== undefined)) {
      const reason = error instanceof Error ? error.message : `exit code ${code}`;
      this.log.error(`the endpoint ${what} stopped unexpectedly: ${reason}`);
      void vscode.window.showWarningMessage(`The endpoint ${what} stopped (${reason}).`, 'Show Log').then((picked) => picked && this.log.show());
    } else this.log.info(`the endpoint ${what} stopped`);
  }

  private forget(endpoint: Endpoint): void {
    if (this.live.delete(endpoint.id)) this.changed.fire();
  }

  dispose(): void {
    // Deactivation awaits stopAll (see src/extension.ts); this covers a dispose without it.
    void this.stopAll();
    this.changed.dispose();
  }
}

/** The core says `--port`; here the port is a setting. */
function portInUse(port: number): ActionableError {
  const key = `${Setting.section}.${Setting.servePort}`;
  return new ActionableError(`port ${port} on 127.0.0.1 is in use: set ${key} to another port (0 picks a free one)`, 'PORT_IN_USE', {
    title: 'Open Settings',
    command: 'workbench.action.openSettings',
    args: [key],
  });
}
