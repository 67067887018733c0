/**
 * Notebooks shaped like a diamond (load -> left, right -> join) for `run --jobs`: the two
 * branches need only `load`, so they can run at the same time. Parameters: `pause` (seconds
 * each branch sleeps) and `fail_left` (the left branch raises). Plus the helpers to run the CLI
 * in-process and compare runs: artifacts by hash, printed lines step by step.
 */
import { readFileSync } from 'fs';
import * as path from 'path';
import { main } from '../../src/cli';
import type { CliContext } from '../../src/cli/context';
import type { RunRecord } from '../../src/core/docker/pipeline-dir';
import type { CellSpec } from './notebooks';

/** numpy is needed: Debian's interpreter has it. */
export const SCIENTIFIC_PYTHON = process.env.NB2PROD_ML_PYTHON ?? '/usr/bin/python3';

export const DIAMOND_STEPS = ['load', 'left', 'right', 'join'];

/** numpy arrays and a dict travel between the steps (.npy and .pkl artifacts); the branches print on both streams. */
export const PYTHON_DIAMOND: CellSpec[] = [
  { source: 'import sys\nimport time\nimport numpy as np', tags: ['imports'] },
  { source: 'pause = 0.0\nfail_left = False', tags: ['parameters'] },
  { source: "data = np.arange(12, dtype=np.int64).reshape(3, 4)\nprint('loaded', data.shape)", tags: ['step:load'] },
  {
    source:
      "time.sleep(pause)\nleft = data * 2\nif fail_left:\n    raise ValueError('the left branch fails on purpose')\n" +
      "for row in left:\n    print('left row', row.tolist())\nprint('left note', file=sys.stderr)",
    tags: ['step:left'],
  },
  {
    source: "time.sleep(pause)\nright = {'sum': int(data.sum()), 'rows': data.shape[0]}\nprint('right', right)\nprint('right note', file=sys.stderr)",
    tags: ['step:right'],
  },
  { source: "total = int(left.sum()) + right['sum']\nprint('total', total)", tags: ['step:join'] },
  { source: 'total', tags: ['metrics'] },
];

export const TYPESCRIPT_DIAMOND: CellSpec[] = [
  { source: "import { setTimeout as sleep } from 'node:timers/promises';", tags: ['imports'] },
  { source: 'const pause = 0;\nconst fail_left = false;', tags: ['parameters'] },
  { source: "const data = [1, 2, 3, 4, 5, 6];\nconsole.log('loaded', data.length);", tags: ['step:load'] },
  {
    source:
      "await sleep(pause * 1000);\nconst left = data.map((x) => x * 2);\nif (fail_left) throw new Error('the left branch fails on purpose');\n" +
      "for (const x of left) console.log('left', x);\nconsole.error('left note');",
    tags: ['step:left'],
  },
  {
    source:
      "await sleep(pause * 1000);\nconst right = { sum: data.reduce((a, b) => a + b, 0), count: data.length };\n" +
      "console.log('right', JSON.stringify(right));\nconsole.error('right note');",
    tags: ['step:right'],
  },
  { source: "const total = left.reduce((a, b) => a + b, 0) + right.sum;\nconsole.log('total', total);", tags: ['step:join'] },
  { source: 'total;', tags: ['metrics'] },
];

/** A tslab notebook's metadata: its cells are TypeScript. */
export const TYPESCRIPT_METADATA = {
  kernelspec: { name: 'tslab', language: 'typescript', display_name: 'TypeScript' },
  language_info: { name: 'typescript', file_extension: '.ts' },
};

/**
 * Seeded in the imports cell; both branches draw (random and numpy's generator), and `again`
 * draws from random after them: the numbers equal the notebook's only when state flows from
 * step to step in notebook order.
 */
export const SEEDED_DIAMOND: CellSpec[] = [
  { source: 'import random\nimport numpy as np\nrandom.seed(7)\nnp.random.seed(7)', tags: ['imports'] },
  { source: "base = [1, 2, 3]\nprint('base', base)", tags: ['step:load'] },
  { source: "a = [round(random.random(), 6) for _ in base]\nprint('left draws', a)", tags: ['step:left'] },
  { source: "b = np.round(np.random.rand(len(base)), 6).tolist()\nprint('right draws', b)", tags: ['step:right'] },
  { source: "c = round(random.random() + len(a) + len(b), 6)\nprint('again', c)", tags: ['step:again'] },
];

export interface CliResult {
  code: number;
  out: string[];
  err: string[];
}

/** `nb2prod ARGS` in this process (local runs use Debian's python3); `onLine` sees every line as it comes. */
export async function cli(args: string[], cwd: string, signal = new AbortController().signal, onLine?: (line: string) => void): Promise<CliResult> {
  const out: string[] = [];
  const err: string[] = [];
  const ctx: CliContext = {
    cwd,
    env: { ...process.env, NB2PROD_PYTHON: SCIENTIFIC_PYTHON },
    out: (l) => (out.push(l), onLine?.(l)),
    err: (l) => (err.push(l), onLine?.(l)),
    signal,
  };
  return { code: await main(args, ctx), out, err };
}

export function runRecord(pipelineDir: string, runId: string): RunRecord {
  return JSON.parse(readFileSync(path.join(pipelineDir, 'artifacts', runId, 'run.json'), 'utf8'));
}

/** step/name -> sha256 of every artifact the run recorded. */
export function artifactHashes(record: RunRecord): Record<string, string> {
  return Object.fromEntries(record.artifacts.map((a) => [`${a.step}/${a.name}`, a.sha256]));
}

/** `[step] text` lines of a `--jobs` run, by step, in the order each step printed them. */
export function linesByStep(lines: string[]): Map<string, string[]> {
  const byStep = new Map<string, string[]>();
  for (const line of lines) {
    const m = /^\[([^\]]+)\] (.*)$/.exec(line);
    if (!m) continue;
    byStep.set(m[1], [...(byStep.get(m[1]) ?? []), m[2]]);
  }
  return byStep;
}

/** What the notebook's code printed, without the runner's own `[pipeline] ...` log lines. */
export function printed(lines: string[]): string[] {
  return lines.filter((l) => !l.startsWith('[pipeline] '));
}

/** A one-process run's printed lines, minus the CLI's closing `run ... succeeded` line. */
export function sequentialLines(r: CliResult): { out: string[]; err: string[] } {
  return { out: printed(r.out.slice(0, -1)), err: printed(r.err) };
}

/** A `--jobs` run's printed lines per step, put in notebook order: what one process prints, step after step. */
export function parallelLines(r: CliResult, steps: string[]): { out: string[]; err: string[] } {
  const order = (lines: string[]) => {
    const byStep = linesByStep(lines);
    return steps.flatMap((s) => printed(byStep.get(s) ?? []));
  };
  return { out: order(r.out), err: order(r.err) };
}
