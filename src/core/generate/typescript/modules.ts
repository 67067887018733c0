/**
 * The ES modules of a generated Node/Deno package: one per step, the shared module and
 * main.mjs. Modules are assembled as TypeScript (the notebook's own syntax) and then stripped
 * to JavaScript by the compiler, which also lays the code out inside `run()`.
 */
import * as path from 'path';
import type { ImportInfo } from '../../analysis/types';
import type { TypeScriptEngine } from '../../analysis/typescript/load';
import type { Plan, Step } from '../../plan/model';
import { specifierFor, Runtime } from './specifiers';

export interface ModuleContext {
  plan: Plan;
  engine: TypeScriptEngine;
  runtime: Runtime;
  notebookPath: string;
}

const sourceLanguage = (plan: Plan) => (plan.language === 'javascript' ? 'javascript' : 'typescript');

export function stepModule(step: Step, ctx: ModuleContext): string {
  const { engine, plan } = ctx;
  const language = sourceLanguage(plan);
  const header = [
    `// Step ${step.name} of the pipeline generated from ${commentSafe(ctx.notebookPath)}.`,
    `// Source cells: ${step.cells.map((c) => cellRef(c.index, c.id)).join(', ')}.`,
  ];
  if (step.inputs.length) header.push(`// Inputs: ${step.inputs.map((i) => `${i.name} (from ${i.from})`).join(', ')}.`);
  if (step.outputs.length) header.push(`// Outputs: ${step.outputs.join(', ')}.`);
  const moved = parameterisedDefinitions(plan);
  const localDefinitions = step.localDefinitions.filter((d) => !moved.has(d.name));
  const local = new Set(localDefinitions.map((d) => d.name));
  const fromShared = [...step.sharedUses, ...step.localDefinitions.filter((d) => moved.has(d.name)).map((d) => d.name)];
  const shared = [...new Set(fromShared)].filter((n) => !local.has(n));
  const received = [...step.inputs.map((i) => i.name), ...step.params];
  const body = [
    ...localDefinitions.map((d) => d.code.trim()),
    ...step.bodies.map((part) => `// cell ${cellRef(part.cell, part.cellId)}\n${part.body.trim()}`),
  ].join('\n\n');
  const code = [
    ...importLines(step.imports, body),
    ...(shared.length ? [`import { ${shared.join(', ')} } from './shared.mjs';`] : []),
    '',
    `export async function run(${destructure(step.inputs.map((i) => i.name))}, ${destructure(step.params)}) {`,
    engine.redeclarationsToAssignments(body, language, received),
    ...(step.outputs.length ? [`return { ${step.outputs.join(', ')} };`] : []),
    '}',
  ].join('\n');
  return [...header, '', finish(code, ctx, STEPS_DIRECTORY)].join('\n');
}

/** The notebook's functions and classes (and the setup code of imports/functions cells), exported for the steps. */
export function sharedModule(ctx: ModuleContext): string {
  const { plan } = ctx;
  const definitions = sharedDefinitions(plan);
  const setup = plan.sharedCode.map((part) => `// cell ${cellRef(part.cell, part.cellId)}\n${part.body.trim()}`).join('\n\n');
  const parameters = parametersReadBy(definitions, plan);
  const exported = [
    ...definitions.map((d) => d.name),
    ...plan.steps.flatMap((s) => s.sharedUses).filter((n) => !plan.definitions.some((d) => d.name === n)),
    ...(parameters.length ? [SET_PARAMETERS] : []),
  ];
  const declared = parameters.length
    ? [
        '// The parameters the definitions below read, set from the command line before any step runs.',
        `let ${parameters.join(', ')};`,
        `function ${SET_PARAMETERS}(values) {\n({ ${parameters.join(', ')} } = values);\n}`,
      ].join('\n')
    : '';
  const body = [declared, setup, ...definitions.map((d) => d.code.trim())].filter(Boolean).join('\n\n');
  const code = [
    ...importLines(plan.sharedImports, body),
    '',
    ctx.engine.redeclarationsToAssignments(body, sourceLanguage(plan), []),
    ...(exported.length ? ['', `export { ${[...new Set(exported)].join(', ')} };`] : []),
  ].join('\n');
  return [`// Functions, classes and setup code shared by the steps of ${commentSafe(ctx.notebookPath)}.`, '', finish(code, ctx)].join('\n');
}

