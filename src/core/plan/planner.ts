/**
 * Notebook + analyser -> Plan. Data flow is resolved in one pass in notebook order
 * ("last producer wins", like running the cells top to bottom), so planning is linear in
 * the number of names, never a search over ancestors.
 */
import type { CallSite, CellAnalysis, CellAnalyzer, DefinitionInfo, ImportInfo } from '../analysis/types';
import type { Diagnostic } from '../errors';
import { sha256 } from '../hash';
import type { Notebook } from '../notebook/model';
import { AssignedCell, assignCells, Assignment } from '../tags/assign';
import { SlugRegistry } from '../tags/slug';
import { combineCells, CombinedCells, LocatedName } from './combine';
import { newStep, type Plan, type Step } from './model';
import { orderSteps } from './order';
import { planServe } from './serve';

/** Module attributes whose value in a step module differs from the notebook's. */
const NOTEBOOK_GLOBALS = ['__file__', '__name__'];

interface StepDraft {
  step: Step;
  combined: CombinedCells;
  firstCell: number;
  afterLabels: { label: string; cell: number; cellId: string }[];
}

export function buildPlan(notebook: Notebook, analyzer: CellAnalyzer): Plan {
  const diagnostics: Diagnostic[] = [...notebook.diagnostics];
  const assignment = assignCells(notebook.cells);
  diagnostics.push(...assignment.diagnostics);
  const analyses = analyzeCells(assignment, analyzer, diagnostics);
  const analysisOf = (a: AssignedCell) => {
    const analysis = analyses.get(a.cell.index)!;
    if (!a.tags.raisesException) return { index: a.cell.index, id: a.cell.id, analysis };
    // Expected to fail: a name it reads that nothing made may be the very error it shows.
    const expectingFailure = { ...analysis, uses: [], optionalUses: [...(analysis.optionalUses ?? []), ...analysis.uses] };
    return { index: a.cell.index, id: a.cell.id, analysis: expectingFailure, raisesException: true };
  };

  // The serve cell defines a function as a functions cell does: steps may call it like any other.
  const prelude = combineCells(assignment.cells.filter((a) => a.role === 'imports' || a.role === 'functions' || a.role === 'serve').map(analysisOf));
  const paramCells = combineCells(assignment.cells.filter((a) => a.role === 'parameters').map(analysisOf));
  const metricCells = combineCells(assignment.cells.filter((a) => a.role === 'metrics').map(analysisOf));
  const params = literalParams(paramCells, diagnostics);
  // Shared code runs when the shared module is imported, where nothing can await.
  for (const at of [...prelude.awaitingCells, ...paramCells.awaitingCells]) {
    diagnostics.push({ severity: 'error', message: 'top-level await in shared code (imports, functions or parameters cell): it runs on import, where it cannot await; move it into a step', ...at });
  }

  const slugs = new SlugRegistry('step');
  const drafts: StepDraft[] = draftSteps(assignment, analysisOf, slugs, diagnostics);
  const definitions = collectDefinitions(prelude, paramCells, drafts);
  const definitionByName = new Map(definitions.map((d) => [d.name, d]));
  const importByName = indexImports([prelude, paramCells, ...drafts.map((d) => d.combined)]);
  const starImports = [prelude, paramCells, ...drafts.map((d) => d.combined)]
    .flatMap((c) => c.imports)
    .filter((i) => i.star)
    .sort((a, b) => a.cell - b.cell || a.line - b.line);
  const inScope = definitionsInScope([prelude, paramCells, ...drafts.map((d) => d.combined)], definitionByName);
  dropEmptySteps(drafts, diagnostics);
  // Names the shared module itself binds at import time (prelude code and non-literal parameters).
  const sharedNames = new Set([...prelude.defines, ...paramCells.defines.filter((n) => !(n in params))]);

  const lastProducer = new Map<string, string>();
  const error = (message: string, at: { cell: number; cellId: string; line?: number; column?: number }) =>
    diagnostics.push({ severity: 'error', message, cell: at.cell, cellId: at.cellId, line: at.line, column: at.column });

  const effects = definitionEffects(definitions, definitionByName);
  const mutatingMethods = methodsChangingInstance(definitions);
  const dataNeeds = definitionDataNeeds(definitions, definitionByName, importByName, sharedNamesNoStepRebinds(sharedNames, drafts, effects), params);
  // Redefined functions are local to the steps that use them: the shared module holds one per name.
  // A decorator that registers the function (on a notebook class, in a notebook value) must run
  // where the notebook ran it, once: not when the shared module is imported, nor again in each step.
  const decoratorActs = (def: DefinitionInfo) =>
    (def.decoratorRoots ?? []).some((root) => {
      const decorator = definitionByName.get(root);
      if (!decorator) return !importByName.has(root);
      const effect = effects.get(decorator.code);
      return decorator.kind === 'class' || !!effect?.mutatesGlobals.size || !!effect?.writesGlobals.size;
    });
  const isShared = (def: DefinitionInfo) =>
    !dataNeeds.get(def.code)?.length && !effects.get(def.code)?.writesGlobals.size && definitionByName.get(def.name)?.code === def.code && !decoratorActs(def);
  /** Where each step's own functions were defined, and who produced the values their def statements read. */
  const definedBy = new Map<DefinitionInfo, { step: string; producers: (string | undefined)[] }>();
  for (const draft of drafts) {
    const { step, combined } = draft;
    const settings = settingsOf(combined, importByName);
    if (settings.length) step.settings = settings;
    const inputs = new Map<string, string>();
    const definitionOf = inScope(draft.step.cells[draft.step.cells.length - 1].index);
    const called = callEffects(combined, definitionOf, effects);
    // The values a def statement read are still the ones the step would hand it.
    const definitionReadsCurrent = (def: DefinitionInfo, producers: (string | undefined)[]) =>
      (def.definitionReads ?? []).every((name, i) => lastProducer.get(name) === producers[i] && !combined.assigned.includes(name));
    const resolve = (ref: LocatedName, via?: string, optional = false) => {
      const name = ref.name;
      const producer = lastProducer.get(name);
      if (producer !== undefined && producer !== step.name) {
        if (!inputs.has(name)) inputs.set(name, producer);
        return;
      }
      if (producer === step.name) return;
      // Rebound by a function the step calls (`global`): the step's own value, as if assigned here.
      if (called.writes.includes(name)) return;
      // A parameter read by a function the step calls before rebinding it: run() receives it all the same.
      if (name in params) return void addUnique(step.params, name);
      // A function body reads globals when called, so a value the step binds anywhere serves it.
      if (via && combined.defines.includes(name)) return;
      if (definitionOf.has(name)) return void useDefinition(name);
      if (importByName.has(name)) return void addUnique(step.imports, importByName.get(name)!);
      if (sharedNames.has(name)) return void addUnique(step.sharedUses, name);
      // A name nothing else binds may come from a star import run before it, as in the notebook.
      const stars = starImports.filter((i) => i.cell <= ref.cell);
      if (stars.length) return void stars.forEach((i) => addUnique(step.imports, i));
      // Read where the notebook catches NameError: a name nothing binds was expected to be missing.
      if (optional) return;
      error(
        (via
          ? `name '${name}' is read by function '${via}' but no cell before this step defines it`
          : `name '${name}' is used but never defined in an earlier cell or step`) + ipythonHint(name),
        ref,
      );
    };
    // A function that reads step values through globals is defined inside the step that calls it,
    // so its closure sees them as the notebook's globals did; other functions live in the shared module.
    const useDefinition = (name: string) => {
      const def = definitionOf.get(name)!;
      // A name the step rebinds (`score = score(4)`) is run()'s local throughout: an import of it would be shadowed.
      if (isShared(def) && !combined.assigned.includes(name)) return void addUnique(step.sharedUses, name);
      if (step.localDefinitions.includes(def)) return;
      // Its def statement registered it somewhere, or read values a later step rebound: only the
      // function object the notebook made is the right one (its defaults, say), so it travels like a value.
      const origin = definedBy.get(def);
      if (origin && origin.step !== step.name && (decoratorActs(def) || !definitionReadsCurrent(def, origin.producers))) {
        if (!inputs.has(name)) inputs.set(name, origin.step);
        return;
      }
      step.localDefinitions.push(def);
      for (const g of def.globals) useByLocalDefinition(g.name);
    };
    // Defined inside run(), the function reads the step module's globals: the imports and shared
    // names its body needs must be there even when the step's own code never reads them.
    const useByLocalDefinition = (name: string) => {
      if (definitionOf.has(name)) return void useDefinition(name);
      if (lastProducer.has(name) || name in params) return;
      if (importByName.has(name)) return void addUnique(step.imports, importByName.get(name)!);
      if (sharedNames.has(name)) addUnique(step.sharedUses, name);
    };
    // Functions the step defines itself were moved out of its body, so the body needs them back.
    for (const def of combined.definitions) {
      useDefinition(def.name);
      for (const need of dataNeeds.get(def.code) ?? []) resolve({ ...need, cell: def.cell, cellId: def.cellId }, def.name);
    }
    for (const ref of combined.builtinUses) {
      const producer = lastProducer.get(ref.name);
      if (producer !== undefined && producer !== step.name) resolve(ref);
    }
    for (const ref of [...combined.uses, ...combined.optionalUses]) {
      addUnique(step.uses, ref.name);
      resolve(ref, undefined, combined.optionalUses.includes(ref));
      const def = definitionOf.get(ref.name);
      if (def) for (const need of dataNeeds.get(def.code) ?? []) resolve({ ...need, cell: ref.cell, cellId: ref.cellId, line: ref.line }, def.name);
    }
    // `globals()` may read any name by its string: every value made so far is there in the notebook.
    if (combined.readsNamespace) {
      step.readsNamespace = true;
      for (const [name, producer] of lastProducer) if (producer !== step.name && !inputs.has(name)) inputs.set(name, producer);
      for (const name of Object.keys(params)) addUnique(step.params, name);
    }
    const notebookGlobals = combined.builtinUses.map((ref) => ref.name).filter((n) => NOTEBOOK_GLOBALS.includes(n));
    if (notebookGlobals.length) step.notebookGlobals = [...new Set(notebookGlobals)].sort();
    step.localDefinitions.sort(byPosition);
    // The step's own import statements were taken out of its body: they always come back.
    for (const imp of [...combined.imports, ...combined.extraImports]) addUnique(step.imports, imp);
    step.inputs = [...inputs].map(([name, from]) => ({ name, from }));
    step.defines = combined.defines;
    step.assigned = combined.assigned;
    // Changing a module's attributes (`matplotlib.rcParams[...] = ...`) does not make the module a value.
    const mutated = [...combined.mutates, ...called.mutates, ...receiversChanged(combined, mutatingMethods)].filter((n) => lastProducer.has(n) || !importByName.has(n));
    for (const name of [...combined.defines, ...called.writes, ...mutated]) lastProducer.set(name, step.name);
    for (const name of combined.deletes) if (lastProducer.get(name) === step.name && !combined.defines.includes(name)) lastProducer.delete(name);
    for (const def of combined.definitions) definedBy.set(def, { step: step.name, producers: (def.definitionReads ?? []).map((n) => lastProducer.get(n)) });
  }

  const byName = new Map(drafts.map((d) => [d.step.name, d.step]));
  for (const ref of metricCells.uses) {
    const producer = lastProducer.get(ref.name);
    if (producer === undefined) {
      if (ref.name in params) continue;
      // `accuracy = accuracy_score(y, pred)` in a metrics cell: it reads a function, and nothing there runs.
      const callable = importByName.has(ref.name) || definitionByName.has(ref.name);
      error(
        callable
          ? `metrics cell: '${ref.name}' is a function or module, not a value; a metrics cell only names values that steps compute (compute the metric in a step and list its name here)`
          : `metric '${ref.name}' is not produced by any step`,
        ref,
      );
      continue;
    }
    addUnique(byName.get(producer)!.metrics, ref.name);
    addUnique(byName.get(producer)!.outputs, ref.name);
  }
  const serve = planServe(
    {
      language: notebook.language,
      serveCells: assignment.cells.filter((a) => a.role === 'serve'),
      definitionsOf: (cell) => (prelude.definitions as (DefinitionInfo & { cell: number })[]).filter((d) => d.cell === cell),
      literalCalls: [...analyses.values()].flatMap((a) => a.literalCalls ?? []),
      definitionByName,
      importByName,
      starImports,
      sharedNames,
      params,
      lastProducer,
      isShared,
      steps: drafts.map((d) => ({ step: d.step, uses: d.combined.uses })),
    },
    diagnostics,
  );
  for (const { step } of drafts) for (const input of step.inputs) addUnique(byName.get(input.from)!.outputs, input.name);
  // A shared-module value changed in place through a function call (`CALLS.append` in a helper)
  // is returned by the step that changed it, which must import it to return it.
  for (const { step } of drafts) {
    const bound = new Set([...step.assigned, ...step.params, ...step.inputs.map((i) => i.name)]);
    for (const name of step.outputs) if (!bound.has(name) && sharedNames.has(name)) addUnique(step.sharedUses, name);
  }

  linkAfterTags(drafts, slugs, byName, diagnostics);
  const steps = orderSteps(
    drafts.map((d) => d.step),
    (cycle) =>
      diagnostics.push({
        severity: 'error',
        message: `steps depend on each other in a cycle: ${cycle.join(' -> ')}`,
        cell: byName.get(cycle[0])?.cells[0]?.index,
        cellId: byName.get(cycle[0])?.cells[0]?.id,
      }),
  );
  for (const step of steps) step.diagnostics = diagnostics.filter((d) => d.cell !== undefined && step.cells.some((c) => c.index === d.cell));

  if (steps.length === 0) {
    diagnostics.push({ severity: 'warning', message: 'the pipeline has no steps: the notebook has no code to run (only markdown, imports, definitions or skipped cells)' });
  }
  const sharedImports = sharedImportsFor(steps.flatMap((s) => s.uses), definitions, prelude, paramCells, importByName);
  const allImports = [...new Set([...steps.flatMap((s) => s.imports), ...sharedImports])];
  const requirementPins = [prelude, paramCells, metricCells, ...drafts.map((d) => d.combined)].flatMap((c) => c.requirements);
  const sharedSettings = settingsOf(prelude, importByName);
  return {
    notebook: notebook.path,
    notebookHash: notebook.contentHash,
    language: notebook.language,
    params,
    ...(Object.keys(params).length ? { paramSource: paramCells.bodies.map((b) => b.body).join('\n') } : {}),
    steps,
    definitions,
    sharedImports,
    sharedCode: [...prelude.bodies, ...paramCells.bodies.filter(() => paramCells.defines.some((n) => !(n in params)))],
    ...(sharedSettings.length ? { sharedSettings } : {}),
    requirements: { pins: [...new Set(requirementPins)], modules: [...new Set(allImports.flatMap((i) => i.modules))].sort(), optional: onlyOptional(allImports) },
    ...(serve ? { serve } : {}),
    diagnostics,
  };
}

