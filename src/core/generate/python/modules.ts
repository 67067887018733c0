/** The Python modules of a generated package: one per step, the shared module and `__main__`. */
import * as path from 'path';
import type { DefinitionInfo, ImportInfo } from '../../analysis/types';
import { SERVE_CALLS_ARTIFACT, type Plan, type Step } from '../../plan/model';
import { indentPython } from './indent';
import { commentSafe, pyLiteral, pyString } from './literal';

const FUTURE = /^\s*from\s+__future__\s+import/;

export function stepModule(step: Step, plan: Plan, notebookPath: string): string {
  const cells = step.cells.map((c) => cellRef(c.index, c.id)).join(', ');
  const lines: string[] = [
    `"""Step ${step.name} of the pipeline generated from ${commentSafe(notebookPath)}.`,
    '',
    `Source cells: ${cells}.`,
  ];
  if (step.inputs.length) lines.push(`Inputs: ${step.inputs.map((i) => `${i.name} (from ${i.from})`).join(', ')}.`);
  if (step.outputs.length) lines.push(`Outputs: ${step.outputs.join(', ')}.`);
  lines.push('"""');
  const imports = importBlock(step.imports);
  // The serving function imported from the shared module is taken under another name, to record its calls.
  const recordedShared = step.serveCalls && serveFunctionSource(step) === 'shared' ? step.serveCalls.function : undefined;
  const sharedNames = step.sharedUses.filter((n) => !step.localDefinitions.some((d) => d.name === n) && n !== recordedShared);
  const needsDisplay = /\bdisplay\s*\(/.test(step.code) && !step.uses.includes('display');
  const ours = [
    ...(sharedNames.length ? [wrapImport('from ..shared import', sharedNames)] : []),
    ...(step.bodies.some((b) => b.raisesException) ? ['from .._runtime import show_expected_error'] : []),
    ...(needsDisplay ? ['from .._runtime import display'] : []),
    ...(step.readsNamespace ? ['from .._runtime import notebook_globals'] : []),
    ...serveCallsImports(step),
  ];
  if (imports.length || ours.length) lines.push('', ...imports, ...(imports.length && ours.length ? [''] : []), ...ours);
  lines.push('', '', signature(step) + ':');
  const body: string[] = [];
  const runLocals = new Set([...step.inputs.map((i) => i.name), ...step.params, ...step.assigned]);
  // The step module's own name and path would skip `if __name__ == "__main__":` blocks and move
  // `Path(__file__).parent` away from the files the notebook's directory held (copied to the root).
  const notebookGlobals = {
    __name__: '    __name__ = "__main__"  # the notebook ran as the main module',
    __file__: `    __file__ = ${pyString(path.posix.basename(notebookPath.split('\\').join('/')))}  # the notebook, at the pipeline root`,
  };
  for (const name of step.notebookGlobals ?? []) body.push(notebookGlobals[name as keyof typeof notebookGlobals]);
  // The notebook's globals are run()'s locals here: `"%(n)s" % globals()` must find them.
  if (step.readsNamespace) body.push('    globals = notebook_globals()  # the notebook namespace: module names and this run\'s values');
  if (step.notebookGlobals?.length || step.readsNamespace) body.push('');
  const asLocal = (def: DefinitionInfo) => globalsAsNonlocals(def.code.trimEnd(), runLocals) + topLevelName(def);
  const { inPlace, elsewhere } = byHome(step.localDefinitions, step.cells.map((c) => c.index));
  for (const def of elsewhere) body.push(indentPython(asLocal(def)), '');
  body.push(...recordServeCalls(step));
  for (const cell of step.cells) {
    const part = step.bodies.find((b) => b.cell === cell.index);
    const code = withDefinitionsInPlace(part?.body ?? '', inPlace.get(cell.index) ?? [], asLocal);
    if (!code.trim()) continue;
    body.push(`    # cell ${cellRef(cell.index, cell.id)}`);
    if (part?.raisesException) body.push(...expectedToFail(code.trimEnd()), '');
    else body.push(indentPython(code.trimEnd()), '');
  }
  if (step.outputs.length) body.push(`    return {${step.outputs.map((o) => `${pyString(o)}: ${outputValue(step, o)}`).join(', ')}}`);
  while (body.length && body[body.length - 1] === '') body.pop();
  if (!body.some((l) => l.trim() && !l.trim().startsWith('#'))) body.push('    pass');
  lines.push(...body);
  if (step.settings?.length) {
    lines.push('', '', 'def configure():', '    """Process-wide settings this step makes: a later step run without it replays them."""');
    lines.push(...step.settings.map((code) => indentPython(code)));
  }
  return lines.join('\n') + '\n';
}

// The notebook's own calls of its serving function (issue 14) are recorded by the step that makes them.
const RECORDED_CALLS = '_serve_calls';
const SHARED_SERVE_FUNCTION = '_notebook_serve_function';

/** Where the step gets the serving function from: a def inside run(), run()'s argument, or the shared module. */
function serveFunctionSource(step: Step): 'local' | 'input' | 'shared' {
  const name = step.serveCalls!.function;
  if (step.localDefinitions.some((d) => d.name === name)) return 'local';
  return step.inputs.some((i) => i.name === name) ? 'input' : 'shared';
}

function serveCallsImports(step: Step): string[] {
  if (!step.serveCalls) return [];
  const lines = ['from .._runtime import record_serve_calls'];
  if (serveFunctionSource(step) === 'shared') lines.push(`from ..shared import ${step.serveCalls.function} as ${SHARED_SERVE_FUNCTION}`);
  return lines;
}

/** Rebinds the serving function, before any cell runs, to one that records its calls. */
function recordServeCalls(step: Step): string[] {
  if (!step.serveCalls) return [];
  const { function: name, cell } = step.serveCalls;
  const original = serveFunctionSource(step) === 'shared' ? SHARED_SERVE_FUNCTION : name;
  return [
    `    # The calls the notebook makes of its serving function are saved (${SERVE_CALLS_ARTIFACT}) for the skew guard.`,
    `    ${RECORDED_CALLS} = []`,
    `    ${name} = record_serve_calls(${original}, ${RECORDED_CALLS}, ${cell})`,
    '',
  ];
}

function outputValue(step: Step, output: string): string {
  return output === SERVE_CALLS_ARTIFACT && step.serveCalls ? RECORDED_CALLS : output;
}

/** A cell tagged raises-exception: its error is shown and the step goes on, as nbclient runs such a notebook. */
function expectedToFail(code: string): string[] {
  return ['    try:', indentPython(code, '        '), '    except Exception:', '        show_expected_error()'];
}

/**
 * Definitions from the given cells run where they stood, after the code above them (a default
 * or a class body may read a value that code binds); the others are not in these cells' code.
 */
function byHome(definitions: DefinitionInfo[], cells: number[]): { inPlace: Map<number, DefinitionInfo[]>; elsewhere: DefinitionInfo[] } {
  const inPlace = new Map<number, DefinitionInfo[]>();
  const elsewhere: DefinitionInfo[] = [];
  for (const def of definitions) {
    const cell = (def as DefinitionInfo & { cell?: number }).cell;
    if (cell === undefined || def.bodyLine === undefined || !cells.includes(cell)) elsewhere.push(def);
    else inPlace.set(cell, [...(inPlace.get(cell) ?? []), def]);
  }
  return { inPlace, elsewhere };
}

/**
 * Defined inside run(), a class or function is `run.<locals>.Name`, which dataclass reprs and
 * error messages print; the notebook defined it at top level. Only where the name is surely the
 * class or function itself: not after a decorator that may return something else.
 */
function topLevelName(def: DefinitionInfo): string {
  const decorated = /^@/m.test(def.code.split(/^(?:class|def|async\s+def)\s/m)[0]);
  const plain = def.kind === 'class' ? !def.decoratorRoots?.length : !decorated;
  return plain ? `\n${def.name}.__qualname__ = ${pyString(def.name)}  # as at the notebook's top level` : '';
}

/** The cell's body with its definitions put back on the lines where they were. */
function withDefinitionsInPlace(body: string, definitions: DefinitionInfo[], render: (def: DefinitionInfo) => string): string {
  if (!definitions.length) return body;
  const lines = body ? body.split('\n') : [];
  const latestFirst = [...definitions].sort((a, b) => b.bodyLine! - a.bodyLine! || b.line - a.line);
  for (const def of latestFirst) lines.splice(Math.min(def.bodyLine!, lines.length), 0, ...render(def).split('\n'), '');
  while (lines.length && lines[lines.length - 1].trim() === '') lines.pop();
  return lines.join('\n');
}

/**
 * Inside `run()` the notebook's globals are `run()`'s locals: a function defined there that
 * rebinds one with `global` must say `nonlocal`. Names `run()` does not bind stay global (the
 * step module's), where `run()` reads them back.
 */
function globalsAsNonlocals(code: string, runLocals: Set<string>): string {
  return code.replace(/^([ \t]*)global[ \t]+([\w \t,]+?)[ \t]*$/gm, (line, indent: string, list: string) => {
    const names = list.split(',').map((n) => n.trim());
    const local = names.filter((n) => runLocals.has(n));
    const global = names.filter((n) => !runLocals.has(n));
    return [...(local.length ? [`${indent}nonlocal ${local.join(', ')}`] : []), ...(global.length ? [`${indent}global ${global.join(', ')}`] : [])].join('\n');
  });
}

function signature(step: Step): string {
  const args = step.inputs.map((i) => i.name);
  if (step.params.length) args.push('*', ...step.params);
  // IPython ran the cells' top-level awaits on an event loop; the runtime runs this coroutine on one.
  return `${step.awaits ? 'async ' : ''}def run(${args.join(', ')})`;
}

export function sharedModule(plan: Plan, notebookPath: string): string {
  const lines = [`"""Functions, classes and setup code shared by the steps of ${commentSafe(notebookPath)}."""`];
  const imports = importBlock(plan.sharedImports);
  if (imports.length) lines.push(...imports);
  const shared = sharedDefinitions(plan);
  const { inPlace, elsewhere } = byHome(shared, plan.sharedCode.map((part) => part.cell));
  for (const part of plan.sharedCode) {
    const code = withDefinitionsInPlace(part.body, inPlace.get(part.cell) ?? [], (def) => def.code.trimEnd());
    lines.push('', '', `# cell ${cellRef(part.cell, part.cellId)}`, code.trimEnd());
  }
  for (const def of elsewhere) lines.push('', '', def.code.trimEnd());
  return lines.join('\n') + '\n';
}

/** Definitions no step defines itself, and those a step imports even though another defines its own copy. */
export function sharedDefinitions(plan: Plan): DefinitionInfo[] {
  const local = new Set(plan.steps.flatMap((s) => s.localDefinitions.map((d) => d.code)));
  const imported = new Set(plan.steps.flatMap((s) => s.sharedUses));
  const last = new Map(plan.definitions.map((d) => [d.name, d]));
  return plan.definitions.filter((d) => !local.has(d.code) || (imported.has(d.name) && last.get(d.name) === d));
}

export function mainModule(plan: Plan, notebookPath: string, packageName: string): string {
  const stepRows = plan.steps.map((s) => {
    const inputs = `{${s.inputs.map((i) => `${pyString(i.name)}: ${pyString(i.from)}`).join(', ')}}`;
    const list = (xs: string[]) => `[${xs.map(pyString).join(', ')}]`;
    const settings = s.settings?.length ? ', settings=True' : '';
    return `    _runtime.Step(${pyString(s.name)}, ${pyString(`${packageName}.steps.${s.name}`)}, ${inputs}, ${list(s.outputs)}, ${list(s.params)}, ${list(s.metrics)}${settings}),`;
  });
  const params = Object.entries(plan.params).map(([k, v]) => `    ${pyString(k)}: ${pyLiteral(v)},`);
  return [
    `"""Run the pipeline generated from ${commentSafe(notebookPath)}.`,
    '',
    `    python -m ${packageName} [--only STEP] [--from STEP] [--param NAME=VALUE] [--artifacts DIR] [--run-id ID]`,
    `    python -m ${packageName} --only STEP [--input NAME=PATH] [--output NAME=PATH] [--state-in DIR] [--state-out DIR] [--metrics-out FILE]`,
    '"""',
    'import sys',
    '',
    'from . import _runtime',
    ...(setupRunsFirst(plan) ? ['# The setup cells ran first in the notebook (settings, seeds): they run before any step.', 'from . import shared  # noqa: F401'] : []),
    '',
    params.length ? ['PARAMS = {', ...params, '}'].join('\n') : 'PARAMS = {}',
    ...(params.length && plan.paramSource ? [`PARAMS = _runtime.as_python_reads(PARAMS, ${pyString(plan.paramSource)})`] : []),
    '',
    'STEPS = [',
    ...stepRows,
    ']',
    '',
    '',
    'def main(argv=None):',
    '    args = _runtime.parse_args(argv, STEPS, PARAMS)',
    '    return _runtime.run_pipeline(STEPS, args)',
    '',
    '',
    'if __name__ == "__main__":',
    '    sys.exit(main())',
    '',
  ].join('\n');
}

/**
 * The shared module runs the setup cells' code when it is first imported: by the first step that
 * uses one of its names, which may come after steps that needed the setup already
 * (`np.random.seed(0)` in the imports cell, then a step drawing numbers without using any shared name).
 */
function setupRunsFirst(plan: Plan): boolean {
  return !!plan.sharedSettings?.length || plan.sharedCode.length > 0;
}

export function importBlock(imports: ImportInfo[]): string[] {
  const unique = [...new Set(imports.map((i) => i.code.trim()))];
  return [...unique.filter((c) => FUTURE.test(c)), ...unique.filter((c) => !FUTURE.test(c))];
}

/** Cell ids come from the notebook: only safe ones are shown. */
export function cellRef(index: number, id: string): string {
  return /^[A-Za-z0-9_-]{1,64}$/.test(id) && id !== `cell-${index}` ? `${index} (id ${id})` : String(index);
}

/** PEP 8: long import lists go in parentheses, one name per line. */
export function wrapImport(head: string, names: string[]): string {
  const line = `${head} ${names.join(', ')}`;
  return line.length <= 79 ? line : `${head} (\n${names.map((n) => `    ${n},`).join('\n')}\n)`;
}
