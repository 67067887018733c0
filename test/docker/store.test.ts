/**
 * Container runs and the object store (issue 13): the runtime writes a run's artifacts into the
 * store (mounted into containers) and the host records them after the run, whether it ran locally
 * or in containers, so one version's runs give the same artifact sha256s and share the same objects. A local run, then the same version in a container and in
 * containers step by step (--jobs 2), then one step again into the container run's directory
 * (whose artifacts are by then read-only hard links to objects): no new artifact bytes, every
 * object still hashes to its name with its owner and read-only mode, and lineage verify passes.
 */
import assert from 'node:assert/strict';
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import { after, it } from 'node:test';
import { buildPipeline } from '../../src/core/docker/build';
import type { ContainerEngine } from '../../src/core/docker/engine';
import { runInContainer } from '../../src/core/docker/run';
import { storeMount } from '../../src/core/docker/store-mount';
import { imageRepository } from '../../src/core/docker/pipeline-dir';
import { objectStoreDir, openObjectStore } from '../../src/core/store/objects';
import { artifactHashes, cli, PYTHON_DIAMOND, runRecord } from '../helpers/diamond';
import { notebookJson } from '../helpers/notebooks';
import { removeRepository, removeTempDirs, requireEngine, sha256File, tempDir } from './helpers';

/** numpy in the image and on the host (as jobs.test.ts): both sides can run the diamond. */
const ML_BASE_IMAGE = 'nb2prod-base/python-ml:bookworm';

let engine: ContainerEngine | undefined;
const repositories: string[] = [];

/** A temp workspace with the diamond notebook productionized; `ok` runs the CLI there and asserts exit 0. */
async function productionizedDiamond(prefix: string) {
  const work = await tempDir();
  const name = `${prefix}_${crypto.randomBytes(4).toString('hex')}`;
  repositories.push(imageRepository(name));
  await fs.promises.writeFile(path.join(work, `${name}.ipynb`), notebookJson([...PYTHON_DIAMOND]));
  const out = path.join(work, 'pipeline');
  const ok = async (args: string[]) => {
    const r = await cli([...args, '--workspace', work], work);
    assert.equal(r.code, 0, `${args.join(' ')}\n${r.err.join('\n')}`);
  };
  // The base image is part of the generated Dockerfile: the same one for every run keeps one version.
  await ok(['productionize', `${name}.ipynb`, '--out', out, '--base-image', ML_BASE_IMAGE]);
  return { work, name, out, ok };
}

after(async () => {
  for (const repository of repositories) if (engine) await removeRepository(engine, repository);
  await removeTempDirs();
});

it('local and container runs of one version store the same artifact objects once, and leave them intact', async (t) => {
  engine = await requireEngine(t);
  if (!engine) return;
  const { work, name, out, ok } = await productionizedDiamond('store');
  const store = openObjectStore(objectStoreDir(work));

  await ok(['run', out, '--local', '--jobs', '1', '--run-id', 'local']);
  const local = artifactHashes(runRecord(out, 'local'));
  const afterLocal = new Set((await store.list()).map((o) => o.sha256));
  for (const sha of Object.values(local)) assert.ok(afterLocal.has(sha), 'the local run stored its artifacts');

  await ok(['run', out, '--jobs', '1', '--run-id', 'container']);
  await ok(['run', out, '--jobs', '2', '--run-id', 'containers']);
  // One step again in the container run's directory: its outputs there are views of objects now.
  await ok(['run', out, '--only', 'left', '--run-id', 'container']);

  for (const runId of ['container', 'containers']) assert.deepEqual(artifactHashes(runRecord(out, runId)), local, runId);
  const added = (await store.list()).filter((o) => !afterLocal.has(o.sha256));
  // The runs' own run.json files (their ids and times) are all that is new.
  assert.ok(added.length > 0);
  for (const o of added) assert.ok(['container', 'containers'].includes(JSON.parse(fs.readFileSync(store.pathOf(o.sha256), 'utf8')).run_id), o.sha256);

  const owner = process.getuid?.();
  for (const object of await store.list()) {
    const file = store.pathOf(object.sha256);
    assert.equal(await sha256File(file), object.sha256, file);
    const st = fs.statSync(file);
    assert.equal(st.mode & 0o777, 0o444, file);
    if (owner !== undefined) assert.equal(st.uid, owner, `${file} keeps its owner`);
  }
  // Every run's artifacts are views of those objects (one inode per sha256).
  for (const runId of ['local', 'container', 'containers']) {
    for (const a of runRecord(out, runId).artifacts) {
      const view = fs.statSync(path.join(out, 'artifacts', runId, a.path));
      assert.equal(view.ino, fs.statSync(store.pathOf(a.sha256)).ino, `${runId}/${a.path}`);
    }
  }

  const lineage = JSON.parse((await cli(['lineage', '--json', '--workspace', work], work)).out.join('\n'));
  const versions = lineage.notebooks.find((n: { path: string }) => n.path === `${name}.ipynb`).versions;
  assert.equal(versions.length, 1, 'one version for all the runs');
  await ok(['lineage', 'verify']);
});