function analyzeCells(assignment: Assignment, analyzer: CellAnalyzer, diagnostics: Diagnostic[]): Map<number, CellAnalysis> {
  const analyses = new Map<number, CellAnalysis>();
  for (const { cell, role, tags } of assignment.cells) {
    if (role === 'skip') continue;
    const analysis = analyzer.analyzeCell(cell.source, cell.index);
    // A cell expected to fail that cannot even be compiled (a SyntaxError shown on purpose) has nothing to run.
    const shownOnPurpose = tags.raisesException && analysis.body.trim() === '';
    for (const d of analysis.diagnostics) {
      const severity = shownOnPurpose && d.severity === 'error' ? 'warning' : d.severity;
      const message = severity === d.severity ? d.message : `${d.message} (the cell is tagged raises-exception: left out)`;
      diagnostics.push({ ...d, severity, message, cell: cell.index, cellId: cell.id });
    }
    analyses.set(cell.index, analysis);
  }
  return analyses;
}

function draftSteps(
  assignment: Assignment,
  analysisOf: (a: AssignedCell) => { index: number; id: string; analysis: CellAnalysis },
  slugs: SlugRegistry,
  diagnostics: Diagnostic[],
): StepDraft[] {
  const groups = segmentSteps(assignment, diagnostics);
  const drafts: StepDraft[] = [];
  for (const [label, cells] of groups) {
    const combined = combineCells(cells.map(analysisOf));
    const resources = Object.assign({}, ...cells.map((c) => c.tags.resources)) as Record<string, string>;
    const image = cells.map((c) => c.tags.image).find(Boolean);
    const step = newStep(
      slugs.get(label),
      label,
      cells.map((c) => ({ index: c.cell.index, id: c.cell.id })),
      combined.bodies,
      resources,
    );
    if (image) step.image = image;
    if (combined.awaitingCells.length) step.awaits = true;
    drafts.push({
      step,
      combined,
      firstCell: cells[0].cell.index,
      afterLabels: cells.flatMap((c) => c.tags.after.map((label) => ({ label, cell: c.cell.index, cellId: c.cell.id }))),
    });
  }
  return drafts;
}

