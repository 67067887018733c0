/**
 * Push without an engine: --registry validation, where credentials come from (as the docker CLI
 * finds them), how the daemon's stream errors read, and that a registry that stops answering
 * mid-push is given up on. The real engine and registry are in test/docker/push.test.ts.
 */
import assert from 'node:assert/strict';
import * as fs from 'fs';
import * as path from 'path';
import { test } from 'node:test';
import { main } from '../../src/cli';
import type { CliContext } from '../../src/cli/context';
import { registryCredentials } from '../../src/core/docker/credentials';
import type { ContainerEngine, PushStreamMessage, RegistryAuth } from '../../src/core/docker/engine';
import { CancelledError } from '../../src/core/errors';
import { explainPushFailure, parseRegistry, PushError, pushPipeline, RegistryArgumentError } from '../../src/core/docker/push';
import { digestReference } from '../../src/core/docker/reference';
import { REPO_ROOT, tempDir } from '../helpers/notebooks';

test('parseRegistry takes HOST[:PORT][/NAMESPACE]', () => {
  assert.deepEqual(parseRegistry('127.0.0.1:5000'), { host: '127.0.0.1:5000', prefix: '127.0.0.1:5000' });
  assert.deepEqual(parseRegistry('registry.example.com/team/ml/'), { host: 'registry.example.com', namespace: 'team/ml', prefix: 'registry.example.com/team/ml' });
  assert.equal(parseRegistry('localhost:5000/a_b.c-d').prefix, 'localhost:5000/a_b.c-d');
  assert.equal(parseRegistry('[::1]:5000').host, '[::1]:5000');
  assert.equal(parseRegistry('docker.io/someone').namespace, 'someone');
});

test('parseRegistry refuses what Docker would misread, saying the rule', () => {
  const refused = (value: string, message: RegExp) => assert.throws(() => parseRegistry(value), (e: unknown) => e instanceof RegistryArgumentError && message.test(e.message));
  refused('', /empty/);
  refused('   ', /empty/);
  refused('https://registry.example.com/team/', /without one: 'registry\.example\.com\/team'/);
  refused('http://127.0.0.1:5000', /without one: '127\.0\.0\.1:5000'.*insecure/);
  refused('Registry.example.com/Team', /upper-case.*lower case \(write 'registry\.example\.com\/team'\)/);
  refused('myregistry', /Docker Hub namespace.*docker\.io\/myregistry/);
  refused('registry.example.com:99999', /port/);
  refused('registry.example.com/team/name:tag', /'name:tag'.*not a repository path component/);
  refused('registry.example.com//team', /'' in/);
  refused('-bad.example.com', /not a registry host/);
});

function cliContext(env: NodeJS.ProcessEnv = {}) {
  const out: string[] = [];
  const err: string[] = [];
  const ctx: CliContext = { cwd: tempDir(), env, out: (l) => out.push(l), err: (l) => err.push(l), signal: new AbortController().signal };
  return { ctx, out, err };
}

test('nb2prod push: a missing or malformed --registry is a usage error (exit 2) before anything else happens', async () => {
  for (const [argv, message] of [
    [['push', 'nowhere.ipynb'], /--registry HOST\[:PORT\]\[\/NAMESPACE\] is required/],
    [['push', 'nowhere.ipynb', '--registry', 'HTTPS://Registry.example.com'], /scheme/],
    [['push', 'nowhere.ipynb', '--registry', 'Registry.example.com'], /lower case/],
  ] as const) {
    const { ctx, out, err } = cliContext();
    assert.equal(await main([...argv], ctx), 2, err.join('\n'));
    assert.match(err.join('\n'), message);
    assert.deepEqual(out, []);
  }
});

test('digestReference swaps the tag for the digest, and keeps a registry port', () => {
  assert.equal(digestReference('127.0.0.1:5000/ns/app:abc', 'sha256:00'), '127.0.0.1:5000/ns/app@sha256:00');
  assert.equal(digestReference('127.0.0.1:5000/app', 'sha256:00'), '127.0.0.1:5000/app@sha256:00');
});

// ---- credentials ----

function dockerConfig(config: unknown): NodeJS.ProcessEnv {
  const dir = tempDir('nb2prod-docker-config-');
  fs.writeFileSync(path.join(dir, 'config.json'), typeof config === 'string' ? config : JSON.stringify(config));
  return { DOCKER_CONFIG: dir, PATH: `${dir}${path.delimiter}${process.env.PATH}` };
}

