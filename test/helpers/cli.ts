/** Runs the bundled CLI the way users do. */
import assert from 'assert/strict';
import { spawnSync, SpawnSyncReturns } from 'child_process';
import { cpSync, readFileSync } from 'fs';
import * as path from 'path';
import { main } from '../../src/cli';
import type { CliContext } from '../../src/cli/context';
import type { PipelineManifest } from '../../src/core/generate/manifest';
import { REPO_ROOT, tempDir } from './notebooks';

export const CLI = path.join(REPO_ROOT, 'dist', 'cli.js');

/** Tests never read analyses an earlier test run (or the developer) left in the user's cache. */
let cacheDir: string | undefined;

export function nb2prod(args: string[], cwd: string, env: NodeJS.ProcessEnv = {}): SpawnSyncReturns<string> {
  cacheDir ??= tempDir('nb2prod-cache-');
  return spawnSync(process.execPath, [CLI, ...args], { cwd, encoding: 'utf8', env: { ...process.env, NB2PROD_CACHE_DIR: cacheDir, ...env }, timeout: 120_000 });
}

/**
 * `nb2prod productionize` of a notebook in `cwd` into a fresh folder, plus an untouched copy of
 * the package (runs write artifacts into theirs): for differential checks that run it twice.
 */
export function productionizeTwice(notebook: string, cwd: string): { out: string; pristine: string; manifest: PipelineManifest } {
  const out = path.join(tempDir(), 'pipeline');
  const generated = nb2prod(['productionize', notebook, '--out', out, '--force'], cwd);
  assert.equal(generated.status, 0, generated.stderr);
  const pristine = path.join(tempDir(), 'pipeline');
  cpSync(out, pristine, { recursive: true });
  return { out, pristine, manifest: JSON.parse(readFileSync(path.join(out, 'pipeline.json'), 'utf8')) as PipelineManifest };
}

/** The plain Python on PATH, or NB2PROD_PYTHON. */
export const PYTHON = process.env.NB2PROD_PYTHON ?? 'python3';

/** Debian's interpreter, with numpy, pandas and scikit-learn (the one on PATH may lack them), or NB2PROD_ML_PYTHON. */
export const SCIENTIFIC_PYTHON = process.env.NB2PROD_ML_PYTHON ?? '/usr/bin/python3';

export function python(args: string[], cwd: string): SpawnSyncReturns<string> {
  return spawnSync(PYTHON, args, { cwd, encoding: 'utf8', timeout: 120_000 });
}

/** The notebook's code cells run top to bottom as one script (what `nbconvert --to script` would run). */
export const RUN_NOTEBOOK_AS_SCRIPT = [
  '-c',
  [
    'import json, sys',
    'nb = json.load(open(sys.argv[1]))',
    'skip = lambda c: "skip" in c.get("metadata", {}).get("tags", [])',
    'src = "\\n".join("".join(c["source"]) if isinstance(c["source"], list) else c["source"] for c in nb["cells"] if c["cell_type"] == "code" and not skip(c))',
    'exec(compile(src, sys.argv[1], "exec"), {"__name__": "__main__"})',
  ].join('\n'),
];

/** The CLI in this process (the compiled sources, not the bundle), its output lines joined. */
export async function cliInProcess(args: string[], cwd: string, env: NodeJS.ProcessEnv = process.env): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const ctx: CliContext = { cwd, env, out: (l) => out.push(l), err: (l) => err.push(l), signal: new AbortController().signal };
  const code = await main(args, ctx);
  return { code, out: out.join('\n'), err: err.join('\n') };
}
