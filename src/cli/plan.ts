import * as path from 'path';
import { formatLocated } from '../core/errors';
import { graphDot, graphMermaid, pipelineGraph } from '../core/plan/graph';
import type { Plan } from '../core/plan/model';
import { planNotebook, readNotebookFile, workspaceRelative } from '../core/pipeline';
import { CommandSpec, OPTIONS, ParsedArgs, stringFlag } from './args';
import { analysisCacheDir } from './productionize';
import { CliContext, EXIT, UsageError } from './context';

const FORMATS = ['text', 'json', 'mermaid', 'dot'] as const;
type Format = (typeof FORMATS)[number];

export const planSpec: CommandSpec = {
  name: 'plan',
  arguments: '<notebook>',
  summary: 'show the steps, their inputs and outputs, and the diagnostics',
  options: [
    { flags: '--format <format>', help: 'how to print the plan (default: text); mermaid and dot print the step graph', choices: FORMATS },
    { flags: '--json', help: 'the same as --format json' },
    OPTIONS.noCache,
  ],
  handler: planCommand,
};

async function planCommand(args: ParsedArgs, ctx: CliContext): Promise<number> {
  const abs = path.resolve(ctx.cwd, args.positionals[0]);
  const notebook = await readNotebookFile(abs);
  notebook.path = workspaceRelative(ctx.cwd, abs);
  const cacheDir = analysisCacheDir(args, ctx);
  const format = planFormat(args);
  const plan = await planNotebook(notebook, { analysisCache: cacheDir ? { dir: cacheDir, notebookFile: abs } : undefined, oneShot: true });
  ctx.out(renderPlan(plan, format).replace(/\n$/, ''));
  const errors = plan.diagnostics.filter((d) => d.severity === 'error');
  // Text shows warnings itself; the other formats are for machines, so warnings go to stderr.
  const machine = format !== 'text';
  for (const d of plan.diagnostics.filter((d) => d.severity !== 'info' || !machine)) {
    if (d.severity === 'error' || machine) {
      ctx.err(`${d.severity}: ${formatLocated(d.message, { file: plan.notebook, cell: d.cell, cellId: d.cellId, line: d.line, column: d.column })}`);
    }
  }
  return errors.length ? EXIT.failed : EXIT.ok;
}

function planFormat(args: ParsedArgs): Format {
  const format = stringFlag(args, 'format') as Format | undefined;
  if (format && args.flags.has('json') && format !== 'json') throw new UsageError(`--json and --format ${format} ask for two formats; give one`);
  return format ?? (args.flags.has('json') ? 'json' : 'text');
}

function renderPlan(plan: Plan, format: Format): string {
  switch (format) {
    case 'json':
      return JSON.stringify(planJson(plan), null, 2);
    case 'mermaid':
      return graphMermaid(pipelineGraph(plan));
    case 'dot':
      return graphDot(pipelineGraph(plan));
    default:
      return planText(plan);
  }
}

/** The `plan --json` contract other tools depend on. */
export function planJson(plan: Plan) {
  return {
    notebook: plan.notebook,
    language: plan.language,
    params: plan.params,
    steps: plan.steps.map((s) => ({
      name: s.name,
      cells: s.cells.map((c) => c.index),
      after: s.after,
      inputs: s.inputs,
      outputs: s.outputs,
      uses: s.uses.filter((u) => !s.imports.some((i) => i.names.includes(u))),
      defines: s.defines,
      params: s.params,
      metrics: s.metrics,
    })),
    diagnostics: plan.diagnostics.map((d) => ({ severity: d.severity, message: d.message, cell: d.cell ?? null, line: d.line ?? null })),
  };
}

function planText(plan: Plan): string {
  const lines = [`${plan.notebook}: ${plan.steps.length} step${plan.steps.length === 1 ? '' : 's'}`];
  const params = Object.entries(plan.params);
  if (params.length) lines.push(`  params: ${params.map(([k, v]) => `${k}=${JSON.stringify(v)}`).join(', ')}`);
  for (const s of plan.steps) {
    lines.push(`  ${s.name}  (cells ${s.cells.map((c) => c.index).join(', ')})`);
    if (s.after.length) lines.push(`    after:   ${s.after.join(', ')}`);
    if (s.inputs.length) lines.push(`    inputs:  ${s.inputs.map((i) => `${i.name} <- ${i.from}`).join(', ')}`);
    if (s.outputs.length) lines.push(`    outputs: ${s.outputs.join(', ')}`);
    if (s.params.length) lines.push(`    params:  ${s.params.join(', ')}`);
    if (s.metrics.length) lines.push(`    metrics: ${s.metrics.join(', ')}`);
  }
  for (const d of plan.diagnostics.filter((d) => d.severity !== 'error')) {
    lines.push(`  ${d.severity}: ${formatLocated(d.message, { file: plan.notebook, cell: d.cell, line: d.line })}`);
  }
  return lines.join('\n');
}