/**
 * Step cells grouped by label, one group per contiguous run. A label that comes back after
 * another step's cells starts a step of its own: merged into the first, its cells would run
 * before the step in between, reading and printing in an order the notebook never had.
 */
function segmentSteps(assignment: Assignment, diagnostics: Diagnostic[]): Map<string, AssignedCell[]> {
  const groups = new Map<string, AssignedCell[]>();
  const runs = new Map<string, number>();
  let previous: string | undefined;
  let key = '';
  for (const a of assignment.cells) {
    if (a.role !== 'step' || !a.step) continue;
    if (a.step !== previous) {
      const run = (runs.get(a.step) ?? 0) + 1;
      runs.set(a.step, run);
      key = run === 1 ? a.step : `${a.step} ${run}`;
      while (run > 1 && groups.has(key)) key += "'";
      if (run > 1) {
        diagnostics.push({
          severity: 'info',
          message: `step '${a.step}' continues after another step; its cells from here on form step '${key}', so they run after that step as in the notebook`,
          cell: a.cell.index,
          cellId: a.cell.id,
        });
      }
      previous = a.step;
    }
    const list = groups.get(key) ?? [];
    list.push(a);
    groups.set(key, list);
  }
  return groups;
}

function literalParams(cells: CombinedCells, diagnostics: Diagnostic[]): Record<string, unknown> {
  for (const name of cells.defines) {
    if (!(name in cells.literals)) {
      diagnostics.push({
        severity: 'warning',
        message: `parameter '${name}' is not a literal; it is computed once in the shared module and cannot be overridden with --param`,
      });
    }
  }
  return { ...cells.literals };
}

