/** The plan as Markdown: what each step receives and produces, and what is wrong where. */
import type { Plan } from '../core/plan/model';
import type { Diagnostic } from '../core/errors';

export function planMarkdown(plan: Plan): string {
  const out: string[] = [`# Pipeline plan: ${plan.notebook}`, ''];
  const errors = plan.diagnostics.filter((d) => d.severity === 'error').length + plan.steps.reduce((n, s) => n + s.diagnostics.filter((d) => d.severity === 'error').length, 0);
  out.push(`${plan.steps.length} step(s), language ${plan.language}, ${errors ? `**${errors} error(s)**` : 'no errors'}.`, '');
  const params = Object.entries(plan.params);
  if (params.length) {
    out.push('## Parameters', '', ...params.map(([k, v]) => `- \`${k}\` = \`${JSON.stringify(v)}\``), '');
  }
  out.push('## Steps', '');
  for (const s of plan.steps) {
    out.push(`### ${s.name}${s.label !== s.name ? ` (${s.label})` : ''}`, '');
    out.push(`- cells: ${s.cells.map((c) => c.index + 1).join(', ') || '-'}`);
    if (s.inputs.length) out.push(`- inputs: ${s.inputs.map((i) => `\`${i.name}\` from ${i.from}`).join(', ')}`);
    if (s.outputs.length) out.push(`- outputs: ${s.outputs.map((o) => `\`${o}\``).join(', ')}`);
    if (s.after.length) out.push(`- after: ${s.after.join(', ')}`);
    if (s.params.length) out.push(`- parameters: ${s.params.join(', ')}`);
    if (s.metrics.length) out.push(`- metrics: ${s.metrics.join(', ')}`);
    for (const d of s.diagnostics) out.push(`- ${diagnosticText(d)}`);
    out.push('');
  }
  if (plan.diagnostics.length) out.push('## Diagnostics', '', ...plan.diagnostics.map((d) => `- ${diagnosticText(d)}`), '');
  if (plan.requirements.modules.length || plan.requirements.pins.length) {
    out.push('## Requirements', '', ...[...plan.requirements.pins, ...plan.requirements.modules].map((r) => `- \`${r}\``), '');
  }
  return out.join('\n');
}

function diagnosticText(d: Diagnostic): string {
  const where = d.cell !== undefined ? ` (cell ${d.cell + 1}${d.line !== undefined ? `, line ${d.line}` : ''})` : '';
  return `**${d.severity}**${where}: ${d.message}`;
}
