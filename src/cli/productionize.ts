import { userCacheDir } from '../core/analysis/persistent';
import { productionize, ProductionizeResult } from '../core/pipeline';
import { CommandSpec, ParsedArgs, PRODUCTIONIZE_OPTIONS, stringFlag } from './args';
import { CliContext, EXIT } from './context';
import { recordVersion } from './recording';

export const productionizeSpec: CommandSpec = {
  name: 'productionize',
  arguments: '<notebook>',
  summary: 'write the pipeline package (prints its directory)',
  options: PRODUCTIONIZE_OPTIONS,
  handler: productionizeCommand,
};

async function productionizeCommand(args: ParsedArgs, ctx: CliContext): Promise<number> {
  const result = await productionizeForCli(args.positionals[0], args, ctx);
  ctx.out(result.outDir);
  return EXIT.ok;
}

/** Productionize with the shared options (--out, --force, --base-image), report, and record the version. */
export async function productionizeForCli(notebook: string, args: ParsedArgs, ctx: CliContext): Promise<ProductionizeResult> {
  const result = await productionize(notebook, {
    cwd: ctx.cwd,
    out: stringFlag(args, 'out'),
    force: args.flags.has('force'),
    baseImage: stringFlag(args, 'base-image'),
    signal: ctx.signal,
    env: ctx.env,
    analysisCacheDir: analysisCacheDir(args, ctx),
    oneShot: true,
  });
  for (const w of result.warnings) ctx.err(`warning: ${w}`);
  for (const k of result.kept) ctx.err(`kept your edited ${k} (not overwritten; use --force to regenerate it)`);
  await recordVersion(ctx, args, result);
  return result;
}

/** Where analyses are kept between runs: off with --no-cache or NB2PROD_NO_CACHE=1. */
export function analysisCacheDir(args: ParsedArgs, ctx: CliContext): string | undefined {
  return args.flags.has('no-cache') ? undefined : userCacheDir(ctx.env);
}
