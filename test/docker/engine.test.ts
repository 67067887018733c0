/**
 * Builds and runs with the real Docker engine (no mocks): end to end against a local run,
 * layer reuse, up-to-date detection, context filtering, build failure, unreachable engine,
 * and cancellation of builds and runs, each leaving no containers or tags behind.
 */
import assert from 'node:assert/strict';
import * as fs from 'fs';
import * as net from 'net';
import * as path from 'path';
import { after, describe, test } from 'node:test';
import { main } from '../../src/cli';
import type { CliContext } from '../../src/cli/context';
import { buildPipeline, BuildOutcome } from '../../src/core/docker/build';
import { createDockerEngine } from '../../src/core/docker/dockerode-engine';
import { BuildError, ContainerEngine, EngineUnreachableError } from '../../src/core/docker/engine';
import { runInContainer, runLocal } from '../../src/core/docker/run';
import { copyFixture, removeRepository, removeTempDirs, requireEngine, ROOT, tempDir, testRepository } from './helpers';

// Offline: pip must fail fast instead of retrying a registry it cannot reach.
process.env.PIP_RETRIES = '0';
const PYTHON = process.env.NB2PROD_PYTHON ?? 'python3';
const repository = testRepository();
const repositories = [repository];
let cleanupEngine: ContainerEngine | undefined;

after(async () => {
  if (cleanupEngine) for (const repo of repositories) await removeRepository(cleanupEngine, repo);
  await removeTempDirs();
});

async function engineFor(t: Parameters<typeof requireEngine>[0]): Promise<ContainerEngine | undefined> {
  const engine = await requireEngine(t);
  cleanupEngine ??= engine;
  return engine;
}

function stepCached(outcome: BuildOutcome, pattern: RegExp): boolean | undefined {
  return outcome.steps.find((s) => pattern.test(s.instruction))?.cached;
}

function artifactsOf(record: { artifacts: { name: string; sha256: string; step: string }[] } | undefined) {
  return (record?.artifacts ?? []).map((a) => `${a.step}/${a.name}:${a.sha256}`).sort();
}

function cliContext(cwd: string, env: NodeJS.ProcessEnv = process.env, signal = new AbortController().signal) {
  const out: string[] = [];
  const err: string[] = [];
  const ctx: CliContext = { cwd, env, out: (l) => out.push(l), err: (l) => err.push(l), signal };
  return { ctx, out, err };
}

describe('unreachable engine', () => {
  test('a missing socket gives one clear error naming the address and DOCKER_HOST', async () => {
    const { ctx, err } = cliContext(ROOT, { ...process.env, DOCKER_HOST: 'unix:///nonexistent/docker.sock' });
    const started = Date.now();
    const code = await main(['build', path.join(ROOT, 'test/fixtures/pipeline-basic')], ctx);
    assert.equal(code, 1);
    assert.ok(Date.now() - started < 5000);
    assert.equal(err.length, 1, err.join('\n'));
    assert.match(err[0], /^error: cannot reach the Docker engine at DOCKER_HOST=unix:\/\/\/nonexistent\/docker\.sock/);
    assert.match(err[0], /point DOCKER_HOST at a running engine/);
    assert.doesNotMatch(err[0], /\n\s+at /);
  });

  test('an address that never answers fails within 5 s', async () => {
    const silent = net.createServer(() => undefined);
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    const address = `tcp://127.0.0.1:${(silent.address() as net.AddressInfo).port}`;
    try {
      const engine = createDockerEngine({ DOCKER_HOST: address });
      const started = Date.now();
      await assert.rejects(engine.info(), (e: unknown) => {
        assert.ok(e instanceof EngineUnreachableError);
        assert.match(e.message, new RegExp(`DOCKER_HOST=${address}.*no answer`));
        return true;
      });
      assert.ok(Date.now() - started < 5000, `took ${Date.now() - started} ms`);
    } finally {
      silent.close();
    }
  });
});

