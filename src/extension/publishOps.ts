/**
 * Taking a pipeline beyond this machine, over the core: export it as a Kubeflow Pipelines or Argo
 * Workflows file, push its image to a registry, and record both in lineage. It builds on
 * PipelineOps (productionize, build, the lineage stores) and leaves PipelineOps' run path alone.
 * The core's export writers and push module load on first use, like the rest.
 */
import * as path from 'path';
import { Nb2prodError } from '../core/errors';
import type { ExportTarget } from '../core/export/tasks';
import type { Config } from './config';
import type { OutputLog } from './log';
import type { NotebookTarget } from './notebooks';
import { PipelineOps, requireTrust } from './pipelineOps';
import type { Report } from './progress';

/** How the quick pick and messages name the export targets. */
export const EXPORT_TARGET_LABELS: Record<ExportTarget, string> = {
  kfp: 'Kubeflow Pipelines',
  argo: 'Argo Workflows',
};

export function isExportTarget(value: unknown): value is ExportTarget {
  return typeof value === 'string' && Object.prototype.hasOwnProperty.call(EXPORT_TARGET_LABELS, value);
}

export interface ExportOutcome {
  file: string;
  target: ExportTarget;
  /** The image the file runs, and where that reference came from (the last push, or the local tag). */
  image: string;
  imageSource: string;
  warnings: string[];
  versionId: string;
  recordId: string;
}

export interface PushResult {
  /** `HOST[:PORT][/NAMESPACE]/slug:tag` */
  reference: string;
  digest: string;
  /** `HOST[:PORT][/NAMESPACE]/slug@sha256:...`: what to deploy. */
  digestReference: string;
  registry: string;
  buildId?: string;
  recordId: string;
  seconds: number;
}

/** A build the Lineage tree shows: pushing it means pushing exactly that image. */
export interface RecordedBuild {
  id: string;
  contextHash: string;
}

export class PublishOps {
  constructor(
    private readonly ops: PipelineOps,
    private readonly config: Config,
    private readonly log: OutputLog,
  ) {}

  /**
   * Productionizes (so the file matches the notebook as it is now) and writes the orchestrator
   * file. No trust check: neither step runs the notebook's code or talks to Docker. The file
   * names the image last pushed for this pipeline content, else the local build tag (with a
   * warning, since a cluster cannot pull that).
   */
  async export(target: NotebookTarget, to: ExportTarget, signal: AbortSignal, report: Report): Promise<ExportOutcome> {
    const version = await this.ops.productionize(target, signal, report);
    const [{ exportPipeline }, { lastPushedDigest }, lineage] = await Promise.all([
      import('../core/export/export'),
      import('../core/docker/push'),
      import('../core/lineage'),
    ]);
    const baseImage = this.config.get(target.uri).baseImage || undefined;
    report(`writing the ${EXPORT_TARGET_LABELS[to]} file`);
    const result = await exportPipeline({
      dir: version.outDir,
      target: to,
      paramSource: version.paramSource,
      pushedImage: (dir) => lastPushedDigest(target.workspaceDir, dir, { baseImage }),
    });
    const record = await lineage.recordExport(
      { ...lineage.exportFactsOf(result, target.workspaceDir, target.uri.fsPath), versionId: version.versionId },
      { store: await this.ops.store(target.workspaceDir) },
    );
    for (const w of result.warnings) this.log.warn(w);
    this.log.info(`exported ${target.uri.fsPath} as ${to} -> ${result.file} (image ${result.image}, from ${result.imageSource})`);
    return {
      file: result.file,
      target: result.target,
      image: result.image,
      imageSource: result.imageSource,
      warnings: result.warnings,
      versionId: version.versionId,
      recordId: record.id,
    };
  }

  /**
   * Pushes the notebook's image to `registry` (`HOST[:PORT][/NAMESPACE]`). Without `build` the
   * notebook is productionized and built first (up to date when nothing changed), so what is
   * pushed is the notebook as it is now. With a recorded `build`, exactly that build's image is
   * pushed, which is only possible while the pipeline directory still holds its content.
   */
  async push(target: NotebookTarget, registryValue: string, signal: AbortSignal, report: Report, build?: RecordedBuild): Promise<PushResult> {
    requirePushTrust();
    const [push, { pipelineContext }, lineage] = await Promise.all([import('../core/docker/push'), import('../core/docker/build'), import('../core/lineage')]);
    // Before any build: a mistyped registry should not cost one.
    const registry = push.parseRegistry(registryValue);
    const baseImage = this.config.get(target.uri).baseImage || undefined;
    let dir: string;
    let buildId: string | undefined;
    if (build) {
      dir = await this.ops.pipelineDir(target);
      const { context } = await pipelineContext(dir, baseImage);
      if (context.hash !== build.contextHash) {
        throw new Nb2prodError(
          `this build's image is of an earlier ${path.basename(dir)} pipeline (context ${build.contextHash.slice(0, 12)}; the directory now holds ` +
            `${context.hash.slice(0, 12)}): Push Image on the notebook or its latest version builds and pushes the pipeline as it is now`,
          undefined,
          'STALE_BUILD',
        );
      }
      buildId = build.id;
    } else {
      const built = await this.ops.build(target, signal, report);
      dir = await this.ops.pipelineDir(target);
      buildId = built.buildId;
    }
    report(`pushing to ${registry.prefix}`);
    const outcome = await push.pushPipeline({
      dir,
      engine: await this.ops.engine(target.uri),
      registry,
      env: this.config.env(target.uri),
      baseImage,
      source: path.basename(target.uri.fsPath),
      signal,
      onProgress: (line) => {
        this.log.info(line);
        report(line.trim());
      },
    });
    // Under the build it came from: the one just made, or the tree's build that was pushed.
    const record = await lineage.recordPush(
      { ...lineage.pushFactsOf(outcome, target.workspaceDir, target.uri.fsPath), buildId },
      { store: await this.ops.store(target.workspaceDir) },
    );
    this.log.info(`pushed ${outcome.digestReference} in ${outcome.seconds.toFixed(1)}s (credentials: ${outcome.credentials})`);
    return {
      reference: outcome.reference,
      digest: outcome.digest,
      digestReference: outcome.digestReference,
      registry: outcome.registry,
      buildId,
      recordId: record.id,
      seconds: outcome.seconds,
    };
  }

  /** For the registry input box: undefined when `value` is a registry, else why not. */
  async registryProblem(value: string): Promise<string | undefined> {
    const { parseRegistry } = await import('../core/docker/push');
    try {
      parseRegistry(value);
      return undefined;
    } catch (e) {
      return (e as Error).message;
    }
  }
}

/**
 * Push needs trust even for an image already built: it sends the workspace's image away with the
 * user's registry credentials, and pushing a notebook builds it first (which runs its code).
 */
export function requirePushTrust(): void {
  requireTrust('Pushing an image', "it builds the notebook's image and sends it to a registry with your Docker credentials");
}

/** The registry as the core normalizes it (no trailing slash), for remembering it. */
export async function normalizedRegistry(value: string): Promise<string> {
  const { parseRegistry } = await import('../core/docker/push');
  return parseRegistry(value).prefix;
}
