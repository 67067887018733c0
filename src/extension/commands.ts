/**
 * Command handlers. Each resolves what it works on (explorer Uri, notebook editor, cell, tree
 * item, or a picker), runs the core through PipelineOps in a cancellable progress notification,
 * and refreshes the Lineage view. Registration wraps every one in the ErrorHandler.
 */
import * as path from 'path';
import * as vscode from 'vscode';
import { Nb2prodError } from '../core/errors';
import type { ExportTarget } from '../core/export/tasks';
import type { LineageModel, RunNode, VersionNode } from '../core/lineage';
import type { Config } from './config';
import { Command, CommandId, Setting } from './constants';
import type { ReadonlyDocuments } from './documents';
import type { ErrorHandler } from './errors';
import type { GraphPanels } from './graphPanel';
import type { RunsPanels } from './runsPanel';
import type { LineageElement } from './lineageTree';
import type { LineageView } from './lineageView';
import type { OutputLog } from './log';
import { NotebookTarget, openNotebookDocument, resolveTarget, revealCell, uriFromArg } from './notebooks';
import { noNotebook, PipelineOps, requireTrust } from './pipelineOps';
import { planMarkdown } from './planText';
import { EXPORT_TARGET_LABELS, isExportTarget, normalizedRegistry, PublishOps, requirePushTrust } from './publishOps';
import { withCancellableProgress } from './progress';
import { checkoutSummary, conflictQuestion, StoreOps } from './storeOps';
import type { Endpoint, Endpoints } from './serveOps';
import { chooseRun, serveArgs, ServeChoice } from './servePick';
import { EndpointAction, endpointAction } from './serveStatus';
import { setStepTag, targetCell } from './tagging';

export interface CommandDeps {
  ops: PipelineOps;
  publish: PublishOps;
  store: StoreOps;
  config: Config;
  lineage: LineageView;
  documents: ReadonlyDocuments;
  log: OutputLog;
  errors: ErrorHandler;
  graphs: GraphPanels;
  runs: RunsPanels;
  endpoints: Endpoints;
}

/** Arguments come from VS Code untyped; each handler declares what it accepts. */
type Handler = (...args: never[]) => Promise<unknown>;

