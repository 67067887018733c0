/**
 * `<pkg>/serving.py`: the serve cell's function as the notebook wrote it, with its imports and
 * the notebook functions it calls (from the shared module when that holds them), and `bind()`,
 * which sets the step values it reads. Importing it loads no artifact: whoever serves loads them
 * (with the package's `_runtime` loader) and binds them.
 */
import type { Plan } from '../../plan/model';
import { cellRef, importBlock, wrapImport } from './modules';
import { commentSafe, pyString } from './literal';

type Located = { cell?: number; cellId?: string };

export function servingModule(plan: Plan, notebookPath: string): string | undefined {
  const serve = plan.serve;
  if (!serve) return undefined;
  const needs = serve.needs.map((n) => `${n.name} (step ${n.step})`).join(', ');
  const lines = [
    `"""The serving function ${serve.function}() of the pipeline generated from ${commentSafe(notebookPath)}, cell ${cellRef(serve.cell.index, serve.cell.id)}.`,
    '',
    needs
      ? `bind(values) sets the values it reads that the pipeline's steps computed: ${needs}.`
      : 'It reads no value the pipeline computes: bind({}) is all it needs.',
    'Importing this module loads no artifact.',
    '"""',
  ];
  const imports = importBlock(serve.imports);
  const shared = serve.sharedUses;
  const ours = [
    ...(shared.length ? [wrapImport('from .shared import', shared)] : []),
    ...(serve.params.length ? ['from .__main__ import PARAMS as _PARAMS'] : []),
  ];
  if (imports.length || ours.length) lines.push(...imports, ...(imports.length && ours.length ? [''] : []), ...ours);
  if (serve.params.length) {
    lines.push('', "# Parameters it reads, at the pipeline's defaults: bind() sets the values a run used.");
    for (const name of serve.params) lines.push(`${name} = _PARAMS[${pyString(name)}]`);
  }
  lines.push(
    '',
    `NEEDS = {${serve.needs.map((n) => `${pyString(n.name)}: ${pyString(n.step)}`).join(', ')}}`,
    `PARAMS = (${serve.params.map(pyString).join(', ')}${serve.params.length === 1 ? ',' : ''})`,
    '',
    '',
    'def bind(values):',
    '    """Set the values the serving function reads (name -> value): NEEDS, by the steps that',
    '    computed them, and PARAMS when the run used other values. Other names are ignored."""',
    '    globals().update({name: value for name, value in values.items() if name in NEEDS or name in PARAMS})',
    '    missing = [name for name in NEEDS if name not in globals()]',
    '    if missing:',
    '        raise KeyError("bind(): the serving function also reads %s" % ", ".join("%r (step %s)" % (name, NEEDS[name]) for name in missing))',
  );
  for (const def of serve.definitions) {
    const at = def as typeof def & Located;
    lines.push('', '', ...(at.cell !== undefined ? [`# cell ${cellRef(at.cell, at.cellId ?? '')}`] : []), def.code.trimEnd());
  }
  return lines.join('\n') + '\n';
}