function collectDefinitions(...sources: (CombinedCells | StepDraft[])[]): DefinitionInfo[] {
  const all: (DefinitionInfo & { cell: number })[] = [];
  for (const source of sources) {
    if (Array.isArray(source)) for (const d of source) all.push(...d.combined.definitions);
    else all.push(...source.definitions);
  }
  all.sort((a, b) => a.cell - b.cell || a.line - b.line);
  // A re-run cell often defines the same function twice: keep one copy of identical code.
  const seen = new Set<string>();
  return all.filter((d) => !seen.has(d.code) && seen.add(d.code));
}

/** A setting that reads a step value could not run before the step that computes it: only those that read imports alone. */
function settingsOf(cells: CombinedCells, importByName: Map<string, ImportInfo>): string[] {
  return cells.settings.filter((s) => s.reads.every((name) => importByName.has(name))).map((s) => s.code);
}

type DefinitionLookup = Pick<Map<string, DefinitionInfo>, 'get' | 'has'>;
type Located = DefinitionInfo & { cell: number };

function byPosition(a: DefinitionInfo, b: DefinitionInfo): number {
  return ((a as Located).cell ?? 0) - ((b as Located).cell ?? 0) || a.line - b.line;
}

/**
 * The functions a name means as the notebook runs: the last definition in a cell up to the given
 * one (a function redefined later is not the one earlier cells called). Asked in notebook order.
 * A name defined only further down keeps its last definition, as before.
 */
