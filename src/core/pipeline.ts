/**
 * The engine's front door, shared by the CLI and the extension:
 * read -> plan -> generate -> write. Heavy analysers load on first use.
 */
import { promises as fs } from 'fs';
import * as path from 'path';
import { memoizeAnalyzer } from './analysis/memo';
import { analysisBuildId, PersistentAnalyses } from './analysis/persistent';
import type { CellAnalyzer } from './analysis/types';
import { CancelledError, Diagnostic, formatLocated, Nb2prodError } from './errors';
import { findDataFiles, findLocalModules, LocalFile, looksLikeSecret, MAX_COPIED_DATA_BYTES, stringLiterals } from './generate/dataFiles';
import { resolveBaseImage } from './generate/dockerfile';
import type { GeneratedFile } from './generate/files';
import { buildManifest, PipelineManifest } from './generate/manifest';
import { generatePythonPackage } from './generate/python/package';
import { generateReadme } from './generate/readme';
import { generateTypeScriptPackage } from './generate/typescript';
import { defaultNodeBaseImage } from './generate/typescript/dockerfile';
import { sha256 } from './hash';
import { contentHash } from './notebook/read';
import type { CellKind, Notebook } from './notebook/model';
import type { Plan } from './plan/model';
import { buildPlan, planHash } from './plan/planner';
import { assignCells } from './tags/assign';
import { slugify } from './tags/slug';
import { editedFiles, MANIFEST, readPreviousManifest, writeTree } from './write/writer';

export { readNotebookFile, parseNotebook } from './notebook/read';

const analyzers = new Map<string, Promise<CellAnalyzer>>();

function analyzerFor(language: string, oneShot?: { charsToParse: number }): Promise<CellAnalyzer> {
  let analyzer = analyzers.get(language);
  if (!analyzer) {
    analyzer =
      language === 'python'
        ? import('./analysis/python')
            .then((m) => {
              if (oneShot) m.preferQuickStart(oneShot.charsToParse);
              return m.createPythonAnalyzer();
            })
            .then((a) => memoizeAnalyzer(a))
        : import('./analysis/typescript').then((m) => m.createTypeScriptAnalyzer(language as 'typescript' | 'javascript')).then((a) => memoizeAnalyzer(a));
    analyzers.set(language, analyzer);
  }
  return analyzer;
}

/** A notebook from cells held in memory (the VS Code editor, unsaved edits included). */
export function notebookFromCells(
  notebookPath: string,
  language: string,
  cells: { kind: CellKind; source: string; tags: string[]; id?: string }[],
): Notebook {
  const seen = new Set<string>();
  const normalized = cells.map((c, index) => {
    let id = c.id && /^[A-Za-z0-9_-]{1,64}$/.test(c.id) && !seen.has(c.id) ? c.id : `cell-${index}`;
    while (seen.has(id)) id += '_';
    seen.add(id);
    return { index, id, kind: c.kind, source: c.source, tags: c.tags };
  });
  const lang = language.toLowerCase();
  return {
    path: notebookPath,
    nbformat: 4,
    nbformatMinor: 5,
    language: lang,
    cells: normalized,
    contentHash: contentHash(lang, normalized),
    diagnostics: [],
  };
}

export interface PlanOptions {
  /** Keep analyses between runs in this user cache directory, under the notebook's absolute path (see analysis/persistent.ts). */
  analysisCache?: { dir: string; notebookFile: string };
  /** The process exits after this run (the CLI): tune the parser for a quick start, never for a long-lived host. */
  oneShot?: boolean;
}

export async function planNotebook(notebook: Notebook, opts: PlanOptions = {}): Promise<Plan> {
  const build = analysisBuildId();
  const cache = opts.analysisCache;
  const stored = cache && build ? await PersistentAnalyses.open(cache.dir, build, cache.notebookFile, notebook.language) : undefined;
  const unknown = assignCells(notebook.cells).cells.filter((a) => a.role !== 'skip' && !stored?.has(a.cell.source));
  // Loading the parser is a large part of a small run: skip it when every cell is known.
  const charsToParse = unknown.reduce((n, a) => n + a.cell.source.length, 0);
  const parser = stored && unknown.length === 0 ? undefined : await analyzerFor(notebook.language, opts.oneShot ? { charsToParse } : undefined);
  if (!stored) return buildPlan(notebook, parser!);
  const plan = buildPlan(notebook, stored.analyzer(notebook.language, parser));
  await stored.save();
  return plan;
}