export function registerCommands(deps: CommandDeps): vscode.Disposable[] {
  const { ops, publish, store, config, lineage, documents, log } = deps;

  const target = async (arg: unknown): Promise<NotebookTarget | undefined> => (isLineageElement(arg) ? lineageTarget(arg) : resolveTarget(arg));
  const name = (t: NotebookTarget) => path.basename(t.uri.fsPath);
  /** Runs a long operation with progress, then refreshes the tree even when it failed (a failed build is lineage too). */
  const long = async <T>(title: string, work: (signal: AbortSignal, report: (m: string) => void) => Promise<T>): Promise<T> => {
    try {
      return await withCancellableProgress(title, work);
    } finally {
      await lineage.refresh();
    }
  };

  const handlers: Record<CommandId, Handler> = {
    [Command.productionize]: async (arg?: unknown) => {
      const t = await target(arg);
      if (!t) return undefined;
      const result = await long(`Productionizing ${name(t)}`, (signal, report) => ops.productionize(t, signal, report));
      const rel = vscode.workspace.asRelativePath(result.outDir);
      const kept = result.kept.length ? ` Kept ${result.kept.length} file(s) you edited.` : '';
      void vscode.window
        .showInformationMessage(`Pipeline written to ${rel}${result.created ? '' : ' (unchanged)'}.${kept}`, 'Reveal in Explorer')
        .then((picked) => picked && vscode.commands.executeCommand('revealInExplorer', vscode.Uri.file(result.outDir)));
      return result;
    },
    [Command.showPlan]: async (arg?: unknown) => {
      const t = await target(arg);
      if (!t) return undefined;
      const plan = await vscode.window.withProgress({ location: vscode.ProgressLocation.Window, title: `Planning ${name(t)}` }, () => ops.plan(t));
      await documents.show(`${name(t)} plan.md`, planMarkdown(plan));
      return plan;
    },
    [Command.showGraph]: async (arg?: unknown) => {
      const t = await target(arg);
      if (!t) return undefined;
      return deps.graphs.show(t);
    },
    [Command.compareRuns]: async (arg?: unknown) => {
      const t = await target(arg);
      if (!t) return undefined;
      return deps.runs.show(t);
    },
    [Command.buildImage]: (arg?: unknown) => buildCommand(arg),
    [Command.runPipeline]: async (arg?: unknown) => runCommand(arg, {}),
    [Command.runPipelineLocally]: async (arg?: unknown) => runCommand(arg, { local: true }),
    [Command.tagCell]: async (arg?: unknown, tag?: string) => {
      const cell = targetCell(arg);
      if (!cell) throw new Nb2prodError('select a code cell of a Jupyter notebook first', undefined, 'NO_CELL');
      return setStepTag(cell, typeof tag === 'string' ? tag : undefined);
    },
    [Command.refreshLineage]: () => lineage.refresh(),
    [Command.showLog]: async () => log.show(),
    [Command.openFile]: async (e: LineageElement) => {
      const rel = e.type === 'file' ? e.file.path : e.type === 'artifact' ? e.artifact.path : e.type === 'export' ? e.node.record.file : undefined;
      if (!rel) return;
      const uri = vscode.Uri.file(path.resolve(e.source.folder, rel));
      try {
        await vscode.workspace.fs.stat(uri);
      } catch {
        throw new Nb2prodError(`${rel} no longer exists (recorded ${e.type === 'artifact' ? 'with the run' : e.type === 'export' ? 'by the export' : 'with the version'})`, undefined, 'GONE');
      }
      await vscode.commands.executeCommand('vscode.open', uri);
    },
    [Command.revealCell]: async (e: LineageElement) => {
      if (e.type !== 'step' || !e.step.cells.length) return;
      await revealCell(lineageTarget(e), e.step.cells[0]);
    },
    [Command.rebuild]: (e: LineageElement) => buildCommand(e),
    [Command.rerun]: async (e: LineageElement) => {
      if (e.type !== 'run') return;
      const r = e.node.record;
      return runCommand(e, r.local ? { local: true, params: r.params } : { image: r.image, params: r.params });
    },
    [Command.copyImageId]: async (e: LineageElement) => {
      if ((e.type !== 'build' && e.type !== 'serve') || !e.node.record.imageId) return;
      return copy(e.node.record.imageId);
    },
    [Command.copyReference]: async (e: LineageElement) => {
      if (e.type !== 'push') return;
      const { digestReference } = await import('../core/docker/reference');
      return copy(digestReference(e.node.record.reference, e.node.record.digest));
    },
    [Command.exportPipeline]: async (arg?: unknown) => {
      const { subject, options } = publishArgs(arg);
      const t = await target(subject);
      if (!t) return undefined;
      if (options.target !== undefined && !isExportTarget(options.target)) {
        throw new Nb2prodError(`unknown export target '${String(options.target)}': use ${Object.keys(EXPORT_TARGET_LABELS).join(' or ')}`, undefined, 'USAGE');
      }
      const to = options.target ?? (await pickExportTarget());
      if (!to) return undefined;
      const result = await long(`Exporting ${name(t)} for ${EXPORT_TARGET_LABELS[to]}`, (signal, report) => publish.export(t, to, signal, report));
      await vscode.window.showTextDocument(vscode.Uri.file(result.file), { preview: false });
      if (result.warnings.length) {
        // The usual warning: the file names a local tag no cluster can pull. Pushing fixes that.
        const push = vscode.workspace.isTrusted ? ['Push Image…'] : [];
        void vscode.window
          .showWarningMessage(result.warnings.join(' '), ...push)
          .then((picked) => picked && vscode.commands.executeCommand(Command.pushImage, t.uri));
      }
      return result;
    },
    [Command.pushImage]: async (arg?: unknown) => {
      // Refused before any question: the answer would be wasted.
      requirePushTrust();
      const { subject, options } = publishArgs(arg);
      const t = await target(subject);
      if (!t) return undefined;
      const registry = options.registry ?? (await askRegistry(t.uri));
      if (!registry) return undefined;
      const build = isLineageElement(subject) && subject.type === 'build' ? { id: subject.node.id, contextHash: subject.node.record.contextHash } : undefined;
      log.show();
      const result = await long(`Pushing ${name(t)} to ${registry}`, (signal, report) => publish.push(t, registry, signal, report, build));
      void vscode.window
        .showInformationMessage(`Pushed ${result.digestReference}`, 'Copy Reference')
        .then((picked) => picked && copy(result.digestReference));
      return result;
    },
    [Command.checkoutVersion]: async (arg?: unknown, options?: { force?: boolean }) => {
      const subject = await lineageSubject(arg, ['version', 'run'] as const, lineage);
      if (!subject) return undefined;
      const { node, folder } = subject;
      const t = notebookTarget(folder, node.record.notebook);
      const what = node.kind === 'version' ? `version ${node.id.slice(0, 12)} of ${name(t)}` : `run ${node.record.runId} of ${name(t)}`;
      const checkout = (force: boolean) => long(`Checking out ${what}`, () => store.checkout(t, node, force));
      let result = await checkout(options?.force === true);
      // Asked only when the caller did not say: `{force: false}` returns the conflicts unwritten.
      if (result.conflicts.length > 0 && options?.force === undefined) {
        const overwrite = 'Overwrite My Changes';
        const picked = await vscode.window.showWarningMessage(conflictQuestion(what, result.conflicts), { modal: true }, overwrite);
        if (picked === overwrite) result = await checkout(true);
      }
      if (result.conflicts.length > 0) return result;
      const { message, complete } = checkoutSummary(what, result);
      void (complete ? vscode.window.showInformationMessage(message) : vscode.window.showWarningMessage(message));
      return result;
    },
    [Command.reproduceRun]: async (arg?: unknown) => {
      // Refused before anything is looked up: it runs the notebook's code.
      requireTrust('Reproducing a run');
      const subject = await lineageSubject(arg, ['run'] as const, lineage);
      if (!subject) return undefined;
      const { node, folder, model } = subject;
      const t = notebookTarget(folder, node.record.notebook);
      log.show();
      const result = await long(`Reproducing run ${node.record.runId} of ${name(t)}`, (signal, report) => store.reproduce(t, model, node.id, signal, report));
      if (result.status !== 'compared') return result;
      const { comparison: c, again } = result;
      const lead = `Run ${node.record.runId} reproduced as ${again.record.runId}`;
      if (c.status === 'identical') void vscode.window.showInformationMessage(`${lead}: all ${c.counts.same} artifacts and metrics the same.`);
      else if (c.status === 'differs') {
        const names = c.entries.filter((x) => x.outcome !== 'same').map((x) => `${x.name} (${x.outcome})`);
        void vscode.window.showWarningMessage(`${lead}, with differences: ${names.slice(0, 3).join(', ')}${names.length > 3 ? `, and ${names.length - 3} more` : ''}.`);
      } else void vscode.window.showErrorMessage(`${lead}: the new run ${again.record.status}${again.record.error ? `: ${again.record.error}` : ''}.`);
      return result;
    },
    [Command.serveModel]: async (arg?: unknown, options?: unknown) => {
      // Refused before any question: serving loads the run's pickles and runs the notebook's code.
      requireTrust('Serving a model', "it runs the notebook's code and loads its pickled artifacts");
      // `{notebook, run, local, port}` alone, or `{local, port}` after a tree item or Uri.
      const args = serveArgs(arg) ?? serveArgs(options);
      let choice: ServeChoice | undefined;
      if (args?.run) choice = lineageChoice(await lineageSubject(args.run, ['run'] as const, lineage));
      else if (isLineageElement(arg)) choice = lineageChoice(await lineageSubject(arg, ['run'] as const, lineage));
      else choice = await chooseRun(lineage, args ? args.notebook : uriFromArg(arg));
      if (!choice) return undefined;
      const { run, folder } = choice;
      if (run.record.status !== 'succeeded') throw new Nb2prodError(`run ${run.record.runId} ${run.record.status}: serve a run that succeeded`, undefined, 'USAGE');
      const already = deps.endpoints.forRun(folder, run.id);
      if (already) {
        void vscode.window.showInformationMessage(`Run ${run.record.runId} is already served at ${already.session.url}.`);
        return endpointSummary(already);
      }
      const t = notebookTarget(folder, run.record.notebook);
      const settings = config.get(t.uri);
      const request = { local: args?.local ?? settings.serveLocal, port: args?.port ?? settings.servePort };
      log.show();
      const endpoint = await long(`Serving ${name(t)} (run ${run.record.runId})${request.local ? ' locally' : ''}`, (signal, report) => deps.endpoints.start(t, run, request, signal, report));
      await lineage.revealEndpoint(endpoint).catch((e: Error) => log.warn(`could not reveal the endpoint in the Lineage view: ${e.message}`));
      void vscode.window
        .showInformationMessage(`Serving ${endpoint.session.model} at ${endpoint.session.url}`, 'Open API Docs', 'Copy curl Example')
        .then((picked) => picked && endpointAction(deps.endpoints, endpoint.id, picked === 'Open API Docs' ? 'docs' : 'curl'));
      return endpointSummary(endpoint);
    },
    [Command.endpointActions]: async (id?: unknown, action?: EndpointAction) => endpointAction(deps.endpoints, endpointId(id), action),
    [Command.stopEndpoint]: async (id?: unknown) => endpointAction(deps.endpoints, endpointId(id), 'stop'),
    [Command.diffWithPrevious]: async (e: LineageElement) => {
      if (e.type !== 'version' || e.index === 0) return;
      const previous = e.node.notebook.versions[e.index - 1];
      const { diffVersions } = await import('../core/lineage');
      const { renderDiffText } = await import('../core/lineage/render');
      const diff = diffVersions(previous.record, e.node.record);
      const title = `${path.posix.basename(e.node.record.notebook)} version ${e.index} → ${e.index + 1}`;
      await documents.show(`${title}.diff.txt`, [`# ${title}`, '', ...renderDiffText(diff)].join('\n'), 'plaintext');
      return diff;
    },
  };

  async function buildCommand(arg: unknown) {
    const t = await target(arg);
    if (!t) return undefined;
    log.show();
    const result = await long(`Building image for ${name(t)}`, (signal, report) => ops.build(t, signal, report));
    void vscode.window.showInformationMessage(`Image ${result.status}: ${result.tags[0] ?? result.imageId}`);
    return result;
  }

  async function runCommand(arg: unknown, options: { local?: boolean; image?: string; params?: Record<string, unknown> }) {
    const t = await target(arg);
    if (!t) return undefined;
    log.show();
    const how = options.local ? 'locally' : options.image ? 'in its image' : 'in a container';
    const result = await long(`Running ${name(t)} ${how}`, (signal, report) => ops.run(t, options, signal, report));
    void vscode.window.showInformationMessage(`Run ${result.runId} ${result.status}.`);
    return result;
  }

  /** The registry input, prefilled with the remembered one: pushing sends the image away, so say where. */
  async function askRegistry(scope: vscode.Uri): Promise<string | undefined> {
    const value = await vscode.window.showInputBox({
      title: 'Push Image',
      prompt: `Registry to push to (remembered in the ${Setting.section}.${Setting.registry} setting)`,
      value: config.get(scope).registry,
      placeHolder: 'registry.example.com/team or 127.0.0.1:5000',
      ignoreFocusOut: true,
      validateInput: (v) => publish.registryProblem(v),
    });
    if (value === undefined) return undefined;
    const registry = await normalizedRegistry(value);
    await config.rememberRegistry(registry, scope);
    return registry;
  }

  return Object.entries(handlers).map(([id, fn]) => vscode.commands.registerCommand(id, deps.errors.wrap(id, fn)));
}

