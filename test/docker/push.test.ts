/**
 * `nb2prod push` against a real registry (Debian's docker-registry on 127.0.0.1, which the engine
 * treats as insecure, so no TLS), started and stopped here. The CLI runs as users run it, so
 * anything any part of it prints is seen.
 */
import assert from 'node:assert/strict';
import * as fs from 'fs';
import * as path from 'path';
import { after, before, test, TestContext } from 'node:test';
import { buildPipeline } from '../../src/core/docker/build';
import type { ContainerEngine } from '../../src/core/docker/engine';
import { lastPushedDigest } from '../../src/core/docker/push';
import { buildFactsOf, recordBuild, verifyStore, storePath } from '../../src/core/lineage';
import { nb2prod } from '../helpers/cli';
import { copyFixture, removeRepository, removeTempDirs, requireEngine, tempDir, testRepository } from './helpers';
import { freePort, Registry, registryDigest, requireRegistryBinary, startRegistry, stopRegistry } from './registry';

const SECRET = 's3cr3t-from-the-helper-do-not-print';
const NAMESPACE = 'nb2prod-test';

let registry: Registry | undefined;
let engine: ContainerEngine | undefined;
const repositories: string[] = [];
// Tags the pushes made (`127.0.0.1:PORT/...`), removed at the end.
const pushed = new Set<string>();

after(async () => {
  if (registry) await stopRegistry(registry);
  if (engine) {
    for (const ref of pushed) await engine.removeImage(ref).catch(() => undefined);
    for (const repo of repositories) await removeRepository(engine, repo);
  }
  await removeTempDirs();
});

/** Engine and registry, or undefined when the test was skipped. */
async function setup(t: TestContext): Promise<{ engine: ContainerEngine; registry: Registry } | undefined> {
  engine = await requireEngine(t);
  if (!engine || !requireRegistryBinary(t)) return undefined;
  registry ??= await startRegistry();
  return { engine, registry };
}

/** A fresh fixture pipeline, built and recorded in a workspace's lineage as `nb2prod build` does. */
async function builtPipeline(e: ContainerEngine): Promise<{ ws: string; dir: string }> {
  const ws = await tempDir();
  const dir = await copyFixture(ws);
  const repository = testRepository();
  repositories.push(repository);
  const outcome = await buildPipeline({ dir, engine: e, repository });
  assert.equal(outcome.status, 'succeeded', outcome.error?.describe());
  // The notebook the CLI (run in `ws`) finds in the fixture's pipeline.json.
  await recordBuild(buildFactsOf(outcome, ws, path.join(ws, 'basic.ipynb')));
  return { ws, dir };
}

/**
 * A docker config dir whose credential helper for `host` answers with SECRET and writes what it was
 * asked to `asked`; PATH finds the helper. Every push runs with its own DOCKER_CONFIG, so a
 * developer's real credentials are never read.
 */
async function helperEnv(host: string): Promise<{ env: NodeJS.ProcessEnv; asked: string }> {
  const dir = await tempDir('nb2prod-docker-config-');
  const asked = path.join(dir, 'asked');
  const helper = path.join(dir, 'docker-credential-nb2prodtest');
  await fs.promises.writeFile(
    helper,
    `#!/bin/sh\n[ "$1" = get ] || exit 1\ncat > '${asked}'\nprintf '{"ServerURL":"%s","Username":"pusher","Secret":"${SECRET}"}' "$(cat '${asked}')"\n`,
    { mode: 0o755 },
  );
  await fs.promises.writeFile(path.join(dir, 'config.json'), JSON.stringify({ credHelpers: { [host]: 'nb2prodtest' } }));
  return { env: { DOCKER_CONFIG: dir, PATH: `${dir}${path.delimiter}${process.env.PATH}` }, asked };
}

async function anonymousEnv(): Promise<NodeJS.ProcessEnv> {
  return { DOCKER_CONFIG: await tempDir('nb2prod-docker-config-') };
}

function push(dir: string, ws: string, registryArg: string, env: NodeJS.ProcessEnv) {
  const r = nb2prod(['push', dir, '--registry', registryArg, '--workspace', ws], ws, env);
  const tag = /^pushing (\S+)/m.exec(r.stderr)?.[1];
  if (tag) pushed.add(tag);
  return r;
}

before(() => {
  // The CLI is spawned from the bundle: make sure it is the one these tests were compiled with.
  assert.ok(fs.existsSync(path.resolve(__dirname, '..', '..', '..', 'dist', 'cli.js')), 'run npm run build first');
});

