/**
 * The `serve` cell (issue 14): which function serves the model, the step values it reads
 * (directly or through notebook functions), its input fields, and the steps whose calls of it
 * are recorded. The serve cell is planned like a functions cell (the planner's scope analysis
 * decides where steps get the function); this module only reads the result and adds to it.
 */
import type { DefinitionInfo, ImportInfo, LiteralCall } from '../analysis/types';
import type { Diagnostic } from '../errors';
import type { AssignedCell } from '../tags/assign';
import { SERVE_CALLS_ARTIFACT, type ServeFieldType, type ServePlan, type Step } from './model';

export interface ServeContext {
  language: string;
  serveCells: AssignedCell[];
  /** The definitions of each cell, from its analysis. */
  definitionsOf: (cell: number) => DefinitionInfo[];
  literalCalls: LiteralCall[];
  definitionByName: Map<string, DefinitionInfo>;
  importByName: Map<string, ImportInfo>;
  starImports: ImportInfo[];
  /** Names the shared module binds (setup code, computed parameters). */
  sharedNames: Set<string>;
  params: Record<string, unknown>;
  /** Name -> the step whose value the notebook holds after its last step. */
  lastProducer: Map<string, string>;
  /** Defined in the shared module and reading no step value: importable from there. */
  isShared: (def: DefinitionInfo) => boolean;
  /** Steps in notebook order, with the names each one's cells read. */
  steps: { step: Step; uses: { name: string; cell: number }[] }[];
}

type Located = DefinitionInfo & { cell: number; cellId: string };

export function planServe(ctx: ServeContext, diagnostics: Diagnostic[]): ServePlan | undefined {
  if (!ctx.serveCells.length) return undefined;
  const error = (message: string, at: { cell: number; cellId: string; line?: number; column?: number }) =>
    diagnostics.push({ severity: 'error', message, ...at });
  const [first, ...others] = ctx.serveCells;
  for (const other of others) {
    error(`a notebook has at most one serve cell: cell ${first.cell.index} is the serve cell already (remove the serve tag from one of them)`, {
      cell: other.cell.index,
      cellId: other.cell.id,
      line: 1,
    });
  }
  const at = { cell: first.cell.index, cellId: first.cell.id };
  if (ctx.language !== 'python') {
    error(`the serve tag is for Python notebooks only; this notebook is ${ctx.language}`, { ...at, line: 1 });
    return undefined;
  }
  const def = serveFunction(first, ctx.definitionsOf(first.cell.index), error);
  if (!def) return undefined;
  const scope = readsOf(def, ctx, error);
  if (!scope) return undefined;
  // The values it reads are saved by their steps, consumed by a later step or not.
  for (const need of scope.needs) addUnique(ctx.steps.find((s) => s.step.name === need.step)!.step.outputs, need.name);
  const calls = recordCalls(def, ctx, error);
  return {
    function: def.name,
    cell: { index: first.cell.index, id: first.cell.id },
    ...serveInput(def, ctx),
    needs: scope.needs,
    params: scope.params,
    calls,
    definitions: scope.definitions,
    sharedUses: scope.sharedUses,
    imports: scope.imports,
  };
}

/** `predict`, the function `serve:NAME` names, or the cell's only function. */
function serveFunction(
  assigned: AssignedCell,
  definitions: DefinitionInfo[],
  error: (message: string, at: { cell: number; cellId: string; line?: number }) => void,
): DefinitionInfo | undefined {
  const at = { cell: assigned.cell.index, cellId: assigned.cell.id };
  const functions = definitions.filter((d) => d.kind === 'function');
  const named = assigned.tags.serveName;
  const candidates = functions.map((f) => `'${f.name}' (line ${f.line})`).join(', ');
  if (named) {
    const found = functions.filter((f) => f.name === named).pop();
    if (!found) error(`serve:${named}: the serve cell defines no function '${named}'${functions.length ? `; it defines ${candidates}` : ''}`, { ...at, line: 1 });
    return found;
  }
  const predict = functions.filter((f) => f.name === 'predict').pop();
  if (predict) return predict;
  const names = new Set(functions.map((f) => f.name));
  if (names.size === 1) return functions[functions.length - 1];
  if (names.size === 0) {
    error("the serve cell defines no function: define the serving function there (def predict(features): ...)", { ...at, line: 1 });
  } else {
    error(`the serve cell defines several functions (${candidates}) and none is called 'predict': name the serving one with a serve:NAME tag`, {
      ...at,
      line: functions[0].line,
    });
  }
  return undefined;
}

