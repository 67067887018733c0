/**
 * Folds per-cell analyses into one step-level view: a name read in a later cell of the
 * same step after an earlier cell bound it is not a use of the step.
 */
import type { CallSite, CellAnalysis, DefinitionInfo, ImportInfo, MethodCall, NameRef, ProcessSetting } from '../analysis/types';
import type { CellBody } from './model';

export interface LocatedName extends NameRef {
  cell: number;
  cellId: string;
}

export interface CombinedCells {
  uses: LocatedName[];
  /** Names read where a NameError is caught, before the step binds them (see CellAnalysis). */
  optionalUses: LocatedName[];
  /** Builtin names read before the step binds them: inputs only when an earlier step rebinds them. */
  builtinUses: LocatedName[];
  defines: string[];
  /** Names the step's own statements bind (`defines` also has those its functions bind through `global`). */
  assigned: string[];
  mutates: string[];
  deletes: string[];
  imports: (ImportInfo & { cell: number })[];
  definitions: (DefinitionInfo & { cell: number; cellId: string })[];
  requirements: string[];
  extraImports: ImportInfo[];
  calls: CallSite[];
  /** Method calls on values the step received (see CellAnalysis). */
  methodCalls: MethodCall[];
  literals: Record<string, unknown>;
  bodies: CellBody[];
  /** Some cell calls `globals()`: it may read any name the notebook bound (see CellAnalysis). */
  readsNamespace: boolean;
  /** Cells that await at top level (their code runs on an event loop). */
  awaitingCells: { cell: number; cellId: string }[];
  settings: ProcessSetting[];
}

export function combineCells(cells: { index: number; id: string; analysis: CellAnalysis; raisesException?: boolean }[]): CombinedCells {
  const combined: CombinedCells = {
    uses: [],
    optionalUses: [],
    builtinUses: [],
    defines: [],
    assigned: [],
    mutates: [],
    deletes: [],
    imports: [],
    definitions: [],
    requirements: [],
    extraImports: [],
    calls: [],
    methodCalls: [],
    literals: {},
    bodies: [],
    awaitingCells: [],
    readsNamespace: false,
    settings: [],
  };
  const bound = new Set<string>();
  const used = new Set<string>();
  const defined = new Set<string>();
  const mutated = new Set<string>();
  for (const { index, id, analysis, raisesException } of cells) {
    for (const ref of analysis.uses) {
      if (bound.has(ref.name) || used.has(ref.name)) continue;
      used.add(ref.name);
      combined.uses.push(located(ref, index, id));
    }
    for (const ref of analysis.optionalUses ?? []) {
      if (!bound.has(ref.name) && !used.has(ref.name)) combined.optionalUses.push(located(ref, index, id));
    }
    for (const ref of analysis.builtinUses ?? []) {
      if (!bound.has(ref.name) && !used.has(ref.name)) combined.builtinUses.push(located(ref, index, id));
    }
    for (const name of analysis.mutates) {
      if (!bound.has(name) && !mutated.has(name)) {
        mutated.add(name);
        combined.mutates.push(name);
      }
    }
    for (const call of analysis.methodCalls ?? []) {
      const receivers = call.receivers.filter((name) => !bound.has(name));
      if (receivers.length) combined.methodCalls.push({ method: call.method, receivers });
    }
    for (const imp of analysis.imports) {
      combined.imports.push({ ...imp, cell: index });
      imp.names.forEach((n) => bound.add(n));
    }
    for (const def of analysis.definitions) {
      combined.definitions.push({ ...def, cell: index, cellId: id });
      bound.add(def.name);
    }
    // Where calls are known, a function's `global` writes belong to the steps that call it.
    for (const name of [...analysis.defines, ...(analysis.calls ? [] : analysis.globalWrites)]) {
      bound.add(name);
      if (!defined.has(name)) {
        defined.add(name);
        combined.defines.push(name);
      }
    }
    for (const name of analysis.defines) if (!combined.assigned.includes(name)) combined.assigned.push(name);
    combined.calls.push(...(analysis.calls ?? []));
    combined.deletes.push(...analysis.deletes);
    combined.requirements.push(...analysis.requirements);
    combined.extraImports.push(...analysis.extraImports);
    Object.assign(combined.literals, analysis.literals);
    combined.settings.push(...(analysis.settings ?? []));
    if (analysis.awaits) combined.awaitingCells.push({ cell: index, cellId: id });
    if (analysis.readsNamespace) combined.readsNamespace = true;
    if (analysis.body.trim()) combined.bodies.push({ cell: index, cellId: id, body: analysis.body, ...(raisesException ? { raisesException } : {}) });
  }
  return combined;
}

/**
 * Spelled out rather than `{ ...ref, cell, cellId }`: refs come from many places (the walker,
 * the on-disk cache) with different hidden classes, and V8's slow path for such spreads made
 * this the hottest line of planning a 5,000-cell notebook.
 */
function located(ref: NameRef, cell: number, cellId: string): LocatedName {
  return { name: ref.name, line: ref.line, column: ref.column, cell, cellId };
}