function definitionsInScope(sources: CombinedCells[], last: Map<string, DefinitionInfo>): (upToCell: number) => DefinitionLookup {
  const ordered = sources.flatMap((s) => s.definitions).sort(byPosition);
  const current = new Map<string, DefinitionInfo>();
  let next = 0;
  const lookup: DefinitionLookup = {
    get: (name) => current.get(name) ?? last.get(name),
    has: (name) => current.has(name) || last.has(name),
  };
  return (upToCell) => {
    for (; next < ordered.length && ordered[next].cell <= upToCell; next++) current.set(ordered[next].name, ordered[next]);
    return lookup;
  };
}

function indexImports(sources: CombinedCells[]): Map<string, ImportInfo> {
  const byName = new Map<string, ImportInfo>();
  const all = sources.flatMap((s) => s.imports).sort((a, b) => a.cell - b.cell || a.line - b.line);
  for (const imp of all) for (const name of imp.names) if (!byName.has(name)) byName.set(name, imp);
  // Modules the IPython rewrites need (`subprocess` for `!cmd`), also inside moved definitions.
  for (const imp of sources.flatMap((s) => s.extraImports)) for (const name of imp.names) if (!byName.has(name)) byName.set(name, imp);
  return byName;
}

/**
 * The data names (step values, parameters) each function reads through module globals,
 * following calls to other notebook functions. Computed once per definition.
 */
