/**
 * Plan + generate on the largest corpus notebook and on a generated 5,000-cell notebook,
 * beside `jupyter nbconvert --to script` on the same files (the baseline), as ratios.
 */
import { spawnSync } from 'child_process';
import { mkdtempSync, writeFileSync } from 'fs';
import * as os from 'os';
import * as path from 'path';
import { measure, repeat, table } from './measure';

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
  return JSON.stringify({ nbformat: 4, nbformat_minor: 5, metadata: { kernelspec: { name: 'python3', language: 'python' } }, cells: out });
}

function hasNbconvert(): boolean {
  return spawnSync('jupyter', ['nbconvert', '--version'], { encoding: 'utf8' }).status === 0;
}

export async function benchCore(print: (row: string) => void): Promise<void> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'nb2prod-bench-'));
  const synthetic = path.join(dir, 'synthetic_5000.ipynb');
  writeFileSync(synthetic, syntheticNotebook(5000));
  const files = [
    { name: 'largest corpus notebook (handsonml2 09, 3.9 MB)', file: path.join(ROOT, 'test', 'fixtures', 'corpus', 'wild', 'handsonml2_09_unsupervised_learning.ipynb') },
    { name: 'generated 5,000-cell notebook', file: synthetic },
  ];
  const baseline = hasNbconvert();
  const rows = [['notebook', 'nb2prod s', 'peak MB', 'nbconvert s', 'peak MB', 'speed-up']];
  // The analysis alone (`plan --json`), so a regression there is not hidden by generation and writing.
  const planRows = [['notebook', 'plan s', 'peak MB', 'speed-up']];
  for (const { name, file } of files) {
    const ours = repeat(3, () => measure(process.execPath, [CLI, 'productionize', file, '--out', path.join(dir, 'out'), '--force'], dir));
    if (ours.status !== 0) print(`  nb2prod failed on ${name}: ${ours.stderr.slice(-500)}`);
    const plan = repeat(3, () => measure(process.execPath, [CLI, 'plan', file, '--json'], dir));
    const theirs = baseline ? repeat(3, () => measure('jupyter', ['nbconvert', '--to', 'script', '--stdout', file], dir)) : undefined;
    rows.push([
      name,
      ours.seconds.toFixed(3),
      ours.peakMB.toFixed(0),
      theirs ? theirs.seconds.toFixed(3) : 'n/a',
      theirs ? theirs.peakMB.toFixed(0) : 'n/a',
      theirs ? `${(theirs.seconds / ours.seconds).toFixed(1)}x` : 'n/a',
    ]);
    planRows.push([name, plan.seconds.toFixed(3), plan.peakMB.toFixed(0), theirs ? `${(theirs.seconds / plan.seconds).toFixed(1)}x` : 'n/a']);
  }
  print('plan + generate + write (full analysis) vs jupyter nbconvert --to script, median of 3, no cache');
  print(table(rows));
  print('plan only (the same analysis, nothing generated or written), median of 3; speed-up against the same nbconvert runs');
  print(table(planRows));
  if (!baseline) print('  (jupyter nbconvert not installed: apt-get install jupyter-nbconvert for the baseline)');
}
