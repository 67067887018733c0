/**
 * What the commands do, over the core: plan, productionize (and record the version), build
 * (and record the build), run (and record the run). The core's heavy parts (analysers,
 * dockerode) are imported on first use, so activation never pays for them.
 */
import * as path from 'path';
import * as vscode from 'vscode';
import { CancelledError, Nb2prodError } from '../core/errors';
import type { LineageStore } from '../core/lineage';
import type { ObjectStore } from '../core/store/objects';
import type { Notebook } from '../core/notebook/model';
import type { Plan } from '../core/plan/model';
import type { StepState } from '../core/run/scheduler';
import type { Config } from './config';
import type { PlanDiagnostics } from './diagnostics';
import { ActionableError } from './errors';
import type { OutputLog } from './log';
import { cellInputs, notebookLanguage, NotebookTarget } from './notebooks';
import type { Report } from './progress';
import type { RunOverlay } from '../webview/protocol';

export interface ProductionizeOutcome {
  outDir: string;
  versionId: string;
  /** False when the notebook, plan and files were unchanged since the last version. */
  created: boolean;
  kept: string[];
  warnings: string[];
  /** The parameters cells' source, when the plan has parameters (an export tells 1.0 from 1 by it). */
  paramSource?: string;
}

export interface BuildResult {
  status: string;
  imageId?: string;
  tags: string[];
  buildId: string;
  versionId: string;
  seconds: number;
}

export interface RunResult {
  status: string;
  runId: string;
  runDir: string;
  recordId: string;
  metrics: Record<string, unknown>;
}

/** A run's steps as they go, for the Pipeline Graph. */
export interface RunProgressEvent {
  notebook: vscode.Uri;
  run: RunOverlay;
}

export class PipelineOps implements vscode.Disposable {
  /** One store per workspace folder: its in-process append queue must be shared. */
  private readonly stores = new Map<string, LineageStore>();
  private readonly runProgress = new vscode.EventEmitter<RunProgressEvent>();
  readonly onRunProgress = this.runProgress.event;

  constructor(
    private readonly config: Config,
    private readonly log: OutputLog,
    private readonly diagnostics: PlanDiagnostics,
  ) {}

  async notebook(target: NotebookTarget): Promise<Notebook> {
    const core = await import('../core/pipeline');
    if (target.document) {
      return core.notebookFromCells(target.uri.fsPath, notebookLanguage(target.document), cellInputs(target.document));
    }
    return core.readNotebookFile(target.uri.fsPath);
  }

  /** Plans the notebook and puts its diagnostics in Problems. */
  async plan(target: NotebookTarget): Promise<Plan> {
    const core = await import('../core/pipeline');
    const notebook = await this.notebook(target);
    notebook.path = path.relative(target.workspaceDir, target.uri.fsPath) || notebook.path;
    const plan = await core.planNotebook(notebook);
    this.diagnostics.set(target.uri, [...notebook.diagnostics, ...plan.diagnostics], target.document);
    return plan;
  }

  /** `<workspace>/<outputDirectory>/<notebook slug>`, the same place the CLI uses by default. */
  async pipelineDir(target: NotebookTarget): Promise<string> {
    const { notebookSlug } = await import('../core/pipeline');
    return path.resolve(target.workspaceDir, this.config.get(target.uri).outputDirectory, notebookSlug(target.uri.fsPath));
  }

  async productionize(target: NotebookTarget, signal: AbortSignal, report: Report): Promise<ProductionizeOutcome> {
    const core = await import('../core/pipeline');
    const settings = this.config.get(target.uri);
    report('planning');
    const notebook = target.document ? await this.notebook(target) : undefined;
    let result;
    try {
      result = await core.productionize(target.uri.fsPath, {
        cwd: target.workspaceDir,
        out: await this.pipelineDir(target),
        notebook,
        baseImage: settings.baseImage || undefined,
        signal,
        env: this.config.env(target.uri),
      });
    } catch (e) {
      if (e instanceof core.PlanError) this.diagnostics.set(target.uri, e.diagnostics, target.document);
      throw e;
    }
    this.diagnostics.set(target.uri, result.plan.diagnostics, target.document);
    report('recording the version');
    const lineage = await import('../core/lineage');
    // The same facts the CLI records (versionFactsOf), whichever shell productionized.
    const { record, created } = await lineage.recordVersion(
      lineage.versionFactsOf(result, target.workspaceDir, target.uri.fsPath),
      { store: await this.store(target.workspaceDir), objects: await this.objects(target) },
    );
    for (const w of result.warnings) this.log.warn(w);
    for (const k of result.kept) this.log.warn(`kept your edited ${k} (not overwritten)`);
    this.log.info(`productionized ${target.uri.fsPath} -> ${result.outDir} (version ${record.id}${created ? '' : ', unchanged'})`);
    return { outDir: result.outDir, versionId: record.id, created, kept: result.kept, warnings: result.warnings, paramSource: result.plan.paramSource };
  }