/** Thrown when a plan has errors; carries every diagnostic, the message names the first. */
export class PlanError extends Nb2prodError {
  constructor(
    readonly file: string,
    readonly diagnostics: Diagnostic[],
  ) {
    const errors = diagnostics.filter((d) => d.severity === 'error');
    const first = errors[0];
    super(
      `${first?.message ?? 'the notebook cannot be planned'}${errors.length > 1 ? ` (and ${errors.length - 1} more)` : ''}`,
      { file, cell: first?.cell, cellId: first?.cellId, line: first?.line, column: first?.column },
      'PLAN',
    );
  }

  lines(): string[] {
    return this.diagnostics
      .filter((d) => d.severity === 'error')
      .map((d) => `error: ${formatLocated(d.message, { file: this.file, cell: d.cell, cellId: d.cellId, line: d.line, column: d.column })}`);
  }
}

export function assertPlannable(plan: Plan): void {
  if (plan.diagnostics.some((d) => d.severity === 'error')) throw new PlanError(plan.notebook, plan.diagnostics);
}

export interface ProductionizeOptions {
  cwd: string;
  out?: string;
  force?: boolean;
  signal?: AbortSignal;
  /** Already-read notebook (e.g. the editor's cells); read from disk otherwise. */
  notebook?: Notebook;
  baseImage?: string;
  env?: NodeJS.ProcessEnv;
  /** A user cache directory for analyses kept between runs (see PlanOptions). */
  analysisCacheDir?: string;
  /** See PlanOptions. */
  oneShot?: boolean;
}

export interface ProductionizeResult {
  outDir: string;
  manifest: PipelineManifest;
  plan: Plan;
  /** Generated files the user had edited: kept, not overwritten (use force to overwrite). */
  kept: string[];
  written: string[];
  warnings: string[];
  dataFiles: LocalFile[];
}

