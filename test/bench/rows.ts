/**
 * The 3-million-row, five-step pandas/scikit-learn notebook (it generates its data): `python -m
 * <pkg>` beside the same notebook as one script (`jupyter nbconvert --to script`, then python3),
 * and what a second identical run adds to the workspace's object store. `python -m` runs in the
 * pipeline directory of a workspace: its runtime finds the workspace's `.nb2prod/objects` and
 * writes every output there itself (the first run), or finds it there already (the others).
 */
import { spawnSync } from 'child_process';
import { copyFileSync, existsSync, mkdtempSync, readdirSync, rmSync, statSync } from 'fs';
import * as os from 'os';
import * as path from 'path';
import { SCIENTIFIC_PYTHON } from '../helpers/diamond';
import { FIXTURES } from '../helpers/notebooks';
import { measure } from './measure';

const ROOT = path.resolve(__dirname, '..', '..', '..');
const CLI = path.join(ROOT, 'dist', 'cli.js');
const NOTEBOOK = 'three_million_rows';

export async function benchRows(print: (row: string) => void): Promise<void> {
  const work = mkdtempSync(path.join(os.tmpdir(), 'nb2prod-bench-rows-'));
  try {
    copyFileSync(path.join(FIXTURES, 'notebooks', `${NOTEBOOK}.ipynb`), path.join(work, `${NOTEBOOK}.ipynb`));
    const dir = path.join(work, 'pipeline');
    const made = spawnSync(process.execPath, [CLI, 'productionize', `${NOTEBOOK}.ipynb`, '--out', dir], { cwd: work, encoding: 'utf8' });
    if (made.status !== 0) throw new Error(`productionize failed: ${made.stderr}`);
    const converted = spawnSync('jupyter', ['nbconvert', '--to', 'script', `${NOTEBOOK}.ipynb`, '--output-dir', 'script'], { cwd: work, encoding: 'utf8' });
    if (converted.status !== 0) throw new Error(`nbconvert failed: ${converted.stderr}`);

    // Alternated, three of each, the median: the machine's other work slows both alike.
    let n = 0;
    const script = () => check(measure(SCIENTIFIC_PYTHON, [path.join('script', `${NOTEBOOK}.py`)], work), 'script');
    const pipeline = () => check(measure(SCIENTIFIC_PYTHON, ['-m', NOTEBOOK, '--run-id', `r${n++}`], dir), 'python -m');
    const store = path.join(work, '.nb2prod', 'objects');
    const versionBytes = bytesUnder(store);
    let firstStored = 0;
    const scripts = [];
    const runs = [];
    for (let i = 0; i < 3; i++) {
      scripts.push(script());
      runs.push(pipeline());
      if (i === 0) firstStored = bytesUnder(store) - versionBytes;
    }
    const asScript = median(scripts);
    const asPackage = median(runs);
    const before = bytesUnder(store);
    pipeline();
    const added = bytesUnder(store) - before;
    print(`  interpreter: ${SCIENTIFIC_PYTHON}; ${os.availableParallelism()} CPUs; each run writes ${(bytesUnder(path.join(dir, 'artifacts', 'r0')) / 1e6).toFixed(0)} MB of artifacts`);
    print(
      `  notebook as one script ${asScript.seconds.toFixed(2)} s, python -m ${NOTEBOOK} ${asPackage.seconds.toFixed(2)} s: ` +
        `${(asPackage.seconds / asScript.seconds).toFixed(2)}x (target <= 1.15x); peak ${asScript.peakMB.toFixed(0)} / ${asPackage.peakMB.toFixed(0)} MB`,
    );
    print(
      `  the first python -m run stored ${(firstStored / 1e6).toFixed(0)} MB of objects in ${runs[0].seconds.toFixed(2)} s ` +
        `(${(runs[0].seconds / asScript.seconds).toFixed(2)}x the script); the later ones found them there`,
    );
    print(`  a second identical python -m run adds ${added} object bytes to the workspace's store (target 0)`);
  } finally {
    // Each run leaves about 400 MB of artifacts and objects.
    rmSync(work, { recursive: true, force: true });
  }
}

function check(m: ReturnType<typeof measure>, what: string): ReturnType<typeof measure> {
  if (m.status !== 0) throw new Error(`${what} failed: ${m.stderr}`);
  return m;
}

function median(runs: ReturnType<typeof measure>[]): ReturnType<typeof measure> {
  return [...runs].sort((a, b) => a.seconds - b.seconds)[Math.floor(runs.length / 2)];
}

function bytesUnder(folder: string): number {
  if (!existsSync(folder)) return 0;
  return readdirSync(folder, { recursive: true, encoding: 'utf8' }).reduce((sum, file) => {
    const stat = statSync(path.join(folder, file));
    return sum + (stat.isFile() ? stat.size : 0);
  }, 0);
}
