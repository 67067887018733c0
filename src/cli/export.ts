/**
 * `nb2prod export kfp|argo NB|PIPELINE_DIR [--image REF] [--out FILE] [--volume CLAIM]`
 * Prints the written file's path on stdout; warnings go to stderr.
 */
import * as path from 'path';
import { exportPipeline } from '../core/export/export';
import { EXPORT_TARGETS, ExportTarget } from '../core/export/tasks';
import { CommandSpec, OPTIONS, ParsedArgs, stringFlag } from './args';
import { pipelineDir, PIPELINE_ARGUMENT } from './build';
import { CliContext, EXIT, UsageError } from './context';
import { recordExportResult, workspaceDir } from './recording';

export const exportSpec: CommandSpec = {
  name: 'export',
  arguments: `<target> ${PIPELINE_ARGUMENT}`,
  summary: 'write the pipeline as a Kubeflow Pipelines (kfp) or Argo Workflows (argo) file (prints its path)',
  options: [
    { flags: '--image <ref>', help: 'image the tasks run (default: the last pushed digest, else the local build tag)' },
    { flags: '--out <file>', help: 'file to write (default: <pipeline dir>/<slug>.<target>.yaml)' },
    { flags: '--volume <claim>', help: 'argo: pass values on this PersistentVolumeClaim instead of as artifacts' },
    // A notebook is productionized first, into its default pipeline directory.
    OPTIONS.force,
    OPTIONS.baseImage,
    OPTIONS.noCache,
    OPTIONS.workspace,
  ],
  handler: exportCommand,
};

async function exportCommand(args: ParsedArgs, ctx: CliContext): Promise<number> {
  const [target, input] = args.positionals;
  if (!(EXPORT_TARGETS as readonly string[]).includes(target)) throw new UsageError(`unknown export target '${target}': use ${EXPORT_TARGETS.join(' or ')}`);
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