async function copy(text: string): Promise<string> {
  await vscode.env.clipboard.writeText(text);
  void vscode.window.setStatusBarMessage(`Copied ${text.length > 60 ? `${text.slice(0, 59)}…` : text}`, 3000);
  return text;
}

async function pickExportTarget(): Promise<ExportTarget | undefined> {
  const items = Object.entries(EXPORT_TARGET_LABELS).map(([target, label]) => ({ label, target: target as ExportTarget }));
  const picked = await vscode.window.showQuickPick(items, { title: 'Export Pipeline', placeHolder: 'Orchestrator to write the pipeline for' });
  return picked?.target;
}

/**
 * Export and Push take `{notebook, target, registry}` besides the usual arguments, so tests and
 * other extensions can run them without the pickers. `notebook` is a Uri or a path (relative to
 * the first workspace folder).
 */
function publishArgs(arg: unknown): { subject: unknown; options: { target?: unknown; registry?: string } } {
  if (!arg || typeof arg !== 'object' || arg instanceof vscode.Uri || isLineageElement(arg)) return { subject: arg, options: {} };
  const a = arg as { notebook?: unknown; target?: unknown; registry?: unknown };
  if (a.target === undefined && a.registry === undefined && !(typeof a.notebook === 'string' || a.notebook instanceof vscode.Uri)) return { subject: arg, options: {} };
  const base = vscode.workspace.workspaceFolders?.[0]?.uri.fsPath ?? process.cwd();
  const subject = typeof a.notebook === 'string' ? vscode.Uri.file(path.resolve(base, a.notebook)) : a.notebook instanceof vscode.Uri ? a.notebook : undefined;
  return { subject, options: { target: a.target, registry: typeof a.registry === 'string' ? a.registry : undefined } };
}

