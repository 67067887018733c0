/**
 * A TypeScript notebook with a large output (5 million numbers, about 90 MB of JSON) followed by
 * a compute-heavy step: `node main.mjs` beside the same notebook run as one module. The runtime
 * writes the output from a worker thread while the next step computes; the make step's own time
 * is what the writes leave on the main thread.
 */
import { readdirSync, readFileSync, writeFileSync } from 'fs';
import * as os from 'os';
import * as path from 'path';
import { productionize } from '../../src/core/pipeline';
import { tempDir, writeNotebook } from '../helpers/notebooks';
import { notebookAsModule } from '../helpers/typescript';
import { measure, median, type Measurement } from './measure';

const TSLAB = { kernelspec: { name: 'tslab', language: 'typescript', display_name: 'TypeScript' } };
const CELLS = [
  { source: 'const values = new Float64Array(5_000_000);\nfor (let i = 0; i < values.length; i++) values[i] = Math.sin(i) * 1000;', tags: ['step:make'] },
  { source: 'let acc = 0;\nfor (let r = 0; r < 100; r++) for (let i = 0; i < values.length; i++) acc += Math.sqrt(Math.abs(values[i]) + r);\nconst total = acc;', tags: ['step:compute'] },
  { source: "console.log('total', total);", tags: ['step:report'] },
];

export async function benchTypescript(print: (row: string) => void): Promise<void> {
  const work = tempDir('nb2prod-bench-ts-');
  const notebook = writeNotebook(work, 'large_output.ipynb', CELLS, TSLAB);
  const { outDir } = await productionize(notebook, { cwd: work, env: {} });
  const script = path.join(work, 'large_output.notebook.mjs');
  writeFileSync(script, notebookAsModule(notebook));

  // Alternated, three of each, the median: the machine's other work slows both alike.
  const scripts: Measurement[] = [];
  const runs: Measurement[] = [];
  const makeSeconds: number[] = [];
  for (let i = 0; i < 3; i++) {
    scripts.push(check(measure(process.execPath, [script], work), 'script'));
    runs.push(check(measure(process.execPath, ['main.mjs', '--run-id', `r${i}`], outDir, { NB2PROD_RUN_ID: '' }), 'node main.mjs'));
    const record = JSON.parse(readFileSync(path.join(outDir, 'artifacts', `r${i}`, 'run.json'), 'utf8')) as { steps: { seconds: number }[] };
    makeSeconds.push(record.steps[0].seconds);
  }
  const asScript = byTime(scripts);
  const asPackage = byTime(runs);
  const bytes = readdirSync(path.join(outDir, 'artifacts', 'r0', 'make')).reduce((sum, f) => sum + readFileSync(path.join(outDir, 'artifacts', 'r0', 'make', f)).length, 0);
  print(`  node ${process.version}; ${os.availableParallelism()} CPUs; the make step's output is ${(bytes / 1e6).toFixed(0)} MB of JSON`);
  print(
    `  notebook as one module ${asScript.seconds.toFixed(2)} s, node main.mjs ${asPackage.seconds.toFixed(2)} s: ${(asPackage.seconds / asScript.seconds).toFixed(2)}x; ` +
      `the make step (its writes left on the main thread) ${median(makeSeconds).toFixed(2)} s; peak ${asScript.peakMB.toFixed(0)} / ${asPackage.peakMB.toFixed(0)} MB`,
  );
}

function check(m: Measurement, what: string): Measurement {
  if (m.status !== 0) throw new Error(`${what} failed: ${m.stderr}`);
  return m;
}

function byTime(runs: Measurement[]): Measurement {
  return [...runs].sort((a, b) => a.seconds - b.seconds)[Math.floor(runs.length / 2)];
}