/**
 * Names of the notebook classes' methods that change their instance, directly or by calling one
 * on `self` that does, across classes: the one called may be inherited from another.
 */
function methodsChangingInstance(definitions: DefinitionInfo[]): Set<string> {
  const mutating = new Set(definitions.flatMap((d) => d.mutatingMethods ?? []));
  const selfCalls = definitions.flatMap((d) => d.selfCalls ?? []);
  for (let grew = true; grew; ) {
    grew = false;
    for (const [caller, callee] of selfCalls) {
      if (mutating.has(callee) && !mutating.has(caller)) grew = !!mutating.add(caller);
    }
  }
  return mutating;
}

/** Received values the step changes by calling a notebook class's method that changes its instance. */
function receiversChanged(combined: CombinedCells, mutatingMethods: Set<string>): string[] {
  return combined.methodCalls.filter((call) => mutatingMethods.has(call.method)).flatMap((call) => call.receivers);
}

/**
 * Shared names no step rebinds. One a step rebinds (`calls = 0` in the functions cell, a helper
 * doing `global calls; calls += 1`) is a value like any other: a function reading it must get the
 * step's current value, not the shared module's first one.
 */
function sharedNamesNoStepRebinds(sharedNames: Set<string>, drafts: StepDraft[], effects: Map<string, Effects>): Set<string> {
  const rebound = new Set([...drafts.flatMap((d) => d.combined.defines), ...[...effects.values()].flatMap((e) => [...e.writesGlobals])]);
  return new Set([...sharedNames].filter((name) => !rebound.has(name)));
}