/** The shared module's export that hands it the run's parameters (a name no notebook uses). */
const SET_PARAMETERS = '__nb2prodSetParameters';

export function sharedDefinitions(plan: Plan): Plan['definitions'] {
  const moved = parameterisedDefinitions(plan);
  const local = new Set(plan.steps.flatMap((s) => s.localDefinitions.filter((d) => !moved.has(d.name)).map((d) => d.code)));
  return plan.definitions.filter((d) => !local.has(d.code));
}

/**
 * Functions and classes the planner put inside steps only because they read parameters. They
 * live in the shared module instead, which receives the parameters: a class defined inside each
 * step would be a different class in every step (`instanceof` false on an instance the previous
 * step made, and instances that cannot be saved). Not moved: a definition that reads a step's
 * value or rebinds a name, or reads a parameter some step assigns.
 */
export function parameterisedDefinitions(plan: Plan): Set<string> {
  const params = new Set(Object.keys(plan.params));
  const assignedParams = new Set(plan.steps.flatMap((s) => [...s.defines, ...s.assigned]).filter((n) => params.has(n)));
  const local = new Map(plan.steps.flatMap((s) => s.localDefinitions).map((d) => [d.name, d]));
  const stepLocal = new Set(plan.steps.flatMap((s) => s.localDefinitions.map((d) => d.code)));
  const available = new Set([...plan.definitions.filter((d) => !stepLocal.has(d.code)).map((d) => d.name), ...plan.sharedImports.flatMap((i) => i.names)]);
  const movable = new Set([...local.values()].filter((d) => !d.effects?.writesGlobals.length).map((d) => d.name));
  for (let changed = true; changed; ) {
    changed = false;
    for (const name of movable) {
      const reads = local.get(name)!.globals.map((g) => g.name);
      const fits = reads.every((n) => (params.has(n) && !assignedParams.has(n)) || available.has(n) || movable.has(n));
      if (!fits) changed = movable.delete(name);
    }
  }
  return movable;
}

function parametersReadBy(definitions: Plan['definitions'], plan: Plan): string[] {
  const moved = parameterisedDefinitions(plan);
  const reads = definitions.filter((d) => moved.has(d.name)).flatMap((d) => d.globals.map((g) => g.name));
  return [...new Set(reads)].filter((n) => n in plan.params);
}

export function needsSharedModule(plan: Plan): boolean {
  return plan.sharedCode.length > 0 || sharedDefinitions(plan).length > 0 || plan.sharedImports.length > 0;
}

/**
 * main.mjs: the step table and the parameters. Only the notebook's classes without `#private`
 * state are registered for reviving saved instances: a copy could not restore that state.
 */
