/** Text and JSON views of the model, diffs, traces and verify results (what the CLI prints). */
import { digestReference } from '../docker/reference';
import type { BuildNode, ExportNode, LineageModel, NotebookNode, PushNode, ReproductionNode, RunNode, ServeNode, VersionNode } from './model';
import type { FileChanges, TraceHit, VersionDiff } from './queries';
import type { VerifyResult } from './verify';

const SHORT = 12;

export function short(hash: string | undefined): string {
  if (!hash) return '-';
  return hash.replace(/^sha256:/, '').slice(0, SHORT);
}

/** `2026-01-31 12:00:05Z`: UTC, so output does not depend on the machine. */
export function shortTime(iso: string | undefined): string {
  if (!iso) return '-';
  return iso.replace('T', ' ').replace(/\.\d+Z$/, 'Z');
}

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ['KB', 'MB', 'GB', 'TB'];
  let v = n;
  let i = -1;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v.toFixed(1)} ${units[i]}`;
}

function formatMetrics(metrics: Record<string, unknown> | undefined): string {
  const entries = Object.entries(metrics ?? {});
  if (entries.length === 0) return '';
  return entries
    .map(([k, v]) => `${k}=${typeof v === 'number' ? (Number.isInteger(v) ? String(v) : String(Number(v.toPrecision(4)))) : JSON.stringify(v)}`)
    .join(' ');
}

function cellsText(cells: { index: number; id: string }[]): string {
  return cells.length === 0 ? 'cells ?' : `cells ${cells.map((c) => `${c.index}${c.id ? `(${c.id})` : ''}`).join(', ')}`;
}

function selectNotebooks(model: LineageModel, notebook?: string): NotebookNode[] {
  const all = [...model.notebooks.values()].sort((a, b) => a.path.localeCompare(b.path));
  return notebook === undefined ? all : all.filter((n) => n.path === notebook);
}

// ---- the tree ----

export function renderTreeText(model: LineageModel, notebook?: string): string[] {
  const lines: string[] = [];
  for (const nb of selectNotebooks(model, notebook)) {
    lines.push(nb.path);
    for (const v of nb.versions) {
      lines.push(`  ${versionLine(v)}`);
      for (const b of v.builds) buildLines(b, '    ', lines);
      for (const p of v.pushes.filter((p) => !p.build)) lines.push(`    ${pushLine(p)}`);
      for (const r of v.runs) runLines(model, r, '    ', lines);
      for (const e of v.exports) lines.push(`    ${exportLine(e)}`);
    }
    const { builds, runs, exports } = nb.unversioned;
    // Pushes with a known build are listed under it.
    const pushes = nb.unversioned.pushes.filter((p) => !p.build);
    if (builds.length + runs.length + pushes.length + exports.length > 0) {
      lines.push('  (no recorded version)');
      for (const b of builds) buildLines(b, '    ', lines);
      for (const p of pushes) lines.push(`    ${pushLine(p)}`);
      for (const r of runs) runLines(model, r, '    ', lines);
      for (const e of exports) lines.push(`    ${exportLine(e)}`);
    }
  }
  return lines;
}

function versionLine(v: VersionNode): string {
  const r = v.record;
  const parts = [`version ${short(v.id)}`, shortTime(r.ts), `nb ${short(r.notebookHash)}`, `plan ${short(r.planHash)}`];
  if (r.git) parts.push(`git ${r.git.commit.slice(0, 8)}${r.git.dirty ? ' (dirty)' : ''}`);
  parts.push(`${r.steps.length} step${r.steps.length === 1 ? '' : 's'}`, `${r.files.length} files`);
  if ((r.data ?? []).length > 0) parts.push(`data ${r.data.map((d) => `${d.path}@${short(d.sha256).slice(0, 8)}`).join(' ')}`);
  return parts.join('  ');
}

/** A build and, under it, where its image was pushed. */
function buildLines(b: BuildNode, indent: string, lines: string[]): void {
  lines.push(indent + buildLine(b));
  for (const p of b.pushes) lines.push(`${indent}  ${pushLine(p)}`);
}

function pushLine(p: PushNode): string {
  const r = p.record;
  return [`push ${short(p.id)}`, shortTime(r.ts), `${r.seconds.toFixed(1)}s`, digestReference(r.reference, r.digest)].join('  ');
}

function buildLine(b: BuildNode): string {
  const r = b.record;
  const parts = [`build ${short(b.id)}`, r.status, shortTime(r.ts), `${r.seconds.toFixed(1)}s`, `image ${short(r.imageId)}`];
  if (r.tags.length > 0) parts.push(r.tags.join(' '));
  if (r.error && r.status !== 'succeeded') parts.push(`error: ${lastLine(r.error)}`);
  return parts.join('  ');
}

function exportLine(e: ExportNode): string {
  const r = e.record;
  return [`export ${short(e.id)}`, r.target, shortTime(r.ts), r.file, `sha ${short(r.sha256)}`, `image ${r.image}${r.imageSource === 'local' ? ' (local tag)' : ''}`].join('  ');
}

function runLines(model: LineageModel, run: RunNode, indent: string, lines: string[]): void {
  const r = run.record;
  const parts = [`run ${short(run.id)}`, r.status, shortTime(r.ts), r.image ? `image ${short(r.image)}` : 'local'];
  const metrics = formatMetrics(r.metrics);
  if (metrics) parts.push(metrics);
  if (r.error && r.status !== 'succeeded') parts.push(`error: ${lastLine(r.error)}`);
  lines.push(indent + parts.join('  '));
  for (const s of model.steps(run)) {
    const sp = [`step ${s.name || '(no step)'}`];
    if (s.status) sp.push(s.status);
    if (s.seconds !== undefined) sp.push(`${s.seconds.toFixed(2)}s`);
    sp.push(cellsText(s.cells));
    lines.push(`${indent}  ${sp.join('  ')}`);
    for (const a of s.artifacts) lines.push(`${indent}    artifact ${a.path}  ${short(a.sha256)}  ${formatBytes(a.bytes)}`);
  }
  for (const x of run.reproductions) lines.push(`${indent}  ${reproductionLine(x)}`);
  for (const s of run.serves) lines.push(`${indent}  ${serveLine(s)}`);
}

function serveLine(s: ServeNode): string {
  const r = s.record;
  const where = r.local ? 'local' : `${r.image ?? '-'}  image ${short(r.imageId)}`;
  return [`serve ${short(s.id)}`, shortTime(r.ts), where, `model ${r.model}`, `${r.artifacts.length} artifact${r.artifacts.length === 1 ? '' : 's'}`].join('  ');
}

function serveJson(s: ServeNode): Record<string, unknown> {
  const r = s.record;
  return {
    id: s.id,
    created: r.ts,
    model: r.model,
    runId: r.runId,
    local: r.local,
    image: r.image ?? null,
    imageId: r.imageId ?? null,
    hash: r.hash,
    ...(r.function ? { function: r.function } : {}),
    ...(r.cell ? { cell: r.cell } : {}),
    artifacts: r.artifacts,
  };
}

function reproductionLine(x: ReproductionNode): string {
  const r = x.record;
  const c = r.counts;
  const parts = [`reproduction ${short(x.id)}`, r.status, shortTime(r.ts), `run ${r.reproductionRunId}`, `same ${c.same}, differs ${c.differs}, new ${c.new}, missing ${c.missing}`];
  if (r.nondeterministic.length > 0) parts.push(`nondeterministic: ${r.nondeterministic.map((n) => `${n.step} (${n.artifact})`).join(', ')}`);
  return parts.join('  ');
}

function reproductionJson(x: ReproductionNode): Record<string, unknown> {
  const r = x.record;
  return {
    id: x.id,
    status: r.status,
    created: r.ts,
    original: r.original,
    reproduction: r.reproduction,
    reproductionRunId: r.reproductionRunId,
    local: r.local,
    image: r.image ?? null,
    ...(r.rebuilt ? { rebuilt: true } : {}),
    counts: r.counts,
    entries: r.entries,
    nondeterministic: r.nondeterministic,
  };
}

function lastLine(text: string): string {
  const l = text.trimEnd().split('\n');
  return l[l.length - 1];
}

/** The JSON the CLI prints: the shape issue 4 specifies, plus extra fields. */
export function treeJson(model: LineageModel, notebook?: string): { notebooks: unknown[] } {
  return {
    notebooks: selectNotebooks(model, notebook).map((nb) => ({
      path: nb.path,
      versions: nb.versions.map((v) => ({
        id: v.id,
        hash: v.record.notebookHash,
        created: v.record.ts,
        planHash: v.record.planHash,
        ...(v.record.git ? { git: v.record.git } : {}),
        outDir: v.record.outDir,
        package: v.record.package,
        steps: v.record.steps,
        files: v.record.files,
        data: v.record.data ?? [],
        builds: v.builds.map(buildJson),
        runs: v.runs.map((r) => runJson(model, r)),
        pushes: v.pushes.map(pushJson),
        exports: v.exports.map(exportJson),
      })),
      unversioned: {
        builds: nb.unversioned.builds.map(buildJson),
        runs: nb.unversioned.runs.map((r) => runJson(model, r)),
        pushes: nb.unversioned.pushes.map(pushJson),
        exports: nb.unversioned.exports.map(exportJson),
      },
    })),
  };
}

function buildJson(b: BuildNode): Record<string, unknown> {
  const r = b.record;
  return {
    id: b.id,
    image: r.imageId ?? null,
    status: r.status,
    created: r.ts,
    tags: r.tags,
    seconds: r.seconds,
    baseImage: r.baseImage,
    contextHash: r.contextHash,
    dockerfileHash: r.dockerfileHash,
    ...(r.error ? { error: r.error } : {}),
  };
}

function pushJson(p: PushNode): Record<string, unknown> {
  const r = p.record;
  return {
    id: p.id,
    status: r.status,
    created: r.ts,
    buildId: p.build?.id ?? null,
    registry: r.registry,
    reference: r.reference,
    digest: r.digest,
    pushed: digestReference(r.reference, r.digest),
    image: r.imageId,
    contextHash: r.contextHash,
    seconds: r.seconds,
  };
}

function exportJson(e: ExportNode): Record<string, unknown> {
  const r = e.record;
  return { id: e.id, target: r.target, created: r.ts, file: r.file, sha256: r.sha256, bytes: r.bytes, image: r.image, imageSource: r.imageSource };
}

function runJson(model: LineageModel, run: RunNode): Record<string, unknown> {
  const r = run.record;
  return {
    id: run.id,
    status: r.status,
    metrics: r.metrics ?? {},
    artifacts: (r.artifacts ?? []).map((a) => ({ path: a.path, sha256: a.sha256, bytes: a.bytes, ...(a.step ? { step: a.step } : {}) })),
    created: r.ts,
    runId: r.runId,
    image: r.image ?? null,
    local: r.local,
    buildId: run.build?.id ?? null,
    params: r.params ?? {},
    steps: model.steps(run).map((s) => ({ name: s.name, status: s.status ?? null, seconds: s.seconds ?? null, cells: s.cells })),
    ...(r.error ? { error: r.error } : {}),
    ...(r.notes ? { notes: r.notes } : {}),
    ...(run.reproductions.length > 0 ? { reproductions: run.reproductions.map(reproductionJson) } : {}),
    ...(run.serves.length > 0 ? { serves: run.serves.map(serveJson) } : {}),
  };
}

// ---- diff ----

export function renderDiffText(d: VersionDiff): string[] {
  const lines = [`diff ${short(d.from)} → ${short(d.to)}`];
  if (d.same) return [...lines, '  no differences'];
  if (d.notebookChanged) lines.push('  notebook sources changed');
  if (d.planChanged) lines.push('  plan changed');
  if (d.git) lines.push(`  git ${gitText(d.git.from)} → ${gitText(d.git.to)}`);
  const s = d.steps;
  if (s.added.length + s.removed.length + s.changed.length > 0) {
    lines.push('  steps:');
    for (const n of s.added) lines.push(`    + ${n}`);
    for (const n of s.removed) lines.push(`    - ${n}`);
    for (const c of s.changed) {
      const what: string[] = [];
      if (c.fromCells.join() !== c.toCells.join()) what.push(`cells [${c.fromCells.join(', ')}] → [${c.toCells.join(', ')}]`);
      if (c.fromOutputs.join() !== c.toOutputs.join()) what.push(`outputs [${c.fromOutputs.join(', ')}] → [${c.toOutputs.join(', ')}]`);
      lines.push(`    ~ ${c.name}: ${what.join('; ')}`);
    }
  }
  fileLines('generated files', d.files, lines);
  fileLines('data files', d.data, lines);
  return lines;
}

function gitText(g?: { commit: string; dirty: boolean }): string {
  return g ? `${g.commit.slice(0, 8)}${g.dirty ? ' (dirty)' : ''}` : 'none';
}

function fileLines(title: string, c: FileChanges, lines: string[]): void {
  if (c.added.length + c.removed.length + c.changed.length === 0) return;
  lines.push(`  ${title}:`);
  for (const f of c.added) lines.push(`    + ${f.path}  ${short(f.sha256)}  ${formatBytes(f.bytes)}`);
  for (const f of c.removed) lines.push(`    - ${f.path}  ${short(f.sha256)}`);
  for (const f of c.changed) lines.push(`    ~ ${f.path}  ${short(f.from.sha256)} → ${short(f.to.sha256)}  ${formatBytes(f.from.bytes)} → ${formatBytes(f.to.bytes)}`);
}

// ---- trace ----

export function renderTraceText(hits: TraceHit[]): string[] {
  const lines: string[] = [];
  for (const h of hits) {
    if (h.match === 'serve' && h.serve) serveTraceLines(h.serve, lines);
    else if (h.match === 'artifact' && h.artifact) lines.push(`artifact ${h.artifact.path}  ${short(h.artifact.sha256)}  ${formatBytes(h.artifact.bytes)}`);
    else lines.push(`image ${short(h.build?.record.imageId)}`);
    if (h.run) lines.push(`  run ${short(h.run.id)}  ${h.run.record.status}  ${shortTime(h.run.record.ts)}  ${h.run.record.image ? `image ${short(h.run.record.image)}` : 'local'}`);
    if (h.build) lines.push(`  build ${short(h.build.id)}  ${h.build.record.status}  ${shortTime(h.build.record.ts)}  image ${short(h.build.record.imageId)}`);
    if (h.version) {
      const v = h.version.record;
      lines.push(`  version ${short(h.version.id)}  ${shortTime(v.ts)}  nb ${short(v.notebookHash)}${v.git ? `  git ${v.git.commit.slice(0, 8)}${v.git.dirty ? ' (dirty)' : ''}` : ''}`);
    } else lines.push('  version unknown');
    // What a served model was trained on: the version's data files.
    if (h.match === 'serve') for (const d of h.version?.record.data ?? []) lines.push(`    data ${d.path}  ${short(d.sha256)}  ${formatBytes(d.bytes)}`);
    lines.push(`  notebook ${h.notebook}`);
    for (const s of h.steps) lines.push(`    step ${s.name}  ${cellsText(s.cells)}`);
    const cell = h.serve?.record.cell;
    if (cell) lines.push(`    serve ${[h.serve!.record.function, cellsText([cell])].filter(Boolean).join('  ')}`);
  }
  return lines;
}

function serveTraceLines(s: ServeNode, lines: string[]): void {
  const r = s.record;
  lines.push(`served ${r.local ? 'locally' : `image ${r.image ?? '-'}  ${short(r.imageId)}`}  model ${r.model}  run ${r.runId}`);
  lines.push(`  serve ${short(s.id)}  ${shortTime(r.ts)}`);
  for (const a of r.artifacts) lines.push(`    artifact ${a.name}  step ${a.step}  ${short(a.sha256)}`);
  if (!s.run) lines.push(`  run ${short(r.run)}  not in the store`);
}

export function traceJson(hits: TraceHit[]): { hits: unknown[] } {
  return {
    hits: hits.map((h) => ({
      match: h.match,
      notebook: h.notebook,
      ...(h.artifact ? { artifact: h.artifact } : {}),
      ...(h.serve ? { serve: serveJson(h.serve) } : {}),
      run: h.run ? { id: h.run.id, runId: h.run.record.runId, status: h.run.record.status, image: h.run.record.image ?? null, created: h.run.record.ts } : null,
      build: h.build ? { id: h.build.id, image: h.build.record.imageId ?? null, status: h.build.record.status, created: h.build.record.ts } : null,
      version: h.version
        ? { id: h.version.id, hash: h.version.record.notebookHash, created: h.version.record.ts, git: h.version.record.git ?? null, ...(h.match === 'serve' ? { data: h.version.record.data ?? [] } : {}) }
        : null,
      steps: h.steps,
    })),
  };
}

// ---- verify ----

export function renderVerifyText(v: VerifyResult): string[] {
  const lines = v.ok
    ? [`ok: ${v.records} records, chain intact${v.head ? `, head ${v.head}` : ''}`]
    : [`broken at line ${v.break!.line}${v.break!.id ? ` (id ${v.break!.id})` : ''}: ${v.break!.reason}`];
  for (const w of v.warnings) lines.push(`warning: ${w}`);
  return lines;
}