/** A credential helper in the config dir (on PATH through `env`): `script` is the body of `get`. */
function helper(env: NodeJS.ProcessEnv, name: string, script: string): void {
  fs.writeFileSync(path.join(env.DOCKER_CONFIG!, `docker-credential-${name}`), `#!/bin/sh\n[ "$1" = get ] || exit 3\n${script}\n`, { mode: 0o755 });
}

test('credentials from config.json auths: base64 auth, username/password, identitytoken, any key form', async () => {
  const basic = Buffer.from('ann:pa:ss').toString('base64');
  const env = dockerConfig({
    auths: {
      'https://one.example.com/v1/': { auth: basic },
      'two.example.com': { username: 'bob', password: 'pw' },
      'http://three.example.com:5000': { identitytoken: 'tok' },
      'https://index.docker.io/v1/': { auth: basic },
    },
  });
  assert.deepEqual(await registryCredentials('one.example.com', env), { auth: { username: 'ann', password: 'pa:ss' }, source: 'config.json auths' });
  assert.deepEqual((await registryCredentials('two.example.com', env)).auth, { username: 'bob', password: 'pw' });
  assert.deepEqual((await registryCredentials('three.example.com:5000', env)).auth, { identitytoken: 'tok' });
  assert.deepEqual((await registryCredentials('docker.io', env)).auth, { username: 'ann', password: 'pa:ss' });
  assert.deepEqual(await registryCredentials('other.example.com', env), { auth: {}, source: 'anonymous' });
});

test('no docker config at all is an anonymous push', async () => {
  const env = { DOCKER_CONFIG: tempDir('nb2prod-docker-config-') };
  assert.deepEqual(await registryCredentials('127.0.0.1:5000', env), { auth: {}, source: 'anonymous' });
});

test('credHelpers[host] wins over credsStore, which wins over auths; the helper gets the host on stdin', async () => {
  const env = dockerConfig({ credHelpers: { 'reg.example.com': 'perhost' }, credsStore: 'store', auths: { 'reg.example.com': { username: 'file' }, 'other.example.com': { username: 'file' } } });
  helper(env, 'perhost', 'printf \'{"ServerURL":"%s","Username":"helped","Secret":"s1"}\' "$(cat)"');
  helper(env, 'store', 'read -r server || true; [ "$server" = other.example.com ] && echo \'{"Username":"<token>","Secret":"t2"}\' && exit 0; echo "credentials not found in native keychain"; exit 1');
  assert.deepEqual(await registryCredentials('reg.example.com', env), { auth: { username: 'helped', password: 's1' }, source: 'docker-credential-perhost' });
  // `<token>` as the user name: an identity token.
  assert.deepEqual(await registryCredentials('other.example.com', env), { auth: { identitytoken: 't2' }, source: 'docker-credential-store' });
  // The store has nothing for this host: anonymous, as the docker CLI does.
  const none = await registryCredentials('third.example.com', env);
  assert.deepEqual(none.auth, {});
  assert.match(none.source, /^anonymous/);
});

test('a broken helper or config is an error that shows no secret', async () => {
  const missing = dockerConfig({ credsStore: 'absent' });
  await assert.rejects(registryCredentials('reg.example.com', missing), /docker-credential-absent is not on PATH/);

  const failing = dockerConfig({ credsStore: 'failing' });
  helper(failing, 'failing', 'echo "keychain is locked"; exit 1');
  await assert.rejects(registryCredentials('reg.example.com', failing), /docker-credential-failing get failed: keychain is locked/);

  const notJson = dockerConfig({ credsStore: 'raw' });
  helper(notJson, 'raw', 'echo the-raw-secret');
  await assert.rejects(registryCredentials('reg.example.com', notJson), (e: Error) => /did not answer with JSON/.test(e.message) && !e.message.includes('the-raw-secret'));

  const badConfig = dockerConfig('{"auths": {"reg.example.com": {"password": "pw-in-broken-json"}');
  await assert.rejects(registryCredentials('reg.example.com', badConfig), (e: Error) => /not valid JSON/.test(e.message) && !e.message.includes('pw-in-broken-json'));
});

// ---- the daemon's errors ----