function definitionDataNeeds(
  definitions: DefinitionInfo[],
  byName: Map<string, DefinitionInfo>,
  imports: Map<string, ImportInfo>,
  sharedNames: Set<string>,
  params: Record<string, unknown>,
): Map<string, DefinitionInfo['globals']> {
  const memo = new Map<string, DefinitionInfo['globals']>();
  const visit = (def: DefinitionInfo, visiting: Set<string>): DefinitionInfo['globals'] => {
    const known = memo.get(def.code);
    if (known) return known;
    visiting.add(def.name);
    const needs: DefinitionInfo['globals'] = [];
    for (const ref of def.globals) {
      const callee = byName.get(ref.name);
      if (callee) {
        if (!visiting.has(callee.name)) needs.push(...visit(callee, visiting));
      } else if (!imports.has(ref.name) && !sharedNames.has(ref.name)) needs.push(ref);
    }
    const unique = needs.filter((n, i) => needs.findIndex((m) => m.name === n.name) === i);
    memo.set(def.code, unique);
    return unique;
  };
  for (const def of definitions) visit(def, new Set());
  void params;
  return memo;
}

interface Effects {
  mutatesParameters: Set<string>;
  writesGlobals: Set<string>;
  mutatesGlobals: Set<string>;
}

/**
 * What calling each notebook function changes, through the functions it calls: `def prep(df):
 * clean(df)` mutates its parameter because `clean` does.
 */
function definitionEffects(definitions: DefinitionInfo[], byName: Map<string, DefinitionInfo>): Map<string, Effects> {
  const memo = new Map<string, Effects>();
  const visit = (def: DefinitionInfo, visiting: Set<string>): Effects => {
    const known = memo.get(def.code);
    if (known) return known;
    visiting.add(def.name);
    const own = def.effects;
    const result: Effects = {
      mutatesParameters: new Set(own?.mutatesParameters),
      writesGlobals: new Set(own?.writesGlobals),
      mutatesGlobals: new Set(own?.mutatesGlobals),
    };
    const callees = new Set([...(own?.calls ?? []).map((c) => c.callee), ...def.globals.map((g) => g.name)]);
    for (const name of callees) {
      const callee = byName.get(name);
      if (!callee || visiting.has(name)) continue;
      const theirs = visit(callee, visiting);
      theirs.writesGlobals.forEach((n) => result.writesGlobals.add(n));
      theirs.mutatesGlobals.forEach((n) => result.mutatesGlobals.add(n));
      for (const call of own?.calls.filter((c) => c.callee === name) ?? []) {
        for (const root of mutatedArguments(call, callee, theirs)) result.mutatesParameters.add(root);
      }
    }
    visiting.delete(def.name);
    memo.set(def.code, result);
    return result;
  };
  for (const def of definitions) visit(def, new Set());
  return memo;
}

/** The argument values a call changes, by position or keyword. */
function mutatedArguments(call: CallSite, callee: DefinitionInfo, effects: Effects): string[] {
  const parameters = callee.effects?.parameters ?? [];
  return [...effects.mutatesParameters].flatMap((p) => [...(call.positional[parameters.indexOf(p)] ?? []), ...(call.keywords[p] ?? [])]);
}

/** The values a step changes by calling notebook functions (or handing them to code that calls them). */
function callEffects(combined: CombinedCells, byName: DefinitionLookup, effects: Map<string, Effects>): { mutates: string[]; writes: string[] } {
  const mutates = new Set<string>();
  const writes = new Set<string>();
  const reached = new Set([...combined.calls.map((c) => c.callee), ...combined.uses.map((u) => u.name)]);
  for (const call of combined.calls) {
    const callee = byName.get(call.callee);
    if (callee) for (const root of mutatedArguments(call, callee, effects.get(callee.code)!)) mutates.add(root);
  }
  for (const name of reached) {
    const definition = byName.get(name);
    const own = definition && effects.get(definition.code);
    own?.writesGlobals.forEach((n) => writes.add(n));
    own?.mutatesGlobals.forEach((n) => mutates.add(n));
  }
  return { mutates: [...mutates], writes: [...writes] };
}