interface ServeScope {
  needs: ServePlan['needs'];
  params: string[];
  definitions: DefinitionInfo[];
  sharedUses: string[];
  imports: ImportInfo[];
}

/**
 * What the function reads when it is defined and called, following the notebook functions it
 * calls: step values, parameters, imports, shared names. One the pipeline does not have is an error.
 */
function readsOf(def: DefinitionInfo, ctx: ServeContext, error: (message: string, at: { cell: number; cellId: string; line?: number; column?: number }) => void): ServeScope | undefined {
  const scope: ServeScope = { needs: [], params: [], definitions: [], sharedUses: [], imports: [] };
  let failed = false;
  const visited = new Set<DefinitionInfo>();
  const visit = (current: DefinitionInfo) => {
    if (visited.has(current)) return;
    visited.add(current);
    scope.definitions.push(current);
    const located = current as Located;
    const refs = [...current.globals, ...(current.definitionReads ?? []).map((name) => ({ name, line: current.line, column: 1 }))];
    for (const ref of refs) {
      const name = ref.name;
      const callee = ctx.definitionByName.get(name);
      if (callee && callee !== current && !ctx.lastProducer.has(name)) {
        if (ctx.isShared(callee)) addUnique(scope.sharedUses, name);
        else visit(callee);
      } else if (callee === current) {
        continue; // recursion
      } else if (ctx.lastProducer.has(name)) {
        if (!scope.needs.some((n) => n.name === name)) scope.needs.push({ name, step: ctx.lastProducer.get(name)! });
      } else if (name in ctx.params) addUnique(scope.params, name);
      else if (ctx.importByName.has(name)) addUnique(scope.imports, ctx.importByName.get(name)!);
      else if (ctx.sharedNames.has(name)) addUnique(scope.sharedUses, name);
      else if (ctx.starImports.length) ctx.starImports.forEach((i) => addUnique(scope.imports, i));
      else {
        failed = true;
        const via = current === def ? `the serving function '${def.name}'` : `function '${current.name}', which the serving function '${def.name}' calls,`;
        error(`name '${name}' is read by ${via} but no step, import, parameter or shared cell defines it`, {
          cell: located.cell,
          cellId: located.cellId,
          line: ref.line,
          column: ref.column,
        });
      }
    }
  };
  visit(def);
  scope.definitions.sort((a, b) => (a as Located).cell - (b as Located).cell || a.line - b.line);
  return failed ? undefined : scope;
}

/**
 * Steps that read the function (call it, or call a notebook function that does) record its calls
 * as their `serve_calls` output; the first is the one the plan names.
 */
function recordCalls(def: DefinitionInfo, ctx: ServeContext, error: (message: string, at: { cell: number; cellId: string; line?: number }) => void): ServePlan['calls'] {
  let first: ServePlan['calls'] = null;
  for (const { step, uses } of ctx.steps) {
    const reads =
      step.localDefinitions.some((d) => d.code === def.code) || step.sharedUses.includes(def.name) || step.inputs.some((i) => i.name === def.name);
    if (!reads) continue;
    if (step.defines.includes(SERVE_CALLS_ARTIFACT)) {
      error(`step '${step.name}' calls the serving function and defines '${SERVE_CALLS_ARTIFACT}' itself, the name its recorded calls are saved as: rename the value`, {
        cell: step.cells[0].index,
        cellId: step.cells[0].id,
      });
      continue;
    }
    const cell = uses.find((u) => u.name === def.name)?.cell ?? step.cells[0].index;
    step.serveCalls = { function: def.name, cell };
    addUnique(step.outputs, SERVE_CALLS_ARTIFACT);
    first ??= { step: step.name, artifact: SERVE_CALLS_ARTIFACT };
  }
  return first;
}

