/**
 * Assigns every code cell a role and, for step cells, a step label. With step tags the
 * tags decide; without them nbdev `#| export` directives, then `## ` headings, then one step.
 */
import type { Diagnostic } from '../errors';
import type { NotebookCell } from '../notebook/model';
import { CellRole, CellTags, hasStepTags, parseCellTags } from './grammar';

export type SplitStrategy = 'tags' | 'nbdev' | 'headings' | 'single';

export interface AssignedCell {
  cell: NotebookCell;
  role: CellRole;
  /** Step label for role 'step' (as written; slugified later). */
  step?: string;
  tags: CellTags;
}

export interface Assignment {
  strategy: SplitStrategy;
  cells: AssignedCell[];
  diagnostics: Diagnostic[];
}

export const SINGLE_STEP_LABEL = 'pipeline';
const LEADING_STEP_LABEL = 'setup';
const NBDEV_EXPORT = /^\s*#\s*\|?\s*export(s|i)?\b/m;
const NBDEV_DIRECTIVE = /^\s*#\|\s*([a-z_]+)(?::\s*|\s+)?(.*)$/;
const H2 = /^##\s+(.+?)\s*#*\s*$/;

export function assignCells(cells: readonly NotebookCell[]): Assignment {
  const code = cells.filter((c) => c.kind === 'code');
  if (hasStepTags(code.map((c) => c.tags))) return byTags(cells);
  if (code.some((c) => NBDEV_EXPORT.test(c.source))) return byNbdev(cells);
  if (cells.some((c) => c.kind === 'markdown' && c.source.split('\n').some((l) => H2.test(l)))) return byHeadings(cells);
  return single(cells);
}

function byTags(cells: readonly NotebookCell[]): Assignment {
  const diagnostics: Diagnostic[] = [];
  const out: AssignedCell[] = [];
  let current: string | undefined;
  for (const cell of cells) {
    if (cell.kind !== 'code') continue;
    const tags = parseCellTags(cell.tags);
    if (tags.role !== 'step') {
      out.push({ cell, role: tags.role, tags });
      continue;
    }
    if (tags.stepName) current = tags.stepName;
    else if (!current) {
      current = LEADING_STEP_LABEL;
      if (cell.source.trim()) {
        diagnostics.push({
          severity: 'info',
          message: `code before the first step tag goes into a step named '${LEADING_STEP_LABEL}'`,
          cell: cell.index,
          cellId: cell.id,
        });
      }
    }
    out.push({ cell, role: 'step', step: current, tags });
  }
  return { strategy: 'tags', cells: out, diagnostics };
}

/** nbdev: exported cells are the program; everything else is docs and tests, skipped. */
function byNbdev(cells: readonly NotebookCell[]): Assignment {
  let label = SINGLE_STEP_LABEL;
  const out: AssignedCell[] = [];
  for (const cell of cells) {
    if (cell.kind !== 'code') continue;
    const directives = nbdevDirectives(cell.source);
    if (directives.has('default_exp')) label = directives.get('default_exp') || label;
    const exported = ['export', 'exports', 'exporti'].some((d) => directives.has(d));
    const tags = parseCellTags(cell.tags);
    if (tags.role === 'serve') out.push({ cell, role: 'serve', tags });
    else out.push(exported ? { cell, role: 'step', step: label, tags } : { cell, role: 'skip', tags });
  }
  return {
    strategy: 'nbdev',
    cells: out,
    diagnostics: [{ severity: 'info', message: 'no step tags: using nbdev #| export cells as one step; other cells are skipped' }],
  };
}

function nbdevDirectives(source: string): Map<string, string> {
  const found = new Map<string, string>();
  for (const line of source.split('\n')) {
    if (!line.trim()) continue;
    const m = NBDEV_DIRECTIVE.exec(line) ?? /^\s*#\s*(export[si]?|default_exp)\b\s*(.*)$/.exec(line);
    if (!m) break; // directives only lead a cell
    found.set(m[1], m[2].trim());
  }
  return found;
}

/** soorgeon style: every `## ` heading starts a step; code above the first goes with the first. */
function byHeadings(cells: readonly NotebookCell[]): Assignment {
  const out: AssignedCell[] = [];
  let current: string | undefined;
  const pending: AssignedCell[] = [];
  for (const cell of cells) {
    if (cell.kind === 'markdown') {
      for (const line of cell.source.split('\n')) {
        const m = H2.exec(line.trim());
        if (m) current = m[1];
      }
      continue;
    }
    if (cell.kind !== 'code') continue;
    const tags = parseCellTags(cell.tags);
    const assigned: AssignedCell = tags.role === 'step' ? { cell, role: 'step', step: current, tags } : { cell, role: tags.role, tags };
    if (assigned.role === 'step' && current === undefined) pending.push(assigned);
    else {
      if (assigned.role === 'step') {
        for (const p of pending) p.step = current;
        out.push(...pending.splice(0));
      }
      out.push(assigned);
    }
  }
  for (const p of pending) p.step = current ?? SINGLE_STEP_LABEL;
  out.push(...pending);
  out.sort((a, b) => a.cell.index - b.cell.index);
  return {
    strategy: 'headings',
    cells: out,
    diagnostics: [{ severity: 'info', message: "no step tags: each '## ' heading starts a step" }],
  };
}

function single(cells: readonly NotebookCell[]): Assignment {
  const out: AssignedCell[] = [];
  for (const cell of cells) {
    if (cell.kind !== 'code') continue;
    const tags = parseCellTags(cell.tags);
    out.push(tags.role === 'step' ? { cell, role: 'step', step: SINGLE_STEP_LABEL, tags } : { cell, role: tags.role, tags });
  }
  return {
    strategy: 'single',
    cells: out,
    diagnostics: out.length
      ? [
          {
            severity: 'info',
            message: "no step tags, nbdev directives or '## ' headings: the notebook becomes one step (tag cells with step:NAME to split it)",
          },
        ]
      : [],
  };
}
