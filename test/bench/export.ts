/**
 * `nb2prod export` of already productionized pipelines: the largest corpus notebook and the
 * shipped example (target: under 0.5 s for the whole CLI process), and the generated 5,000-cell
 * notebook (500 steps) as a stress figure without a target: its 0.7 MB of YAML is mostly the yaml
 * library's serialisation time. Whole CLI processes (what a user waits for, process start
 * included), the CLI's own start as the floor, and the core call alone.
 */
import { mkdtempSync, writeFileSync } from 'fs';
import * as os from 'os';
import * as path from 'path';
import { performance } from 'perf_hooks';
import { exportPipeline } from '../../src/core/export/export';
import { syntheticNotebook } from './core';
import { measure, median, repeat, table } from './measure';

const ROOT = path.resolve(__dirname, '..', '..', '..');
const CLI = path.join(ROOT, 'dist', 'cli.js');
const TARGET_SECONDS = 0.5;

export async function benchExport(print: (row: string) => void): Promise<void> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'nb2prod-bench-export-'));
  writeFileSync(path.join(dir, 'synthetic_5000.ipynb'), syntheticNotebook(5000));
  const notebooks = [
    { name: 'largest corpus notebook (handsonml2 09)', file: path.join(ROOT, 'test', 'fixtures', 'corpus', 'wild', 'handsonml2_09_unsupervised_learning.ipynb'), target: true },
    { name: 'the shipped example', file: path.join(ROOT, 'examples', 'sales_forecast.ipynb'), target: true },
    { name: 'generated 5,000-cell notebook (stress)', file: path.join(dir, 'synthetic_5000.ipynb'), target: false },
  ];
  const floor = repeat(5, () => measure(process.execPath, [CLI, '--version'], dir));
  const rows = [['pipeline', 'steps', 'kfp CLI s', 'argo CLI s', 'local tag CLI s', 'kfp core ms', 'target']];
  for (const nb of notebooks) {
    const out = path.join(dir, path.basename(nb.file, '.ipynb'));
    const made = measure(process.execPath, [CLI, 'productionize', nb.file, '--out', out, '--force', '--workspace', dir], dir);
    if (made.status !== 0) {
      rows.push([nb.name, '-', `productionize failed: ${made.stderr.trim().split('\n').pop()}`]);
      continue;
    }
    const cli = (args: string[]) => repeat(5, () => measure(process.execPath, [CLI, 'export', ...args, '--workspace', dir], dir));
    const kfp = cli(['kfp', out, '--image', 'registry.example/bench:1', '--out', path.join(dir, 'k.yaml')]);
    const argo = cli(['argo', out, '--image', 'registry.example/bench:1', '--out', path.join(dir, 'a.yaml')]);
    // No --image: the build context is hashed to name the local tag.
    const local = cli(['kfp', out, '--out', path.join(dir, 'l.yaml')]);
    const core: number[] = [];
    let steps = 0;
    for (let i = 0; i < 5; i++) {
      const started = performance.now();
      const r = await exportPipeline({ dir: out, target: 'kfp', image: 'registry.example/bench:1', out: path.join(dir, 'c.yaml') });
      core.push(performance.now() - started);
      steps = r.manifest.steps.length;
    }
    const worst = Math.max(kfp.seconds, argo.seconds, local.seconds);
    rows.push([
      nb.name,
      String(steps),
      kfp.seconds.toFixed(3),
      argo.seconds.toFixed(3),
      local.seconds.toFixed(3),
      median(core).toFixed(1),
      !nb.target ? '-' : worst < TARGET_SECONDS ? `ok (< ${TARGET_SECONDS} s)` : `OVER ${TARGET_SECONDS} s`,
    ]);
    if ([kfp, argo, local].some((m) => m.status !== 0)) rows.push(['', '', `export failed: ${[kfp, argo, local].map((m) => m.stderr.trim()).join(' ')}`]);
  }
  print(table(rows));
  print(`(median of 5 processes each; the CLI alone, nb2prod --version, takes ${floor.seconds.toFixed(3)} s here; core: exportPipeline in this process;`);
  print(' local tag: no --image, so the build context is hashed to name the image)');
}