/** What Serve Model returns: plain data (the session's functions stay in the extension). */
function endpointSummary(e: Endpoint) {
  const { url, model, runId, image, docsUrl, curlExample } = e.session;
  return { id: e.id, url, model, runId, image, docsUrl, curlExample, local: e.local };
}

/** The endpoint a command names: its id (URL), or its tree item. */
function endpointId(arg: unknown): string | undefined {
  if (typeof arg === 'string') return arg;
  return isLineageElement(arg) && arg.type === 'endpoint' ? arg.endpoint.id : undefined;
}

function lineageChoice(subject: { folder: string; model: LineageModel; node: RunNode } | undefined): ServeChoice | undefined {
  return subject && { folder: subject.folder, model: subject.model, run: subject.node };
}

function isLineageElement(v: unknown): v is LineageElement {
  return !!v && typeof v === 'object' && 'type' in v && 'source' in v && typeof (v as LineageElement).source?.folder === 'string';
}

/** The notebook a tree item belongs to. */
function lineageTarget(e: LineageElement): NotebookTarget {
  return notebookTarget(e.source.folder, lineageNotebook(e));
}

/** `notebook` as lineage records it: relative to the workspace folder. */
function notebookTarget(folder: string, notebook: string | undefined): NotebookTarget {
  if (!notebook) throw noNotebook();
  const uri = vscode.Uri.file(path.resolve(folder, notebook));
  return { uri, workspaceDir: folder, document: openNotebookDocument(uri) };
}

