/**
 * `nb2prod checkout VERSION|RUN [--to DIR] [--force]` and `nb2prod gc [--keep-runs N] [--keep-days D] [--dry-run]`:
 * the object store's commands. The workspace is the current directory or `--workspace DIR`.
 */
import * as path from 'path';
import { loadModel, openStore } from '../core/lineage';
import { formatBytes } from '../core/lineage/render';
import { checkout, checkoutTarget, CheckoutResult } from '../core/store/checkout';
import { collectGarbage, GC_DEFAULTS, GcResult } from '../core/store/gc';
import { CommandSpec, OPTIONS, ParsedArgs, stringFlag } from './args';
import { CliContext, EXIT, UsageError } from './context';
import { objectsOf, workspaceDir } from './recording';

export const checkoutSpec: CommandSpec = {
  name: 'checkout',
  arguments: '<version|run>',
  summary: "restore a version's package and data files (a run's: also its artifacts) from the object store",
  options: [
    { flags: '--to <dir>', help: 'restore under this directory, in the workspace layout (default: where the files were)' },
    { flags: '--force', help: 'overwrite files you changed' },
    OPTIONS.workspace,
    OPTIONS.objects,
    OPTIONS.json,
  ],
  handler: checkoutCommand,
};

export const gcSpec: CommandSpec = {
  name: 'gc',
  summary: 'remove stored objects no kept version or run references',
  options: [
    { flags: '--keep-runs <n>', help: `keep the files of each notebook's last N runs and their versions (default: ${GC_DEFAULTS.keepRuns})` },
    { flags: '--keep-days <d>', help: `keep the files of every version newer than D days (default: ${GC_DEFAULTS.keepDays})` },
    { flags: '--dry-run', help: 'print what would be removed; remove nothing' },
    OPTIONS.workspace,
    OPTIONS.objects,
    OPTIONS.json,
  ],
  handler: gcCommand,
};

async function checkoutCommand(args: ParsedArgs, ctx: CliContext): Promise<number> {
  const ws = workspaceDir(ctx, stringFlag(args, 'workspace'));
  const store = openStore(ws);
  const { model, problems } = loadModel(store, { strict: true });
  for (const p of problems) ctx.err(`warning: lineage store: ${p.message}`);
  const node = checkoutTarget(model, args.positionals[0]);
  const to = stringFlag(args, 'to');
  const result = await checkout(node, {
    workspaceDir: ws,
    objects: objectsOf(ctx, args),
    records: store.read().records,
    ...(to ? { to: path.resolve(ctx.cwd, to) } : {}),
    force: args.flags.has('force'),
  });
  if (args.flags.has('json')) ctx.out(JSON.stringify({ kind: node.kind, id: node.id, ...result }, null, 2));
  else printCheckout(ctx, `${node.kind} ${node.id} of ${node.record.notebook}`, result);
  const incomplete = result.conflicts.length + result.pruned.length + result.missing.length + result.skipped.length > 0;
  return incomplete ? EXIT.failed : EXIT.ok;
}

function printCheckout(ctx: CliContext, what: string, r: CheckoutResult): void {
  if (r.conflicts.length > 0) {
    ctx.err(`checkout of ${what} not done: you changed these files since nb2prod wrote them (--force overwrites them):`);
    for (const f of r.conflicts) ctx.err(`  ${f}`);
    return;
  }
  ctx.out(`checked out ${what}: ${r.restored.length} file(s) restored, ${r.unchanged.length} already as recorded`);
  for (const p of r.pruned) ctx.err(`  ${p.path}: object ${p.sha256.slice(0, 12)} was pruned by gc on ${p.on}`);
  for (const m of r.missing) ctx.err(`  ${m.path}: object ${m.sha256.slice(0, 12)} is not in the object store (never stored, or removed by hand)`);
  for (const s of r.skipped) ctx.err(`  ${s}: recorded outside the workspace; not restored under --to`);
}

async function gcCommand(args: ParsedArgs, ctx: CliContext): Promise<number> {
  const policy = { keepRuns: count(args, 'keep-runs', GC_DEFAULTS.keepRuns), keepDays: count(args, 'keep-days', GC_DEFAULTS.keepDays) };
  const dryRun = args.flags.has('dry-run');
  const result = await collectGarbage(openStore(workspaceDir(ctx, stringFlag(args, 'workspace'))), objectsOf(ctx, args), { policy, dryRun });
  if (args.flags.has('json')) ctx.out(JSON.stringify({ dryRun, ...result, removed: result.removed.map((o) => o.sha256) }, null, 2));
  else printGc(ctx, result, dryRun);
  return EXIT.ok;
}

function printGc(ctx: CliContext, r: GcResult, dryRun: boolean): void {
  ctx.out(`keeping the files of each notebook's last ${r.policy.keepRuns} runs and their versions, versions newer than ${r.policy.keepDays} days, and each notebook's latest version (${r.keptVersions} versions, ${r.keptRuns} runs)`);
  const verb = dryRun ? 'would free' : 'freed';
  ctx.out(`${verb} ${formatBytes(r.bytes)} in ${r.removed.length} object(s); ${r.remaining} object(s) kept${dryRun ? ' (dry run: nothing removed)' : ''}`);
  if (r.running > 0) ctx.out(`kept ${r.running} unreferenced object(s) written since a pipeline still running started`);
  if (r.views > 0) ctx.out(`removed ${r.views} artifact file(s) of pruned runs (read-only views of the pruned objects)`);
}

function count(args: ParsedArgs, name: string, fallback: number): number {
  const value = stringFlag(args, name);
  if (value === undefined) return fallback;
  if (!/^[0-9]+$/.test(value)) throw new UsageError(`--${name} expects a whole number, got '${value}'`);
  return Number(value);
}
