/**
 * `nb2prod lineage [NB] [--json]`, `lineage diff V1 V2`, `lineage trace IMAGE|FILE|SHA`, `lineage verify`.
 * The workspace is the current directory or `--workspace DIR`; paths given are relative to the cwd.
 */
import * as fs from 'fs';
import * as path from 'path';
import { CliContext, EXIT, UsageError } from './context';
import { CommandSpec, OPTIONS, ParsedArgs, stringFlag } from './args';
import {
  diffVersions,
  findByIdPrefix,
  loadModel,
  openStore,
  trace,
  verifyStore,
  workspaceRelative,
  hashFile,
  LineageModel,
  TraceHit,
} from '../core/lineage';
import { auditObjects, ObjectAudit } from '../core/store/gc';
import { objectsOf } from './recording';
import { renderDiffText, renderTraceText, renderTreeText, renderVerifyText, traceJson, treeJson } from '../core/lineage/render';

const LINEAGE_OPTIONS = [OPTIONS.json, OPTIONS.workspace];

/** The subcommands reach the one handler below with their name as the first positional. */
function as(name: string) {
  return (args: ParsedArgs, ctx: CliContext) => lineageCommand({ ...args, positionals: [name, ...args.positionals] }, ctx);
}

export const lineageSpec: CommandSpec = {
  name: 'lineage',
  arguments: '[notebook]',
  summary: 'show the lineage tree (versions, builds, pushes, runs, artifacts, metrics)',
  options: LINEAGE_OPTIONS,
  handler: lineageCommand,
  subcommands: [
    { name: 'diff', arguments: '<v1> <v2>', summary: 'compare two versions (id prefixes ok)', options: LINEAGE_OPTIONS, handler: as('diff') },
    { name: 'trace', arguments: '<image|file|sha>', summary: 'walk from an image, artifact or hash back to its run, version and cells', options: LINEAGE_OPTIONS, handler: as('trace') },
    { name: 'verify', summary: 'check the audit chain of every record, and say which recorded files the object store holds', options: [...LINEAGE_OPTIONS, OPTIONS.objects], handler: as('verify') },
  ],
};

async function lineageCommand(args: ParsedArgs, ctx: CliContext): Promise<number> {
  const json = args.flags.get('json') === true;
  const workspace = path.resolve(ctx.cwd, stringFlag(args, 'workspace') ?? '.');
  const [first, ...rest] = args.positionals;
  const print = (value: unknown) => ctx.out(JSON.stringify(value, null, 2));

  if (first === 'verify') {
    if (rest.length > 0) throw new UsageError('verify takes no arguments');
    const store = openStore(workspace);
    const result = verifyStore(store.file);
    // Objects pruned by gc are reported as such, never as a break: the chain alone decides the exit code.
    const audit = auditObjects(store.read().records, objectsOf(ctx, args));
    if (json) print({ ...result, objects: { ...audit, pruned: Object.fromEntries(audit.pruned) } });
    else {
      for (const line of renderVerifyText(result)) (result.ok ? ctx.out : ctx.err)(line);
      for (const line of renderAudit(audit)) ctx.out(line);
    }
    return result.ok ? EXIT.ok : EXIT.failed;
  }

  const model = loadLineage(workspace, ctx);

  if (first === 'diff') {
    if (rest.length !== 2) throw new UsageError('usage: nb2prod lineage diff V1 V2 (version ids; prefixes ok)');
    const a = findByIdPrefix(model, rest[0], 'version');
    const b = findByIdPrefix(model, rest[1], 'version');
    const diff = diffVersions(a.record, b.record);
    if (json) print(diff);
    else renderDiffText(diff).forEach((l) => ctx.out(l));
    return EXIT.ok;
  }

  if (first === 'trace') {
    if (rest.length !== 1) throw new UsageError('usage: nb2prod lineage trace IMAGE|FILE|SHA');
    const hits = await traceQuery(model, rest[0], workspace, ctx.cwd);
    if (json) print(traceJson(hits));
    else if (hits.length > 0) renderTraceText(hits).forEach((l) => ctx.out(l));
    if (hits.length === 0) {
      if (!json) ctx.err(`nothing in the lineage store matches ${JSON.stringify(rest[0])} (an image id or tag, a pushed reference, an artifact path or sha256)`);
      return EXIT.failed;
    }
    return EXIT.ok;
  }

  if (rest.length > 0) throw new UsageError(`unexpected argument ${JSON.stringify(rest[0])}`);
  const notebook = first === undefined ? undefined : workspaceRelative(workspace, path.resolve(ctx.cwd, first));
  if (notebook !== undefined && !model.notebooks.has(notebook)) {
    if (json) print({ notebooks: [] });
    else ctx.err(`no lineage recorded for ${notebook}`);
    return json ? EXIT.ok : EXIT.failed;
  }
  if (json) print(treeJson(model, notebook));
  else {
    const lines = renderTreeText(model, notebook);
    if (lines.length === 0) ctx.err(`no lineage recorded yet in ${openStore(workspace).file}`);
    lines.forEach((l) => ctx.out(l));
  }
  return EXIT.ok;
}

function renderAudit(audit: ObjectAudit): string[] {
  if (audit.referenced === 0) return [];
  const dates = [...new Set(audit.pruned.values())].sort().map((ts) => ts.slice(0, 10));
  return [
    `objects: ${audit.referenced} recorded, ${audit.present} in the object store` +
      (audit.pruned.size > 0 ? `, ${audit.pruned.size} pruned by gc (${[...new Set(dates)].join(', ')})` : '') +
      (audit.missing.length > 0 ? `, ${audit.missing.length} never stored or removed by hand` : ''),
  ];
}

/** The model of the workspace's store, damaged lines reported on stderr. */
export function loadLineage(workspace: string, ctx: CliContext): LineageModel {
  // Strict: every damaged line is reported and skipped, as a full read does. Through the
  // snapshot, only the lines appended since it was taken are read and checked.
  const { model, problems } = loadModel(openStore(workspace), { strict: true });
  // Problems go to stderr in both modes so --json output stays parseable.
  for (const p of problems) ctx.err(`warning: lineage store: ${p.message}`);
  return model;
}

/**
 * As typed (image id, sha prefix, workspace-relative path), then as a path relative to the cwd,
 * then by content: a copied or renamed model file is still found by its sha256.
 */
async function traceQuery(model: LineageModel, query: string, workspace: string, cwd: string): Promise<TraceHit[]> {
  const direct = trace(model, query);
  if (direct.length > 0) return direct;
  const abs = path.resolve(cwd, query);
  const rel = workspaceRelative(workspace, abs);
  if (rel !== query) {
    const byPath = trace(model, rel);
    if (byPath.length > 0) return byPath;
  }
  try {
    if (fs.statSync(abs).isFile()) return trace(model, (await hashFile(abs)).sha256);
  } catch {
    // not a file: nothing more to try
  }
  return [];
}