function lineageNotebook(e: LineageElement): string {
  switch (e.type) {
    case 'notebook':
      return e.node.path;
    case 'files':
    case 'file':
      return e.version.record.notebook;
    case 'version':
    case 'build':
    case 'run':
    case 'push':
    case 'export':
      return e.node.record.notebook;
    case 'difference':
      return e.reproduction.record.notebook;
    default:
      return e.run.record.notebook;
  }
}

/**
 * The version or run a tree command works on: its tree element, or (for automation) its lineage
 * record id or prefix, or a run's run id, looked up in each workspace folder's lineage.
 */
async function lineageSubject<K extends 'version' | 'run'>(
  arg: unknown,
  kinds: readonly K[],
  lineage: LineageView,
): Promise<{ folder: string; model: LineageModel; node: Extract<VersionNode | RunNode, { kind: K }> } | undefined> {
  const wanted = (n: { kind: string }): n is Extract<VersionNode | RunNode, { kind: K }> => (kinds as readonly string[]).includes(n.kind);
  if (isLineageElement(arg)) {
    if ((arg.type !== 'version' && arg.type !== 'run') || !wanted(arg.node)) return undefined;
    return { folder: arg.source.folder, model: arg.source.model, node: arg.node };
  }
  const id = typeof arg === 'string' ? arg : arg && typeof arg === 'object' && typeof (arg as { id?: unknown }).id === 'string' ? (arg as { id: string }).id : undefined;
  if (!id) throw new Nb2prodError(`choose a ${kinds.join(' or ')} in the Lineage view`, undefined, 'USAGE');
  await lineage.refresh();
  const { checkoutTarget } = await import('../core/store/checkout');
  for (const folder of vscode.workspace.workspaceFolders ?? []) {
    const model = lineage.model(folder.uri.fsPath);
    if (!model) continue;
    let node: VersionNode | RunNode;
    try {
      node = checkoutTarget(model, id);
    } catch {
      continue;
    }
    if (!wanted(node)) throw new Nb2prodError(`${id} is a ${node.kind}; this takes a ${kinds.join(' or ')}`, undefined, 'USAGE');
    return { folder: folder.uri.fsPath, model, node };
  }
  throw new Nb2prodError(`no ${kinds.join(' or ')} ${id} in the lineage of this workspace`, undefined, 'NOT_FOUND');
}
