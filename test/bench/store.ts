/**
 * `nb2prod checkout RUN` of a run with about 300 MB of artifacts (three 100 MB numpy arrays a
 * generated pipeline saved), beside the 1 s target of issue 13: back in place after the run
 * directory was deleted (artifacts come back as read-only hard links to their objects), in place
 * when everything is there already, and `--to DIR` (copies, reflinks where the file system has them).
 */
import { spawnSync } from 'child_process';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'fs';
import * as os from 'os';
import * as path from 'path';
import { SCIENTIFIC_PYTHON } from '../helpers/diamond';
import { notebookJson } from '../helpers/notebooks';
import { measure, median, Measurement, table } from './measure';

const ROOT = path.resolve(__dirname, '..', '..', '..');
const CLI = path.join(ROOT, 'dist', 'cli.js');
const TARGET_SECONDS = 1;
const ARRAY_MB = 100;
const RUNS = 3;

/** Each array distinct (its own object) and deterministic (the same bytes every bench). */
const CELLS = [
  { source: 'import numpy as np', tags: ['imports'] },
  {
    source: [0, 1, 2].map((k) => `a${k} = np.arange(${(ARRAY_MB * 1024 * 1024) / 8}, dtype=np.float64) + ${k}`).join('\n'),
    tags: ['step:make'],
  },
  { source: 'total = float(a0[-1] + a1[-1] + a2[-1])\nprint(total)', tags: ['step:use'] },
];

function cli(args: string[], cwd: string): void {
  const r = spawnSync(process.execPath, [CLI, ...args], { cwd, encoding: 'utf8', env: { ...process.env, NB2PROD_PYTHON: SCIENTIFIC_PYTHON } });
  if (r.status !== 0) throw new Error(`nb2prod ${args.join(' ')} failed: ${r.stderr}`);
}

/** The median of RUNS timed checkouts, each after `reset` put the workspace back as it was. */
function timed(reset: () => void, args: string[], cwd: string): Measurement {
  const runs: Measurement[] = [];
  for (let i = 0; i < RUNS; i++) {
    reset();
    const m = measure(process.execPath, [CLI, 'checkout', ...args], cwd);
    if (m.status !== 0) throw new Error(`checkout ${args.join(' ')} failed: ${m.stderr}`);
    runs.push(m);
  }
  return { ...runs[0], seconds: median(runs.map((r) => r.seconds)), peakMB: Math.max(...runs.map((r) => r.peakMB)) };
}

export async function benchStore(print: (row: string) => void): Promise<void> {
  const work = mkdtempSync(path.join(os.tmpdir(), 'nb2prod-bench-store-'));
  try {
    writeFileSync(path.join(work, 'big.ipynb'), notebookJson(CELLS));
    cli(['productionize', 'big.ipynb'], work);
    cli(['run', 'pipelines/big', '--local', '--jobs', '1', '--run-id', 'big'], work);
    const runDir = path.join(work, 'pipelines', 'big', 'artifacts', 'big');
    const artifact = path.join(runDir, 'make', 'a0.npy');
    const bytes = [0, 1, 2].reduce((sum, k) => sum + statSync(path.join(runDir, 'make', `a${k}.npy`)).size, 0);
    print(`  run with ${(bytes / 1024 / 1024).toFixed(0)} MB of artifacts (3 arrays); median of ${RUNS}; wall time of the CLI process`);

    const deleted = timed(() => rmSync(runDir, { recursive: true, force: true }), ['big'], work);
    const linked = statSync(artifact).nlink > 1;
    const inPlace = timed(() => undefined, ['big'], work);
    const to = path.join(work, 'restored');
    const copied = timed(() => rmSync(to, { recursive: true, force: true }), ['big', '--to', to], work);

    const row = (what: string, m: Measurement) => [what, `${m.seconds.toFixed(2)} s`, `${m.peakMB.toFixed(0)} MB`, `${TARGET_SECONDS} s`, m.seconds < TARGET_SECONDS ? 'ok' : 'over'];
    print(
      table([
        ['checkout', 'time', 'peak', 'target', ''],
        row(`in place, run directory deleted (${linked ? 'hard links' : 'copies: no hard links here'})`, deleted),
        row('in place, already there', inPlace),
        row('--to DIR (copies)', copied),
      ])
        .split('\n')
        .map((l) => `  ${l}`)
        .join('\n'),
    );
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}