export function mainModule(ctx: ModuleContext): string {
  const { plan } = ctx;
  const language = sourceLanguage(plan);
  const classes = sharedDefinitions(plan).filter((d) => d.kind === 'class' && !ctx.engine.hasPrivateState(d.code, language));
  const parameterised = parametersReadBy(sharedDefinitions(plan), plan).length > 0;
  const rows = plan.steps.map((s) => {
    const inputs = s.inputs.length ? `{ ${s.inputs.map((i) => `${jsKey(i.name)}: ${js(i.from)}`).join(', ')} }` : '{}';
    const load = `() => import(${js(`./steps/${s.name}.mjs`)})`;
    return `  { name: ${js(s.name)}, load: ${load}, inputs: ${inputs}, outputs: ${js(s.outputs)}, params: ${js(s.params)}, metrics: ${js(s.metrics)} },`;
  });
  const params = Object.entries(plan.params).map(([k, v]) => `  ${jsKey(k)}: ${JSON.stringify(v)},`);
  return [
    '#!/usr/bin/env node',
    `// Run the pipeline generated from ${commentSafe(ctx.notebookPath)}.`,
    `//   ${ctx.runtime === 'deno' ? 'deno run -A main.mjs' : 'node main.mjs'} [--only STEP] [--from STEP] [--param NAME=VALUE] [--artifacts DIR] [--run-id ID]`,
    '// A step run alone (--only) also takes --input, --output, --state-in, --state-out, --metrics-out: see --help.',
    "import process from 'node:process';",
    "import { runPipeline } from './_runtime.mjs';",
    ...sharedImport(classes.map((c) => c.name).concat(parameterised ? [SET_PARAMETERS] : []), needsSharedModule(plan)),
    '',
    params.length ? ['const PARAMS = {', ...params, '};'].join('\n') : 'const PARAMS = {};',
    '',
    'const STEPS = [',
    ...rows,
    '];',
    '',
    '// Classes whose instances can travel between steps as artifacts.',
    `const CLASSES = { ${classes.map((c) => c.name).join(', ')} };`,
    '',
    `process.exitCode = await runPipeline(STEPS, PARAMS, CLASSES, process.argv.slice(2)${parameterised ? `, ${SET_PARAMETERS}` : ''});`,
    '',
  ].join('\n');
}

/**
 * main.mjs imports the shared module up front, also when it needs nothing from it: its setup
 * code runs before any step, as the notebook's imports and functions cells did. Steps are
 * imported when they run.
 */
function sharedImport(names: string[], exists: boolean): string[] {
  if (names.length) return [`import { ${names.join(', ')} } from './shared.mjs';`];
  return exists ? ["import './shared.mjs';"] : [];
}

/**
 * A module's imports: ESM ones as written, `require()` ones after a `require` made for ES
 * modules (which have none) — also when the code itself calls `require`.
 */
function importLines(imports: ImportInfo[], code: string): string[] {
  const unique = [...new Set(imports.map((i) => i.code.trim()))];
  const esm = unique.filter((c) => c.startsWith('import'));
  const rest = unique.filter((c) => !c.startsWith('import'));
  const needsRequire = /\brequire\s*\(/.test([...rest, code].join('\n'));
  return [
    ...esm,
    ...(needsRequire ? ["import { createRequire } from 'node:module';", 'const require = createRequire(import.meta.url);'] : []),
    ...rest,
  ];
}

/** Step modules live one directory below the package root, where the notebook's own files are. */
const STEPS_DIRECTORY = 'steps';

/**
 * TypeScript module text -> the JavaScript module written to disk. Relative specifiers are
 * assembled relative to the package root (the notebook's directory, `./shared.mjs`); written
 * into `steps/`, they reach one level up.
 */
function finish(code: string, ctx: ModuleContext, directory = ''): string {
  const language = sourceLanguage(ctx.plan);
  const fromRoot = (specifier: string) => (directory && /^\.\.?\//.test(specifier) ? path.posix.relative(directory, specifier) : specifier);
  const rewritten = ctx.engine.rewriteSpecifiers(code, language, (s) => specifierFor(fromRoot(s), ctx.runtime));
  return ctx.engine.stripTypes(rewritten, language).trimEnd() + '\n';
}

function destructure(names: string[]): string {
  return `{ ${names.join(', ')} } = {}`.replace('{  }', '{}');
}

const js = (v: string | string[]) => (Array.isArray(v) ? `[${v.map((x) => JSON.stringify(x)).join(', ')}]` : JSON.stringify(v));
const jsKey = (name: string) => (/^[A-Za-z_$][\w$]*$/.test(name) ? name : JSON.stringify(name));

/** Text from the notebook in a `//` comment: a line break would end the comment. */
function commentSafe(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/[\u0000-\u001f\u007f\u2028\u2029]/g, ' ');
}

/** Cell ids come from the notebook: only safe ones are shown. */
function cellRef(index: number, id: string): string {
  return /^[A-Za-z0-9_-]{1,64}$/.test(id) && id !== `cell-${index}` ? `${index} (id ${id})` : String(index);
}