describe('build and run with the real engine', () => {
  let dir: string;
  let cold: BuildOutcome;

  test('builds the fixture and runs it in a container with the same result as a local run', async (t) => {
    const engine = await engineFor(t);
    if (!engine) return;
    const notebookPath = 'notebooks/my "best" $HOME \\ nb.ipynb';
    dir = await copyFixture(undefined, notebookPath);
    cold = await buildPipeline({ dir, engine, repository });
    assert.equal(cold.status, 'succeeded', cold.error?.describe());
    assert.deepEqual(cold.tags, [`${repository}:${cold.contextHash.slice(0, 12)}`, `${repository}:latest`]);
    const [image] = await engine.findImages({ 'nb2prod.context.hash': cold.contextHash });
    assert.equal(image.id, cold.imageId);
    assert.equal(image.labels['nb2prod.notebook.path'], notebookPath, 'labels escape quotes, $ and backslashes');

    const output: string[] = [];
    const inContainer = await runInContainer({ dir, engine, image: cold.tags[0], params: ['scale=3'], onOutput: (s) => output.push(s) });
    assert.equal(inContainer.status, 'succeeded', inContainer.error?.describe());
    assert.equal(inContainer.exitCode, 0);
    assert.match(output.join(''), /\[train\] succeeded/);
    const local = await runLocal({ dir, python: PYTHON, params: ['scale=3'] });
    assert.equal(local.status, 'succeeded', local.error?.describe());

    assert.deepEqual(inContainer.record?.steps.map((s) => [s.name, s.status]), local.record?.steps.map((s) => [s.name, s.status]));
    assert.deepEqual(artifactsOf(inContainer.record), artifactsOf(local.record));
    assert.deepEqual(inContainer.record?.metrics, local.record?.metrics);
    assert.deepEqual(inContainer.record?.params, { scale: 3, label: 'demo', sleep: 0 });
    // Written through the bind mount, owned by whoever ran nb2prod.
    const stat = await fs.promises.stat(inContainer.runJson);
    assert.equal(stat.uid, process.getuid?.());
    assert.deepEqual(await engine.listContainers(`nb2prod.run.id=${inContainer.runId}`), []);
  });

  test('a one-step edit rebuilds only the sources layer; unchanged makes no build call', async (t) => {
    const engine = await engineFor(t);
    if (!engine || !dir) return t.skip('needs the first build');
    const train = path.join(dir, 'basic', 'steps', 'train.py');
    await fs.promises.appendFile(train, '\n# tuned\n');
    const rebuild = await buildPipeline({ dir, engine, repository });
    assert.equal(rebuild.status, 'succeeded', rebuild.error?.describe());
    assert.equal(stepCached(rebuild, /^RUN pip install/), true, 'requirements layer reused');
    assert.equal(stepCached(rebuild, /^RUN groupadd/), true);
    assert.equal(stepCached(rebuild, /^COPY basic\//), false, 'sources layer rebuilt');
    assert.notEqual(rebuild.contextHash, cold.contextHash);
    t.diagnostic(`cold ${cold.seconds.toFixed(1)}s, rebuild ${rebuild.seconds.toFixed(1)}s`);

    let builds = 0;
    const spy: ContainerEngine = Object.create(engine);
    spy.build = (...args) => {
      builds++;
      return engine.build(...args);
    };
    const unchanged = await buildPipeline({ dir, engine: spy, repository });
    assert.equal(unchanged.status, 'up-to-date');
    assert.equal(builds, 0);
    assert.equal(unchanged.imageId, rebuild.imageId);
    assert.equal(unchanged.sentBytes, 0);
  });

  test('a 50 MB file next to the notebook, in artifacts or in .git never reaches the context', async (t) => {
    const engine = await engineFor(t);
    if (!engine) return;
    const workspace = await tempDir();
    const big = Buffer.alloc(50 * 1024 * 1024, 7);
    await fs.promises.writeFile(path.join(workspace, 'big.bin'), big);
    const pipeline = await copyFixture(path.join(workspace, 'pipelines'));
    for (const sub of ['artifacts/old-run', '.git']) {
      await fs.promises.mkdir(path.join(pipeline, sub), { recursive: true });
      await fs.promises.writeFile(path.join(pipeline, sub, 'big.bin'), big);
    }
    await fs.promises.writeFile(path.join(pipeline, '.env'), 'TOKEN=secret\n');
    const outcome = await buildPipeline({ dir: pipeline, engine, repository });
    assert.equal(outcome.status, 'succeeded', outcome.error?.describe());
    assert.ok(outcome.contextBytes < 64 * 1024, `context ${outcome.contextBytes} bytes`);
    assert.ok(outcome.sentBytes < 128 * 1024, `sent ${outcome.sentBytes} bytes`);

    const output: string[] = [];
    const { exitCode } = await engine.run(
      { image: outcome.tags[0], entrypoint: ['sh', '-c'], args: ['find / -xdev \\( -name big.bin -o -name .env \\) -print; du -sk /app'], mounts: [] },
      (s) => output.push(s),
    );
    assert.equal(exitCode, 0);
    const text = output.join('');
    assert.doesNotMatch(text, /big\.bin|\.env/);
    assert.ok(Number(/^(\d+)\s+\/app$/m.exec(text)?.[1]) < 1024, text);
  });

  test('a bad requirement fails with the step and log tail, leaving no containers or tags', async (t) => {
    const engine = await engineFor(t);
    if (!engine) return;
    const bad = await copyFixture();
    // --no-index: offline there is nothing to fetch anyway; this makes the miss immediate.
    await fs.promises.writeFile(path.join(bad, 'requirements.txt'), '--no-index\nnb2prod-missing-package==1.0\n');
    const repo = testRepository();
    repositories.push(repo);
    const before = await engine.listContainers();
    const outcome = await buildPipeline({ dir: bad, engine, repository: repo });
    assert.equal(outcome.status, 'failed');
    assert.ok(outcome.error instanceof BuildError);
    assert.match(outcome.error.step ?? '', /^Step \d+\/\d+ : RUN pip install/);
    assert.ok(outcome.error.logTail.some((l) => /nb2prod-missing-package/.test(l)), outcome.error.logTail.join('\n'));
    assert.match(outcome.error.describe(), /image build failed at Step .*RUN pip install/);
    assert.deepEqual(await engine.listContainers(), before);
    assert.equal((await engine.findImages({})).some((i) => i.tags.some((tag) => tag.startsWith(repo))), false);
  });

  test('aborting mid-build stops the daemon and leaves no containers or tags', async (t) => {
    const engine = await engineFor(t);
    if (!engine) return;
    const slow = await copyFixture();
    const dockerfile = path.join(slow, 'Dockerfile');
    const text = await fs.promises.readFile(dockerfile, 'utf8');
    await fs.promises.writeFile(dockerfile, text.replace(/^RUN pip install .*$/m, '$& && sleep 120'));
    const repo = testRepository();
    repositories.push(repo);
    const before = await engine.listContainers();
    const controller = new AbortController();
    const started = Date.now();
    let inSlowStep = false;
    const outcome = await buildPipeline({
      dir: slow,
      engine,
      repository: repo,
      signal: controller.signal,
      onProgress: (e) => {
        if (e.kind === 'step') inSlowStep = /sleep 120/.test(e.step.instruction);
        // Abort once the step's container is running, the case that could leave one behind.
        if (inSlowStep && e.kind === 'log' && /Running in/.test(e.line)) setTimeout(() => controller.abort(), 500);
      },
    });
    assert.equal(outcome.status, 'cancelled');
    assert.ok(Date.now() - started < 60_000);
    assert.deepEqual(await engine.listContainers(), before);
    assert.equal((await engine.findImages({})).some((i) => i.tags.some((tag) => tag.startsWith(repo))), false);
  });

  test('a failing step and an aborted run both remove their container', async (t) => {
    const engine = await engineFor(t);
    if (!engine || !cold) return t.skip('needs the first build');
    const failed = await runInContainer({ dir, engine, image: cold.tags[0], params: ['label=fail'] });
    assert.equal(failed.status, 'failed');
    assert.equal(failed.exitCode, 1);
    assert.equal(failed.record?.steps.find((s) => s.name === 'train')?.status, 'failed');
    assert.match(failed.error?.message ?? '', /step train failed: ValueError: asked to fail/);
    assert.deepEqual(await engine.listContainers(`nb2prod.run.id=${failed.runId}`), []);

    const controller = new AbortController();
    const started = Date.now();
    const aborted = await runInContainer({
      dir,
      engine,
      image: cold.tags[0],
      params: ['sleep=60'],
      signal: controller.signal,
      onOutput: (s) => {
        if (s.includes('[train] started')) controller.abort();
      },
    });
    assert.equal(aborted.status, 'cancelled');
    assert.ok(Date.now() - started < 20_000);
    assert.deepEqual(await engine.listContainers(`nb2prod.run.id=${aborted.runId}`), []);
  });
});
