/**
 * The object store from the Lineage tree: check out a version (or a run's version and artifacts)
 * and reproduce a run, over the same core the CLI's `checkout` and `reproduce` use.
 *
 * Check out needs no trust: it only writes files that lineage recorded (productionize writes the
 * same files in Restricted Mode), and it never overwrites a file the user changed unless told to.
 * Reproduce runs the notebook's code, so it needs a trusted workspace.
 */
import { CancelledError, Nb2prodError } from '../core/errors';
import type { LineageModel, RunNode, VersionNode } from '../core/lineage';
import type { RunAgain, Reproduced } from '../core/reproduce/reproduce';
import type { CheckoutResult } from '../core/store/checkout';
import type { Config } from './config';
import type { OutputLog } from './log';
import type { NotebookTarget } from './notebooks';
import { PipelineOps, requireTrust } from './pipelineOps';
import type { Report } from './progress';

export class StoreOps {
  constructor(
    private readonly ops: PipelineOps,
    private readonly config: Config,
    private readonly log: OutputLog,
  ) {}

  /** Restores in place (the workspace layout), as `nb2prod checkout` does; conflicts come back unwritten without `force`. */
  async checkout(target: NotebookTarget, node: VersionNode | RunNode, force: boolean): Promise<CheckoutResult> {
    const { checkout } = await import('../core/store/checkout');
    const store = await this.ops.store(target.workspaceDir);
    const result = await checkout(node, { workspaceDir: target.workspaceDir, objects: await this.ops.objects(target), records: store.read().records, force });
    if (result.conflicts.length === 0) this.log.info(`checked out ${node.kind} ${node.id}: ${result.restored.length} restored, ${result.unchanged.length} already as recorded`);
    for (const p of result.pruned) this.log.warn(`${p.path}: object ${p.sha256.slice(0, 12)} was pruned by gc on ${p.on}`);
    for (const m of result.missing) this.log.warn(`${m.path}: object ${m.sha256.slice(0, 12)} is not in the object store`);
    return result;
  }

  /**
   * Runs the run's version again the way it ran (the configured Python for a local run; its image
   * for a container run, rebuilt from the version's files when the image is gone) and records the
   * comparison under it. A version the workspace no longer holds is restored into a temporary
   * directory first.
   */
  async reproduce(target: NotebookTarget, model: LineageModel, runId: string, signal: AbortSignal, report: Report): Promise<Reproduced<RunAgain>> {
    requireTrust('Reproducing a run');
    const [{ prepareReproduction }, { reproduceRun, sameImage, stagingMessage }, runner, lineage] = await Promise.all([
      import('../core/reproduce/prepare'),
      import('../core/reproduce/reproduce'),
      import('../core/docker/run'),
      import('../core/lineage'),
    ]);
    const ws = target.workspaceDir;
    const plan = await prepareReproduction(model, runId, ws);
    const original = plan.run.record;
    const store = await this.ops.store(ws);
    const objects = await this.ops.objects(target);
    const settings = this.config.get(target.uri);
    const env = this.config.env(target.uri);
    const result = await reproduceRun(
      plan,
      {
        workspaceDir: ws,
        objects,
        store,
        records: () => store.read().records,
        onStaging: (p) => {
          this.log.info(stagingMessage(p));
          report('restoring the version from the object store');
        },
      },
      async (dir, artifactsDir): Promise<RunAgain> => {
        const options = { dir, params: plan.params, artifactsDir, jobs: settings.jobs, onOutput: (text: string) => this.log.stream(text), signal, objects: objects.dir };
        let image: string | undefined;
        let buildId: string | undefined;
        let rebuilt = false;
        if (!original.local) {
          const engine = await this.ops.engine(target.uri);
          image = await sameImage(plan, engine, signal);
          buildId = plan.run.build?.id;
          if (!image) {
            report('the image is gone: building it again');
            const built = await this.rebuild(target, dir, plan.version.id, signal);
            ({ image, buildId } = built);
            rebuilt = true;
          }
        }
        report(`running ${original.runId} again ${original.local ? 'locally' : 'in its image'}`);
        const outcome = original.local
          ? await runner.runLocal({ ...options, python: settings.pythonPath || 'python3', env })
          : await runner.runInContainer({ ...options, engine: await this.ops.engine(target.uri), image: image! });
        const { record } = await lineage.recordRun(lineage.runFactsOf(outcome, ws, target.uri.fsPath, { image, versionId: plan.version.id, buildId }), { store, objects });
        if (outcome.error && outcome.status !== 'cancelled') this.log.warn(`the new run ${outcome.status}: ${outcome.error.describe()}`);
        return { record, local: original.local, ...(image ? { image } : {}), ...(rebuilt ? { rebuilt } : {}) };
      },
    );
    if (result.status === 'cancelled') throw new CancelledError('Reproduce');
    const c = result.comparison;
    this.log.info(`reproduced run ${original.runId} as ${result.again.record.runId}: ${c.status} (${c.counts.same} same, ${c.counts.differs} differs, ${c.counts.new} new, ${c.counts.missing} missing)`);
    return result;
  }

  /** The version's image built again from `dir`, recorded like any build. */
  private async rebuild(target: NotebookTarget, dir: string, versionId: string, signal: AbortSignal): Promise<{ image: string; buildId: string }> {
    const [{ buildPipeline }, lineage] = await Promise.all([import('../core/docker/build'), import('../core/lineage')]);
    const outcome = await buildPipeline({ dir, engine: await this.ops.engine(target.uri), baseImage: this.config.get(target.uri).baseImage || undefined, signal, onProgress: (e) => {
        if (e.kind === 'log') this.log.stream(e.line);
      },
    });
    const record = await lineage.recordBuild(lineage.buildFactsOf(outcome, target.workspaceDir, target.uri.fsPath, versionId), { store: await this.ops.store(target.workspaceDir) });
    if (outcome.status === 'cancelled') throw new CancelledError('Build');
    if (!outcome.imageId || (outcome.status !== 'succeeded' && outcome.status !== 'up-to-date')) throw outcome.error ?? new Nb2prodError('the image could not be built again');
    this.log.warn(`the run's image is gone: rebuilt as ${outcome.imageId} (a newer base image or package may change results)`);
    return { image: outcome.imageId, buildId: record.id };
  }
}

/** What the user is told after a checkout: the counts, and what could not be restored and why. */
export function checkoutSummary(what: string, r: CheckoutResult): { message: string; complete: boolean } {
  const gone = [
    ...r.pruned.map((p) => `${p.path} (pruned by gc on ${p.on.slice(0, 10)})`),
    ...r.missing.map((m) => `${m.path} (not in the object store)`),
    ...r.skipped.map((s) => `${s} (outside the workspace)`),
  ];
  const counts = `${r.restored.length} file(s) restored, ${r.unchanged.length} already as recorded`;
  if (gone.length === 0) return { message: `Checked out ${what}: ${counts}.`, complete: true };
  const listed = gone.slice(0, 3).join(', ') + (gone.length > 3 ? `, and ${gone.length - 3} more` : '');
  return { message: `Checked out ${what} in part: ${counts}; not restored: ${listed}.`, complete: false };
}

/** For the ask-before-overwriting question. */
export function conflictQuestion(what: string, conflicts: string[]): string {
  const listed = conflicts.slice(0, 5).join(', ') + (conflicts.length > 5 ? `, and ${conflicts.length - 5} more` : '');
  return `Checking out ${what} would overwrite ${conflicts.length} file(s) you changed since nb2prod wrote them: ${listed}. Nothing was written.`;
}