  /** Productionizes (so the image matches the notebook as it is now), then builds and records. */
  async build(target: NotebookTarget, signal: AbortSignal, report: Report): Promise<BuildResult> {
    requireTrust('Building an image');
    const version = await this.productionize(target, signal, report);
    const [{ buildPipeline }, lineage, engine] = await Promise.all([
      import('../core/docker/build'),
      import('../core/lineage'),
      this.engine(target.uri),
    ]);
    report('building the image');
    this.log.info(`building ${version.outDir} on ${engine.connection.address}`);
    const outcome = await buildPipeline({
      dir: version.outDir,
      engine,
      baseImage: this.config.get(target.uri).baseImage || undefined,
      signal,
      onProgress: (event) => {
        if (event.kind === 'step') report(`step ${event.step.index}/${event.step.total}: ${event.step.instruction}`);
        if (event.kind === 'log') this.log.stream(event.line);
        if (event.kind === 'pull') this.log.debug(`${event.id ?? ''} ${event.status} ${event.progress ?? ''}`);
      },
    });
    const record = await lineage.recordBuild(lineage.buildFactsOf(outcome, target.workspaceDir, target.uri.fsPath, version.versionId), {
      store: await this.store(target.workspaceDir),
    });
    this.log.info(`build ${outcome.status} in ${outcome.seconds.toFixed(1)}s: ${outcome.imageId ?? 'no image'}`);
    if (outcome.status === 'cancelled') throw new CancelledError('Build');
    if (outcome.error) throw outcome.error;
    return {
      status: outcome.status,
      imageId: outcome.imageId,
      tags: outcome.tags,
      buildId: record.id,
      versionId: version.versionId,
      seconds: outcome.seconds,
    };
  }

  /**
   * Runs the pipeline: in a freshly built image, in a given image (re-run), or with the
   * configured Python (`local`). Records the run either way.
   */
  async run(
    target: NotebookTarget,
    options: { local?: boolean; image?: string; params?: Record<string, unknown> },
    signal: AbortSignal,
    report: Report,
  ): Promise<RunResult> {
    requireTrust('Running a pipeline');
    const runner = await import('../core/docker/run');
    const lineage = await import('../core/lineage');
    let dir: string;
    let image = options.image;
    let buildId: string | undefined;
    let versionId: string | undefined;
    if (options.local || image) {
      dir = await this.pipelineDir(target);
      if (options.local) versionId = (await this.productionize(target, signal, report)).versionId;
    } else {
      const build = await this.build(target, signal, report);
      dir = await this.pipelineDir(target);
      image = build.imageId;
      buildId = build.buildId;
      versionId = build.versionId;
    }
    const params = Object.entries(options.params ?? {}).map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`);
    const { readManifest } = await import('../core/docker/pipeline-dir');
    const { RunProgress } = await import('../core/plan/runProgress');
    const progress = new RunProgress((await readManifest(dir)).steps.map((s) => s.name));
    const publish = (status: RunOverlay['status'], runId?: string) => this.runProgress.fire({ notebook: target.uri, run: { runId, status, steps: progress.snapshot() } });
    publish('running');
    const onOutput = (text: string) => {
      this.log.stream(text);
      if (progress.feed(text)) publish('running');
    };
    const onStep = (step: string, state: StepState) => {
      progress.step(step, state);
      publish('running');
    };
    report(options.local ? 'running locally' : 'running in a container');
    const { pythonPath, jobs } = this.config.get(target.uri);
    const python = pythonPath || 'python3';
    const objects = (await this.objects(target)).dir;
    let outcome: Awaited<ReturnType<typeof runner.runLocal>>;
    try {
      outcome = options.local
        ? await runner.runLocal({ dir, params, jobs, python, env: this.config.env(target.uri), onOutput, onStep, signal, objects })
        : await runner.runInContainer({ dir, params, jobs, engine: await this.engine(target.uri), image: image!, onOutput, onStep, signal, objects });
    } catch (e) {
      progress.finish({ status: e instanceof CancelledError ? 'cancelled' : 'failed', steps: [], artifacts: [] });
      publish(e instanceof CancelledError ? 'cancelled' : 'failed');
      throw e;
    }
    const { record } = await lineage.recordRun(
      lineage.runFactsOf(outcome, target.workspaceDir, target.uri.fsPath, { image: options.local ? undefined : image, versionId, buildId }),
      { store: await this.store(target.workspaceDir), objects: await this.objects(target) },
    );
    progress.finish(record);
    publish(record.status, record.runId);
    this.log.info(`run ${outcome.runId} ${outcome.status} in ${outcome.seconds.toFixed(1)}s`);
    if (outcome.status === 'cancelled') throw new CancelledError('Run');
    if (outcome.error) throw outcome.error;
    return { status: outcome.status, runId: outcome.runId, runDir: outcome.runDir, recordId: record.id, metrics: record.metrics };
  }

  /** The object store for this notebook's workspace, per the setting (read each time: it may change). */
  async objects(target: NotebookTarget): Promise<ObjectStore> {
    const { objectStoreDir, openObjectStore } = await import('../core/store/objects');
    return openObjectStore(objectStoreDir(target.workspaceDir, this.config.env(target.uri), this.config.get(target.uri).objectStore));
  }

  async store(workspaceDir: string): Promise<LineageStore> {
    let store = this.stores.get(workspaceDir);
    if (!store) {
      store = (await import('../core/lineage')).openStore(workspaceDir);
      this.stores.set(workspaceDir, store);
    }
    return store;
  }

  dispose(): void {
    this.runProgress.dispose();
  }

  async engine(scope: vscode.Uri) {
    const { createDockerEngine } = await import('../core/docker/dockerode-engine');
    return createDockerEngine(this.config.env(scope));
  }
}

/** Trust is declared "limited" in the manifest; this is the run-time check before executing anything. */
export function requireTrust(what: string, why = "it executes the notebook's code"): void {
  if (vscode.workspace.isTrusted) return;
  throw new ActionableError(
    `${what} needs a trusted workspace: ${why}. Planning and productionizing work in Restricted Mode.`,
    'UNTRUSTED',
    { title: 'Manage Workspace Trust', command: 'workbench.trust.manage' },
  );
}

/** For messages: a Nb2prodError-shaped failure when a target is missing. */
export function noNotebook(): Nb2prodError {
  return new Nb2prodError('no notebook: open a .ipynb file, or right-click one in the Explorer', undefined, 'NO_NOTEBOOK');
}