function sharedImportsFor(
  stepUses: string[],
  definitions: DefinitionInfo[],
  prelude: CombinedCells,
  paramCells: CombinedCells,
  importByName: Map<string, ImportInfo>,
): ImportInfo[] {
  // Setup cells' imports nobody reads are kept: they are there for their side effects.
  const usedAnywhere = new Set(stepUses);
  // Setup code runs in the shared module and may read any import of its cells: the analysis
  // does not list a name the same cell imported as a use.
  const needed = new Set<ImportInfo>(prelude.bodies.length ? prelude.imports : prelude.imports.filter((i) => !i.names.some((n) => usedAnywhere.has(n))));
  const names = [...definitions.flatMap((d) => d.globals.map((g) => g.name)), ...prelude.uses.map((u) => u.name), ...paramCells.uses.map((u) => u.name)];
  for (const name of names) {
    const imp = importByName.get(name);
    if (imp) needed.add(imp);
  }
  for (const imp of prelude.extraImports) needed.add(imp);
  return [...needed];
}

function linkAfterTags(drafts: StepDraft[], slugs: SlugRegistry, byName: Map<string, Step>, diagnostics: Diagnostic[]): void {
  for (const { step, afterLabels } of drafts) {
    for (const edge of step.inputs) addUnique(step.after, edge.from);
    for (const ref of afterLabels) {
      if (!slugs.has(ref.label)) {
        diagnostics.push({
          severity: 'error',
          message: `'${ref.label}' in an after:/prev: tag is not the name of any step`,
          cell: ref.cell,
          cellId: ref.cellId,
        });
        continue;
      }
      const target = slugs.get(ref.label);
      if (target !== step.name && byName.has(target)) addUnique(step.after, target);
    }
  }
}

function addUnique<T>(list: T[], value: T): void {
  if (!list.includes(value)) list.push(value);
}

/** Stable hash of what the plan means, for lineage and image labels. */
export function planHash(plan: Plan): string {
  const { diagnostics: _d, notebook: _n, ...meaning } = plan;
  // Spelled out rather than a replacer function, which takes JSON.stringify off its fast path;
  // `steps` keeps its place among the keys, so hashes match those of earlier versions.
  return sha256(JSON.stringify({ ...meaning, steps: meaning.steps.map(({ diagnostics: _sd, ...step }) => step) }));
}

/** A step left with no code (only imports or functions) would be dead code: drop it unless an after: tag names it. */
function dropEmptySteps(drafts: StepDraft[], diagnostics: Diagnostic[]): void {
  const referenced = new Set(drafts.flatMap((d) => d.afterLabels.map((a) => a.label)));
  for (let i = drafts.length - 1; i >= 0; i--) {
    const { step } = drafts[i];
    if (step.code.trim() || referenced.has(step.label)) continue;
    drafts.splice(i, 1);
    diagnostics.push({
      severity: 'info',
      message: `step '${step.name}' has only imports or definitions; they go to the steps that use them`,
      cell: step.cells[0]?.index,
      cellId: step.cells[0]?.id,
    });
  }
}

/** IPython's input/output history names exist only in a kernel; say so, with what to do instead. */
function ipythonHint(name: string): string {
  if (/^(_{1,3}|_\d+|_oh|Out)$/.test(name)) {
    return ` ('${name}' is IPython's output history, which only exists in a running notebook: assign the value to a name in the cell that computes it and use that name)`;
  }
  if (/^(In|_ih|_i{1,3}|_i\d+|_dh)$/.test(name)) {
    return ` ('${name}' is IPython's input history, which only exists in a running notebook)`;
  }
  return '';
}

/** Modules every import of which has a fallback: the pipeline runs without them, so they are not required. */
function onlyOptional(imports: ImportInfo[]): string[] {
  const required = new Set(imports.flatMap((i) => i.modules.filter((m) => !i.optional?.includes(m))));
  return [...new Set(imports.flatMap((i) => i.optional ?? []))].filter((m) => !required.has(m)).sort();
}
