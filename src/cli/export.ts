/**
 * `nb2prod export kfp|argo NB|PIPELINE_DIR [--image REF] [--out FILE] [--volume CLAIM]`
 * `nb2prod export kserve NB|PIPELINE_DIR [--image REF] [--run RUN] [--out FILE]`
 * Prints the written file's path on stdout; warnings go to stderr.
 */
import * as path from 'path';
import { exportPipeline } from '../core/export/export';
import { exportKserve } from '../core/export/kserve';
import { recordExport } from '../core/lineage';
import { EXPORT_TARGETS, ExportTarget } from '../core/export/tasks';
import { CommandSpec, OPTIONS, ParsedArgs, stringFlag } from './args';
import { pipelineDir, PIPELINE_ARGUMENT } from './build';
import { CliContext, EXIT, UsageError } from './context';
import { recordExportResult, workspaceDir } from './recording';

export const exportSpec: CommandSpec = {
  name: 'export',
  arguments: `<target> ${PIPELINE_ARGUMENT}`,
  summary: "write the pipeline as a Kubeflow Pipelines (kfp) or Argo Workflows (argo) file, or a run's model as a KServe InferenceService (kserve); prints its path",
  options: [
    { flags: '--image <ref>', help: 'image the tasks run (default: the last pushed digest, else the local build tag)' },
    { flags: '--out <file>', help: 'file to write (default: <pipeline dir>/<slug>.<target>.yaml)' },
    { flags: '--volume <claim>', help: 'argo: pass values on this PersistentVolumeClaim instead of as artifacts' },
    { flags: '--run <run>', help: 'kserve: the run whose model to serve (default: the latest run that succeeded)' },
    // A notebook is productionized first, into its default pipeline directory.
    OPTIONS.force,
    OPTIONS.baseImage,
    OPTIONS.noCache,
    OPTIONS.workspace,
    OPTIONS.objects,
  ],
  handler: exportCommand,
};

async function exportCommand(args: ParsedArgs, ctx: CliContext): Promise<number> {
  const [target, input] = args.positionals;
  if (target === 'kserve') return kserveCommand(args, ctx);
  if (!(EXPORT_TARGETS as readonly string[]).includes(target)) throw new UsageError(`unknown export target '${target}': use ${[...EXPORT_TARGETS, 'kserve'].join(', ')}`);
  for (const only of ['run', 'objects']) if (args.flags.has(only)) throw new UsageError(`--${only} is for kserve exports (a pipeline export takes the pipeline as it is)`);
  const volume = stringFlag(args, 'volume');
  if (volume !== undefined && target !== 'argo') throw new UsageError('--volume is for argo exports (KFP passes values as artifacts)');
  // --out names the exported file here, not the pipeline directory productionize would write.
  const flags = new Map(args.flags);
  flags.delete('out');
  const source = await pipelineDir({ positionals: [input], flags, lists: args.lists }, ctx);
  const out = stringFlag(args, 'out');
  const result = await exportPipeline({
    dir: source.dir,
    target: target as ExportTarget,
    image: stringFlag(args, 'image'),
    out: out === undefined ? undefined : path.resolve(ctx.cwd, out),
    volume,
    paramSource: source.productionized?.plan.paramSource,
    pushedImage: async (dir) => {
      const { lastPushedDigest } = await import('../core/docker/push');
      return lastPushedDigest(workspaceDir(ctx, stringFlag(args, 'workspace')), dir, { baseImage: stringFlag(args, 'base-image') });
    },
  });
  for (const w of result.warnings) ctx.err(`warning: ${w}`);
  await recordExportResult(ctx, stringFlag(args, 'workspace'), source.dir, result);
  ctx.out(result.file);
  return EXIT.ok;
}

/** The serving image of a recorded run as an InferenceService: reads the lineage and object store, builds nothing. */
async function kserveCommand(args: ParsedArgs, ctx: CliContext): Promise<number> {
  if (args.flags.has('volume')) throw new UsageError('--volume is for argo exports');
  const ws = workspaceDir(ctx, stringFlag(args, 'workspace'));
  const out = stringFlag(args, 'out');
  const objects = stringFlag(args, 'objects');
  const result = await exportKserve({
    workspaceDir: ws,
    target: path.resolve(ctx.cwd, args.positionals[1]),
    runId: stringFlag(args, 'run'),
    image: stringFlag(args, 'image'),
    out: out === undefined ? undefined : path.resolve(ctx.cwd, out),
    baseImage: stringFlag(args, 'base-image'),
    objectsDir: objects === undefined ? undefined : path.resolve(ctx.cwd, objects),
    env: ctx.env,
  });
  for (const w of result.warnings) ctx.err(`warning: ${w}`);
  await recordExport({
    workspaceDir: ws,
    notebookPath: result.notebook,
    versionId: result.versionId,
    target: 'kserve',
    file: result.file,
    sha256: result.sha256,
    bytes: result.bytes,
    image: result.image,
    imageSource: result.imageSource,
  });
  ctx.out(result.file);
  return EXIT.ok;
}