const RECORD_BASES = /^(typing\.|typing_extensions\.)?(TypedDict|NamedTuple)$|^(pydantic\.)?BaseModel$/;
const RECORD_DECORATORS = /^(dataclasses\.)?dataclass\b/;
const SEQUENCE = /^(typing\.|collections\.abc\.)?(list|List|Sequence|Iterable)\s*(\[(.*)\])?$/s;

/** The input's form and fields: from annotations (hints), else the notebook's example calls, else none. */
function serveInput(def: DefinitionInfo, ctx: ServeContext): Pick<ServePlan, 'form' | 'fields' | 'fieldsFrom'> {
  const parameters = (def.signature ?? []).filter((p) => p.kind === 'positional' || p.kind === 'keyword-only');
  if (parameters.length === 0) return { form: 'record', fields: [], fieldsFrom: 'none' };
  if (parameters.length > 1 || parameters[0].kind === 'keyword-only') {
    return { form: 'record', fields: parameters.map((p) => ({ name: p.name, type: jsonType(p.annotation) })), fieldsFrom: 'hints' };
  }
  const [only] = parameters;
  const annotation = only.annotation && unquote(only.annotation);
  const sequence = annotation ? SEQUENCE.exec(annotation) : null;
  const form = sequence || /^(rows|records|batch)$/.test(only.name) ? 'rows' : 'record';
  const recordType = sequence ? sequence[4] && unquote(sequence[4].trim()) : annotation;
  const shape = recordType ? ctx.definitionByName.get(recordType)?.classShape : undefined;
  if (shape && (shape.bases.some((b) => RECORD_BASES.test(b)) || shape.decorators.some((d) => RECORD_DECORATORS.test(d)))) {
    return { form, fields: shape.fields.map((f) => ({ name: f.name, type: jsonType(f.annotation) })), fieldsFrom: 'hints' };
  }
  const fields = fieldsFromCalls(ctx.literalCalls.filter((c) => c.callee === def.name), form);
  return fields.length ? { form, fields, fieldsFrom: 'calls' } : { form, fields: [], fieldsFrom: 'none' };
}

function fieldsFromCalls(calls: LiteralCall[], form: 'record' | 'rows'): ServePlan['fields'] {
  const types = new Map<string, ServeFieldType>();
  const add = (keys: Record<string, string>) => {
    for (const [name, type] of Object.entries(keys)) types.set(name, merged(types.get(name), type as ServeFieldType));
  };
  for (const call of calls) {
    const [argument] = call.positional;
    if (form === 'rows') argument?.items?.forEach(add);
    else if (argument?.keys) add(argument.keys);
    else if (!argument) add(Object.fromEntries(Object.entries(call.keywords).map(([name, shape]) => [name, shape.type])));
  }
  return [...types].map(([name, type]) => ({ name, type }));
}

function merged(known: ServeFieldType | undefined, type: ServeFieldType): ServeFieldType {
  if (known === undefined || known === type || type === 'any') return known ?? type;
  if (known === 'any') return type;
  if ((known === 'integer' && type === 'number') || (known === 'number' && type === 'integer')) return 'number';
  return 'any';
}

/** A Python annotation's JSON type; `any` for what it cannot tell. */
function jsonType(annotation: string | undefined): ServeFieldType {
  if (!annotation) return 'any';
  let text = unquote(annotation.trim());
  const optional = /^(typing\.)?Optional\[(.*)\]$/s.exec(text);
  if (optional) text = optional[2].trim();
  const union = text.split('|').map((t) => t.trim()).filter((t) => t !== 'None');
  if (union.length === 1) text = union[0];
  const head = text.replace(/\[.*$/s, '').replace(/^(typing|builtins|numpy|np|collections\.abc)\./, '');
  if (head === 'int') return 'integer';
  if (head === 'float') return 'number';
  if (head === 'str') return 'string';
  if (head === 'bool') return 'boolean';
  if (/^(list|List|tuple|Tuple|Sequence|set|Set|Iterable|ndarray)$/.test(head)) return 'array';
  if (/^(dict|Dict|Mapping)$/.test(head)) return 'object';
  return 'any';
}

function unquote(text: string): string {
  return /^(['"]).*\1$/s.test(text) ? text.slice(1, -1) : text;
}

function addUnique<T>(list: T[], value: T): void {
  if (!list.includes(value)) list.push(value);
}