test('push prints the reference by digest, which is the digest the registry stored; the push is in the lineage under its build', async (t) => {
  const s = await setup(t);
  if (!s) return;
  const { ws, dir } = await builtPipeline(s.engine);
  const prefix = `127.0.0.1:${s.registry.port}/${NAMESPACE}`;

  const r = push(dir, ws, prefix, await anonymousEnv());
  assert.equal(r.status, 0, r.stderr);
  const lines = r.stdout.split('\n').filter(Boolean);
  assert.equal(lines.length, 1, `stdout is only the reference: ${r.stdout}`);
  const match = new RegExp(`^${prefix.replace(/\./g, '\\.')}/([a-z0-9._-]+)@(sha256:[0-9a-f]{64})$`).exec(lines[0]);
  assert.ok(match, lines[0]);
  const [, name, digest] = match;
  assert.match(r.stderr, /credentials: anonymous/);

  const tag = /^pushing \S+:([0-9a-f]{12}) /m.exec(r.stderr)?.[1];
  assert.ok(tag, r.stderr);
  assert.equal(await registryDigest(s.registry.port, `${NAMESPACE}/${name}`, tag), digest);

  // Lineage: a push record whose parent is the build, shown by `nb2prod lineage`, chain intact.
  const records = (await fs.promises.readFile(storePath(ws), 'utf8')).trim().split('\n').map((l) => JSON.parse(l));
  const build = records.find((x) => x.type === 'build');
  const pushRecord = records.find((x) => x.type === 'push');
  assert.ok(pushRecord, 'a push record');
  assert.equal(pushRecord.buildId, build.id);
  assert.deepEqual(pushRecord.parents, [build.versionId, build.id].filter(Boolean));
  assert.equal(pushRecord.digest, digest);
  assert.equal(pushRecord.registry, prefix);
  assert.ok(verifyStore(storePath(ws)).ok);
  const tree = nb2prod(['lineage', '--workspace', ws], ws);
  assert.equal(tree.status, 0, tree.stderr);
  assert.match(tree.stdout, new RegExp(`^ {6}push ${pushRecord.id.slice(0, 12)} .*${lines[0].replace(/[.]/g, '\\.')}$`, 'm'));

  // What exports read: the last digest pushed for this content, and `nb2prod export` names it.
  assert.equal(await lastPushedDigest(ws, dir), lines[0]);
  const exported = nb2prod(['export', 'kfp', dir, '--workspace', ws], ws);
  assert.equal(exported.status, 0, exported.stderr);
  assert.ok(fs.readFileSync(exported.stdout.trim(), 'utf8').includes(`image: ${lines[0]}`), 'the export runs the pushed digest');
  assert.doesNotMatch(exported.stderr, /cannot pull/);
  await fs.promises.appendFile(path.join(dir, 'basic', '__init__.py'), '# changed\n');
  assert.equal(await lastPushedDigest(ws, dir), undefined, 'other content was never pushed');
});

test("a credential helper's secret reaches the engine but never stdout, stderr or the lineage", async (t) => {
  const s = await setup(t);
  if (!s) return;
  const { ws, dir } = await builtPipeline(s.engine);
  const host = `127.0.0.1:${s.registry.port}`;
  const { env, asked } = await helperEnv(host);

  const r = push(dir, ws, `${host}/${NAMESPACE}`, env);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(await fs.promises.readFile(asked, 'utf8'), host, 'the helper was asked for this registry');
  assert.match(r.stderr, /credentials: docker-credential-nb2prodtest/);
  const lineage = await fs.promises.readFile(storePath(ws), 'utf8');
  for (const [where, text] of Object.entries({ stdout: r.stdout, stderr: r.stderr, lineage })) {
    assert.ok(!text.includes(SECRET), `the secret is in ${where}`);
  }
});

test('a stopped registry fails in under 10 s with one error naming it, and leaks no secret', async (t) => {
  const s = await setup(t);
  if (!s) return;
  const { ws, dir } = await builtPipeline(s.engine);
  // A port nothing listens on: a registry that was stopped.
  const host = `127.0.0.1:${await freePort()}`;
  const { env } = await helperEnv(host);

  const started = Date.now();
  const r = push(dir, ws, `${host}/${NAMESPACE}`, env);
  const seconds = (Date.now() - started) / 1000;
  assert.equal(r.status, 1, r.stderr);
  assert.ok(seconds < 10, `took ${seconds} s`);
  assert.equal(r.stdout, '');
  const errors = r.stderr.split('\n').filter((l) => l.startsWith('error:'));
  assert.equal(errors.length, 1, r.stderr);
  assert.match(errors[0], new RegExp(`registry ${host.replace(/\./g, '\\.')} does not answer`));
  assert.ok(!r.stderr.includes(SECRET));
  assert.ok(!(await fs.promises.readFile(storePath(ws), 'utf8')).includes('"push"'), 'a failed push is not recorded');
  // The tag made for the push is removed again.
  const images = await s.engine.findImages({});
  assert.ok(!images.some((i) => i.tags.some((tag) => tag.startsWith(`${host}/`))));
});

test('a pipeline whose image was never built: an error naming nb2prod build, exit 1', async (t) => {
  const s = await setup(t);
  if (!s) return;
  const ws = await tempDir();
  const dir = await copyFixture(ws);
  const r = push(dir, ws, `127.0.0.1:${s.registry.port}/${NAMESPACE}`, await anonymousEnv());
  assert.equal(r.status, 1, r.stderr);
  assert.match(r.stderr, /^error: no image is built from .* run nb2prod build .* first$/m);
  assert.equal(r.stdout, '');
});