test("the daemon's push errors become one message naming the registry and what to do", () => {
  const target = parseRegistry('reg.example.com:5000/team');
  const ref = 'reg.example.com:5000/team/app:abc';
  const say = (m: string) => explainPushFailure(m, target, ref).message;
  assert.match(say('Get "http://reg.example.com:5000/v2/": dial tcp 10.0.0.1:5000: connect: connection refused'), /registry reg\.example\.com:5000 does not answer the Docker engine .*Is it running/);
  assert.match(say('denied: requested access to the resource is denied'), /registry reg\.example\.com:5000\/team denied the push .*docker login reg\.example\.com:5000/);
  assert.match(say('unauthorized: authentication required'), /denied the push/);
  assert.match(say('An image does not exist locally with the tag: reg.example.com:5000/team/app'), /no image by that name.*nb2prod build/);
  assert.match(say('Get "https://reg.example.com:5000/v2/": http: server gave HTTP response to HTTPS client'), /insecure-registries/);
  assert.match(say('something new'), /push of reg\.example\.com:5000\/team\/app:abc to registry reg\.example\.com:5000\/team failed: something new/);
});

// ---- a fake engine ----

interface FakePush {
  engine: ContainerEngine;
  tagged: string[];
  removed: string[];
  auth?: RegistryAuth;
}

/** An engine whose image exists and whose push plays `script` (it gets onMessage and the signal). */
function fakeEngine(script: (onMessage: (m: PushStreamMessage) => void, signal?: AbortSignal) => Promise<{ digest: string }>): FakePush {
  const fake: FakePush = { tagged: [], removed: [], engine: undefined as unknown as ContainerEngine };
  fake.engine = {
    info: async () => ({ address: 'fake', apiVersion: '1.41', serverVersion: 'fake' }),
    findImages: async () => [{ id: 'sha256:' + 'ab'.repeat(32), tags: [], labels: {} }],
    tag: async (_id: string, tags: string[]) => void fake.tagged.push(...tags),
    removeImage: async (ref: string) => void fake.removed.push(ref),
    push: async (_ref: string, auth: RegistryAuth, onMessage: (m: PushStreamMessage) => void, signal?: AbortSignal) => {
      fake.auth = auth;
      return script(onMessage, signal);
    },
  } as unknown as ContainerEngine;
  return fake;
}

const FIXTURE = path.join(REPO_ROOT, 'test', 'fixtures', 'pipeline-basic');

test('an engine that keeps retrying an upload is given up on within the retry budget, and the tag is removed', async () => {
  const fake = fakeEngine(
    (onMessage, signal) =>
      new Promise((_, reject) => {
        onMessage({ status: 'Pushing', id: 'layer1' });
        onMessage({ status: 'Retrying in 5 seconds', id: 'layer1' });
        // The daemon would go on for a minute; only our abort ends it.
        signal!.addEventListener('abort', () => reject(new CancelledError('Push')));
      }),
  );
  const progress: string[] = [];
  const started = Date.now();
  await assert.rejects(
    pushPipeline({ dir: FIXTURE, engine: fake.engine, registry: parseRegistry('127.0.0.1:5999/ns'), env: { DOCKER_CONFIG: tempDir() }, retryBudgetMs: 300, onProgress: (l) => progress.push(l) }),
    (e: unknown) => e instanceof PushError && /registry 127\.0\.0\.1:5999\/ns stopped answering .*layer layer1; gave up after 0\.3 s/.test(e.message),
  );
  assert.ok(Date.now() - started < 3000);
  assert.deepEqual(fake.removed, fake.tagged);
  assert.ok(progress.includes('  layer1: Retrying in 5 seconds'), progress.join('\n'));
});

test('a retry that gets the upload moving again is not given up on', async () => {
  const fake = fakeEngine(async (onMessage) => {
    onMessage({ status: 'Retrying in 1 second', id: 'layer1' });
    onMessage({ status: 'Pushing', id: 'layer1' });
    await new Promise((r) => setTimeout(r, 400));
    onMessage({ status: 'Pushed', id: 'layer1' });
    return { digest: 'sha256:' + '12'.repeat(32) };
  });
  const outcome = await pushPipeline({ dir: FIXTURE, engine: fake.engine, registry: parseRegistry('127.0.0.1:5999/ns'), env: { DOCKER_CONFIG: tempDir() }, retryBudgetMs: 200 });
  assert.equal(outcome.digestReference, `127.0.0.1:5999/ns/basic@sha256:${'12'.repeat(32)}`);
  assert.equal(outcome.reference, `127.0.0.1:5999/ns/basic:${outcome.contextHash.slice(0, 12)}`);
  assert.deepEqual(fake.auth, {}, 'anonymous: an empty auth config, which the daemon requires');
  assert.deepEqual(fake.removed, []);
});
