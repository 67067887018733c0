/**
 * Plan + generate on the largest corpus notebook, on a generated 5,000-cell notebook and on
 * the shipped example, beside `jupyter nbconvert --to script` on the same files (the baseline), as ratios.
 */
import { spawnSync } from 'child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'fs';
import * as os from 'os';
import * as path from 'path';
import { Measurement, measure, repeat, table } from './measure';

const ROOT = path.resolve(__dirname, '..', '..', '..');
const CLI = path.join(ROOT, 'dist', 'cli.js');

/** A realistic long notebook: data flows forward, every tenth cell a new step. */
export function syntheticNotebook(cells: number): string {
  const out = [];
  for (let i = 0; i < cells; i++) {
    const tags = i % 10 === 0 ? [`step:s${i / 10}`] : [];
    const prev = i === 0 ? '0' : `v${i - 1}`;
    const source = [
      `v${i} = ${prev} + ${i % 7}`,
      `items_${i} = [x * 2 for x in range(${i % 13})]`,
      `if v${i} % 3 == 0:`,
      `    items_${i}.append(v${i})`,
      `total_${i} = sum(items_${i}) + len(str(v${i}))`,
    ].join('\n');
    out.push({ cell_type: 'code', id: `c${i}`, metadata: { tags }, source, outputs: [], execution_count: null });
  }
  return JSON.stringify({ nbformat: 4, nbformat_minor: 5, metadata: { kernelspec: { name: 'python3', display_name: 'Python 3', language: 'python' } }, cells: out });
}

/** The notebook with a comment appended to its last code cell, different for each `n`. */
function withOneCellEdited(text: string, n: number): string {
  const nb = JSON.parse(text);
  const cell = [...nb.cells].reverse().find((c: { cell_type: string }) => c.cell_type === 'code');
  const source = Array.isArray(cell.source) ? cell.source.join('') : cell.source;
  cell.source = `${source}\n# edit ${n}`;
  return JSON.stringify(nb);
}

function hasNbconvert(): boolean {
  return spawnSync('jupyter', ['nbconvert', '--version'], { encoding: 'utf8' }).status === 0;
}

/** Process start alone: the floor under any CLI figure (nb2prod needs node, nbconvert needs Python and its imports). */
function floors(baseline: boolean): string {
  const node = repeat(5, () => measure(process.execPath, ['-e', '0']));
  const jupyter = baseline ? repeat(3, () => measure('jupyter', ['nbconvert', '--version'])) : undefined;
  return `process start: node ${node.seconds.toFixed(3)} s${jupyter ? `, jupyter nbconvert --version ${jupyter.seconds.toFixed(3)} s` : ''}`;
}

export async function benchCore(print: (row: string) => void): Promise<void> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'nb2prod-bench-'));
  const synthetic = path.join(dir, 'synthetic_5000.ipynb');
  writeFileSync(synthetic, syntheticNotebook(5000));
  const files = [
    { name: 'largest corpus notebook (handsonml2 09, 3.9 MB)', file: path.join(ROOT, 'test', 'fixtures', 'corpus', 'wild', 'handsonml2_09_unsupervised_learning.ipynb') },
    { name: 'generated 5,000-cell notebook', file: synthetic },
    // What most runs look like: a notebook of a few dozen cells, where process start dominates.
    { name: 'the shipped example (examples/sales_forecast)', file: path.join(ROOT, 'examples', 'sales_forecast.ipynb') },
  ];
  const baseline = hasNbconvert();
  const cache = path.join(dir, 'cache');
  const cold = { NB2PROD_NO_CACHE: '1' };
  const warm = { NB2PROD_CACHE_DIR: cache };
  const rows = [['notebook', 'nbconvert s', 'peak MB', 'nb2prod cold s', 'peak MB', 'ratio', 'plan only s', 'ratio', 'warm s', 'ratio']];
  for (const { name, file } of files) {
    const productionize = (env: NodeJS.ProcessEnv, notebook = file) => measure(process.execPath, [CLI, 'productionize', notebook, '--out', path.join(dir, 'out'), '--force'], dir, env);
    const theirs = baseline ? repeat(3, () => measure('jupyter', ['nbconvert', '--to', 'script', '--stdout', file], dir)) : undefined;
    if (theirs && theirs.status !== 0) print(`  nbconvert failed on ${name}, no ratio: ${theirs.stderr.slice(-300)}`);
    const ours = repeat(3, () => productionize(cold));
    if (ours.status !== 0) print(`  nb2prod failed on ${name}: ${ours.stderr.slice(-500)}`);
    // The analysis alone (`plan --json`), so a regression there is not hidden by generation and writing.
    const plan = repeat(3, () => measure(process.execPath, [CLI, 'plan', file, '--json'], dir, cold));
    // Warm: the user edited one cell since the last productionize (the analysis cache has the rest).
    const edited = path.join(dir, `edited-${path.basename(file)}`);
    let edits = 0;
    const editOneCell = () => writeFileSync(edited, withOneCellEdited(readFileSync(file, 'utf8'), ++edits));
    editOneCell();
    productionize(warm, edited);
    const again = repeat(3, () => (editOneCell(), productionize(warm, edited)));
    const ratio = (m: Measurement) => (theirs && theirs.status === 0 && m.status === 0 ? `${(theirs.seconds / m.seconds).toFixed(1)}x` : 'n/a');
    rows.push([
      name,
      theirs ? theirs.seconds.toFixed(3) : 'n/a',
      theirs ? theirs.peakMB.toFixed(0) : 'n/a',
      ours.seconds.toFixed(3),
      ours.peakMB.toFixed(0),
      ratio(ours),
      plan.seconds.toFixed(3),
      ratio(plan),
      again.seconds.toFixed(3),
      ratio(again),
    ]);
  }
  print('jupyter nbconvert --to script vs nb2prod productionize (plan + generate + write, full analysis), median of 3');
  print('cold: no analysis cache; warm: one cell edited since the previous run, the others\' analyses from the user cache (see README)');
  print(table(rows));
  print(floors(baseline));
  if (!baseline) print('  (jupyter nbconvert not installed: apt-get install jupyter-nbconvert for the baseline)');
}