/**
 * The runtime inside the container writes objects into the mounted store itself: run through the
 * core (no lineage recording, so nothing on the host stores anything), the store holds every
 * artifact's object under its sha256 as the container wrote it, and the artifacts are copies (no
 * hard link crosses bind mounts); a second identical container run adds 0 object bytes; the
 * hashes equal a local run's; recording the run makes the artifacts views without a copy. The
 * mount shows the container the store directory and nothing else of the workspace.
 */
it('a container run writes its objects into the mounted store, and nothing else of the workspace is mounted', async (t) => {
  engine = await requireEngine(t);
  if (!engine) return;
  const { work, name, out, ok } = await productionizedDiamond('storemount');
  const build = await buildPipeline({ dir: out, engine, baseImage: ML_BASE_IMAGE });
  assert.ok(build.status === 'succeeded' || build.status === 'up-to-date', build.error?.message);
  const dir = objectStoreDir(work);
  const store = openObjectStore(dir);
  const before = await store.list();

  const first = await runInContainer({ dir: out, engine, image: build.tags[0], jobs: 1, runId: 'c1', objects: dir });
  assert.equal(first.status, 'succeeded', first.error?.message);
  const hashes = artifactHashes(runRecord(out, 'c1'));
  const afterFirst = await store.list();
  for (const a of runRecord(out, 'c1').artifacts) {
    assert.ok(store.has(a.sha256), `${a.path}: the container stored its object`);
    assert.equal(await sha256File(store.pathOf(a.sha256)), a.sha256);
    const st = fs.statSync(store.pathOf(a.sha256));
    assert.equal(st.mode & 0o777, 0o444);
    if (process.getuid?.() !== undefined) assert.equal(st.uid, process.getuid!(), 'given back to the host user');
    assert.equal(fs.statSync(path.join(out, 'artifacts', 'c1', a.path)).nlink, 1, `${a.path}: a copy beside the object (bind mounts)`);
  }
  assert.ok(afterFirst.length > before.length);
  const bytes = (list: { bytes: number }[]) => list.reduce((sum, o) => sum + o.bytes, 0);

  const second = await runInContainer({ dir: out, engine, image: build.tags[0], jobs: 2, runId: 'c2', objects: dir });
  assert.equal(second.status, 'succeeded', second.error?.message);
  assert.deepEqual(artifactHashes(runRecord(out, 'c2')), hashes);
  assert.equal(bytes(await store.list()), bytes(afterFirst), 'a second identical container run adds 0 object bytes');
  // The containers' markers are gone with them; nb2prod's own last until a run is recorded (none here).
  assert.deepEqual(fs.readdirSync(path.join(dir, 'active')).sort(), [first.activeMarker, second.activeMarker].map((m) => path.basename(m!)).sort());
  for (const m of [first.activeMarker, second.activeMarker]) fs.rmSync(m!);
  assert.deepEqual(fs.readdirSync(path.join(dir, 'tmp')), [], 'no temp file left');

  await ok(['run', out, '--local', '--jobs', '1', '--run-id', 'local']);
  assert.deepEqual(artifactHashes(runRecord(out, 'local')), hashes, 'a local run gives the same hashes');
  await ok(['run', out, '--jobs', '1', '--run-id', 'c3']);
  assert.equal(bytes((await store.list()).filter((o) => !afterFirst.some((f) => f.sha256 === o.sha256))) > 0, true, 'run.json files of recorded runs');
  for (const a of runRecord(out, 'c3').artifacts) {
    assert.equal(fs.statSync(path.join(out, 'artifacts', 'c3', a.path)).ino, fs.statSync(store.pathOf(a.sha256)).ino, `${a.path}: recorded, a view of the object`);
  }
  await ok(['lineage', 'verify']);

  // What the container sees of the store mount: the store, not the workspace around it.
  const { mount, env } = storeMount(dir);
  let seen = '';
  const probe = await engine.run(
    {
      image: build.tags[0],
      entrypoint: ['python3', '-c', 'import os, sys; print(sorted(os.listdir(os.environ["NB2PROD_OBJECTS"])), sorted(os.listdir("/nb2prod")))'],
      args: [],
      env,
      mounts: [mount],
      labels: { 'nb2prod.test': 'store-mount' },
    },
    (text) => (seen += text),
  );
  assert.equal(probe.exitCode, 0, seen);
  const [inStore, inParent] = seen.trim().split('] [').map((s) => s.replace(/[[\]' ]/g, '').split(',').filter(Boolean));
  assert.deepEqual(inParent, ['objects']);
  for (const entry of inStore) assert.ok(['.gitignore', 'active', 'sha256', 'tmp'].includes(entry), `unexpected ${entry} in the mounted store`);
  assert.ok(!inStore.includes('lineage.jsonl'));
});
