/**
 * The "done when" of the containers issue, through the CLI in-process: `nb2prod build` then
 * `nb2prod run` on the example notebook give the same result as `python3 -m <package>`.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { after, test } from 'node:test';
import { main } from '../../src/cli';
import type { CliContext } from '../../src/cli/context';
import type { ContainerEngine } from '../../src/core/docker/engine';
import type { RunRecord } from '../../src/core/docker/pipeline-dir';
import { removeRepository, removeTempDirs, requireEngine, ROOT, tempDir } from './helpers';

process.env.PIP_RETRIES = '0';
let engine: ContainerEngine | undefined;
let repository: string | undefined;

after(async () => {
  if (engine && repository) await removeRepository(engine, repository);
  await removeTempDirs();
});

function context(cwd: string): { ctx: CliContext; out: string[]; err: string[] } {
  const out: string[] = [];
  const err: string[] = [];
  return { ctx: { cwd, env: process.env, out: (l) => out.push(l), err: (l) => err.push(l), signal: new AbortController().signal }, out, err };
}

function summary(record: RunRecord) {
  return {
    status: record.status,
    steps: record.steps.map((s) => `${s.name}:${s.status}`),
    artifacts: record.artifacts.map((a) => `${a.step}/${a.path}:${a.sha256}`).sort(),
    metrics: record.metrics,
  };
}

test('nb2prod build then nb2prod run on the example equals python3 -m <package>', async (t) => {
  engine = await requireEngine(t);
  if (!engine) return;
  const work = await tempDir();
  const out = path.join(work, 'sales_forecast');
  const notebook = path.join(ROOT, 'examples', 'sales_forecast.ipynb');

  const build = context(ROOT);
  assert.equal(await main(['build', notebook, '--out', out, '--workspace', work], build.ctx), 0, build.err.join('\n'));
  const tags = build.out.filter((l) => l.startsWith('nb2prod/'));
  assert.equal(tags.length, 2, build.out.join('\n'));
  repository = tags[0].split(':')[0];
  // Its images are ours to remove only when this test made them.
  if (!build.err.some((l) => /built in/.test(l))) repository = undefined;

  const run = context(ROOT);
  assert.equal(await main(['run', out, '--run-id', 'in-container', '--workspace', work], run.ctx), 0, run.err.join('\n'));
  assert.ok(run.err.some((l) => /up to date/.test(l)), 'run reuses the image build made');
  assert.match(run.out[run.out.length - 1], /^run in-container succeeded; run\.json: .*in-container[/\\]run\.json$/);

  const manifest = JSON.parse(await fs.promises.readFile(path.join(out, 'pipeline.json'), 'utf8'));
  const local = spawnSync(process.env.NB2PROD_PYTHON ?? 'python3', ['-m', manifest.package, '--run-id', 'local'], { cwd: out, encoding: 'utf8' });
  assert.equal(local.status, 0, local.stderr);

  const read = async (id: string) => JSON.parse(await fs.promises.readFile(path.join(out, 'artifacts', id, 'run.json'), 'utf8')) as RunRecord;
  assert.deepEqual(summary(await read('in-container')), summary(await read('local')));
});
