/**
 * `nb2prod export kfp|argo NB|PIPELINE_DIR [--image REF] [--out FILE] [--volume CLAIM]`
 * Prints the written file's path on stdout; warnings go to stderr.
 */
import * as path from 'path';
import { exportPipeline } from '../core/export/export';
import { EXPORT_TARGETS, ExportTarget } from '../core/export/tasks';
import { pipelineDir } from './build';
import { parseArgs, stringFlag } from './args';
import { CliContext, EXIT, UsageError } from './context';
import { recordExportResult } from './recording';

const USAGE = 'usage: nb2prod export kfp|argo NOTEBOOK|PIPELINE_DIR [--image REF] [--out FILE] [--volume CLAIM (argo)]';
const SPEC = { image: 'value', out: 'value', volume: 'value', workspace: 'value', 'no-cache': 'bool' } as const;

export async function exportCommand(argv: string[], ctx: CliContext): Promise<number> {
  const args = parseArgs(argv, SPEC);
  const [target, input, ...extra] = args.positionals;
  if (!target || !input || extra.length > 0) throw new UsageError(USAGE);
  if (!(EXPORT_TARGETS as readonly string[]).includes(target)) throw new UsageError(`unknown export target '${target}': use kfp or argo\n${USAGE}`);
  const volume = stringFlag(args, 'volume');
  if (volume !== undefined && target !== 'argo') throw new UsageError('--volume is for argo exports (KFP passes values as artifacts)');
  // --out names the exported file here: a notebook is productionized into its default directory.
  const { out, ...productionizeFlags } = Object.fromEntries(args.flags);
  const source = await pipelineDir({ positionals: [input], flags: new Map(Object.entries(productionizeFlags)), lists: args.lists }, ctx);
  const result = await exportPipeline({
    dir: source.dir,
    target: target as ExportTarget,
    image: stringFlag(args, 'image'),
    out: typeof out === 'string' ? path.resolve(ctx.cwd, out) : undefined,
    volume,
    paramSource: source.productionized?.plan.paramSource,
  });
  for (const w of result.warnings) ctx.err(`warning: ${w}`);
  await recordExportResult(ctx, stringFlag(args, 'workspace'), source.dir, result);
  ctx.out(result.file);
  return EXIT.ok;
}
