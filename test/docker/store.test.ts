/**
 * Container runs and the object store (issue 13): the host stores a run's artifacts after the run
 * ends, whether it ran locally or in containers, so one version's runs give the same artifact
 * sha256s and share the same objects. A local run, then the same version in a container and in
 * containers step by step (--jobs 2), then one step again into the container run's directory
 * (whose artifacts are by then read-only hard links to objects): no new artifact bytes, every
 * object still hashes to its name with its owner and read-only mode, and lineage verify passes.
 */
import assert from 'node:assert/strict';
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import { after, it } from 'node:test';
import type { ContainerEngine } from '../../src/core/docker/engine';
import { imageRepository } from '../../src/core/docker/pipeline-dir';
import { objectStoreDir, openObjectStore } from '../../src/core/store/objects';
import { artifactHashes, cli, PYTHON_DIAMOND, runRecord } from '../helpers/diamond';
import { notebookJson } from '../helpers/notebooks';
import { removeRepository, removeTempDirs, requireEngine, sha256File, tempDir } from './helpers';

/** numpy in the image and on the host (as jobs.test.ts): both sides can run the diamond. */
const ML_BASE_IMAGE = 'nb2prod-base/python-ml:bookworm';

let engine: ContainerEngine | undefined;
let repository: string | undefined;

after(async () => {
  if (engine && repository) await removeRepository(engine, repository);
  await removeTempDirs();
});

it('local and container runs of one version store the same artifact objects once, and leave them intact', async (t) => {
  engine = await requireEngine(t);
  if (!engine) return;
  const work = await tempDir();
  const name = `store_${crypto.randomBytes(4).toString('hex')}`;
  repository = imageRepository(name);
  await fs.promises.writeFile(path.join(work, `${name}.ipynb`), notebookJson([...PYTHON_DIAMOND]));
  const out = path.join(work, 'pipeline');
  const ok = async (args: string[]) => {
    const r = await cli([...args, '--workspace', work], work);
    assert.equal(r.code, 0, `${args.join(' ')}\n${r.err.join('\n')}`);
  };
  // The base image is part of the generated Dockerfile: the same one for every run keeps one version.
  await ok(['productionize', `${name}.ipynb`, '--out', out, '--base-image', ML_BASE_IMAGE]);
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