export async function productionize(notebookPath: string, opts: ProductionizeOptions): Promise<ProductionizeResult> {
  const checkpoint = () => {
    if (opts.signal?.aborted) throw new CancelledError('Productionize');
  };
  const absNotebook = path.resolve(opts.cwd, notebookPath);
  const shownPath = workspaceRelative(opts.cwd, absNotebook);
  const notebook = { ...(opts.notebook ?? (await (await import('./notebook/read')).readNotebookFile(absNotebook))), path: shownPath };
  checkpoint();
  const analysisCache = opts.analysisCacheDir ? { dir: opts.analysisCacheDir, notebookFile: absNotebook } : undefined;
  const plan = await planNotebook(notebook, { analysisCache, oneShot: opts.oneShot });
  assertPlannable(plan);
  checkpoint();

  const slug = notebookSlug(absNotebook);
  const outDir = pipelineOutDir(opts.cwd, absNotebook, opts.out);
  const notebookDir = path.dirname(absNotebook);
  const warnings: string[] = plan.diagnostics.filter((d) => d.severity === 'warning').map((d) => formatLocated(d.message, { file: shownPath, cell: d.cell, line: d.line }));
  // Module specifiers name files too (`import { sum } from './lib/util.mjs'`); Python's local modules are found by name below.
  const importCode = plan.language === 'python' ? [] : [...plan.steps.flatMap((s) => s.imports), ...plan.sharedImports].map((i) => i.code);
  const code = [...plan.steps.map((s) => s.code), ...plan.sharedCode.map((c) => c.body), ...plan.definitions.map((d) => d.code), ...importCode].join('\n');
  const paramStrings = Object.values(plan.params).filter((v): v is string => typeof v === 'string');
  const found = await findDataFiles(notebookDir, [...stringLiterals(code), ...paramStrings]);
  const dataFiles = found.filter((f) => f.bytes <= MAX_COPIED_DATA_BYTES && !isInside(outDir, f.absPath) && !looksLikeSecret(f.relPath));
  for (const f of found.filter((f) => !dataFiles.includes(f))) {
    const why = looksLikeSecret(f.relPath) ? 'it looks like a secret' : `${(f.bytes / 1e6).toFixed(0)} MB`;
    if (!isInside(outDir, f.absPath)) warnings.push(`${f.relPath}: not copied into the pipeline (${why}); mount it at run time`);
  }
  const localModules = plan.language === 'python' ? await findLocalModules(notebookDir, plan.requirements.modules) : [];
  const copies = [...dataFiles, ...localModules];
  const hash = planHash(plan);
  const runner = runnerFor(notebook);
  const fallback = runner === 'python' ? undefined : defaultNodeBaseImage(runner);
  const baseImage = resolveBaseImage({ option: opts.baseImage, env: opts.env ?? process.env, fallback });
  checkpoint();

  const generated = generateFiles(plan, runner, {
    notebookPath: shownPath,
    slug,
    packageName: slug,
    baseImage,
    pins: await readPins(notebookDir),
    planHash: hash,
    localModules: localModules.map((m) => m.relPath.replace(/\.py$/, '')),
    extraPaths: [...new Set(copies.map((c) => c.relPath.split('/')[0]))].sort(),
  });
  warnings.push(...generated.warnings);
  const copyHashes = await Promise.all(copies.map(async (c) => [c.relPath, sha256(await fs.readFile(c.absPath))] as const));
  const manifest = buildManifest(plan, {
    slug,
    packageName: slug,
    notebookPath: shownPath,
    notebookFromPipeline: path.relative(outDir, absNotebook).split(path.sep).join('/'),
    planHash: hash,
    baseImage,
    files: generated.files,
    copies: Object.fromEntries(copyHashes),
    runner,
    ...(runner === 'python' ? {} : { stepFile: (step: string) => `steps/${step}.mjs` }),
  });
  const files: GeneratedFile[] = [...generated.files, { path: MANIFEST, content: JSON.stringify(manifest, null, 2) + '\n' }];

  const previous = await readPreviousManifest(outDir);
  const edited = opts.force ? [] : await editedFiles(outDir, previous);
  checkpoint();
  const result = await writeTree(outDir, files, copies, previous, new Set(edited));
  if (result.kept.length) {
    // The manifest must keep describing what we generated, so the kept edits stay detectable.
    for (const rel of result.kept) if (previous?.files[rel]) manifest.files[rel] = previous.files[rel];
    await fs.writeFile(path.join(outDir, MANIFEST), JSON.stringify(manifest, null, 2) + '\n');
  }
  return { outDir, manifest, plan, kept: result.kept, written: result.written, warnings, dataFiles };
}

type Runner = PipelineManifest['runner'];

function runnerFor(notebook: Notebook): Runner {
  if (notebook.language === 'python') return 'python';
  return notebook.kernelName?.toLowerCase() === 'deno' ? 'deno' : 'node';
}

function generateFiles(plan: Plan, runner: Runner, opts: Parameters<typeof generatePythonPackage>[1]): { files: GeneratedFile[]; warnings: string[] } {
  const generated = runner === 'python' ? generatePythonPackage(plan, opts) : { files: generateTypeScriptPackage(plan, { ...opts, runtime: runner }), warnings: [] };
  // Both runners get the same README: it describes the plan, not the language.
  generated.files.push({ path: 'README.md', content: generateReadme(plan, { ...opts, runner }) });
  return generated;
}

async function readPins(notebookDir: string): Promise<string[]> {
  const text = await fs.readFile(path.join(notebookDir, 'requirements.txt'), 'utf8').catch(() => '');
  return text.split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#') && !l.startsWith('-'));
}

export function workspaceRelative(cwd: string, abs: string): string {
  const rel = path.relative(cwd, abs);
  return rel && !rel.startsWith('..') && !path.isAbsolute(rel) ? rel.split(path.sep).join('/') : abs;
}

function isInside(dir: string, file: string): boolean {
  const rel = path.relative(dir, file);
  return !!rel && !rel.startsWith('..') && !path.isAbsolute(rel);
}

export function notebookSlug(notebookPath: string): string {
  return slugify(path.basename(notebookPath).replace(/\.ipynb$/i, ''), 'notebook');
}

/** Where productionize writes: `out` when given, else `pipelines/<slug>/` under `cwd`. */
export function pipelineOutDir(cwd: string, notebookPath: string, out?: string): string {
  return path.resolve(cwd, out ?? path.join('pipelines', notebookSlug(notebookPath)));
}
