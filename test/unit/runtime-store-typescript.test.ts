/**
 * A generated TypeScript package saves its outputs into the object store itself, as the Python
 * runtime does: found from --objects, NB2PROD_OBJECTS or the nearest .nb2prod/objects; each object
 * written once and read-only; each artifact a hard link to its object; a marker for gc while the
 * run lasts. Without a store the artifacts are plain files.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync } from 'node:fs';
import * as path from 'node:path';
import { before, describe, it } from 'node:test';
import type { RunJson } from '../../src/core/lineage/artifacts';
import { productionize } from '../../src/core/pipeline';
import { tempDir, writeNotebook } from '../helpers/notebooks';
import { node } from '../helpers/typescript';

const TSLAB = { kernelspec: { name: 'tslab', language: 'typescript', display_name: 'TypeScript' } };

const CELLS = [
  { source: 'const values = Float64Array.from({ length: 1000 }, (_, i) => i / 4);\nconst label = "same every run";', tags: ['step:make'] },
  { source: 'const total = values.reduce((a, b) => a + b, 0);\nconsole.log(label, total);', tags: ['step:sum'] },
];

const objectPath = (store: string, sha256: string) => path.join(store, 'sha256', sha256.slice(0, 2), sha256.slice(2));

/** Every object file: its relative path and bytes' sha256. */
function objects(store: string): Map<string, string> {
  const found = new Map<string, string>();
  const root = path.join(store, 'sha256');
  for (const prefix of existsSync(root) ? readdirSync(root) : []) {
    for (const rest of readdirSync(path.join(root, prefix))) {
      found.set(prefix + rest, createHash('sha256').update(readFileSync(path.join(root, prefix, rest))).digest('hex'));
    }
  }
  return found;
}

describe('TypeScript package: outputs saved into the object store', () => {
  let pkg = '';

  before(async () => {
    const dir = tempDir();
    writeNotebook(dir, 'store.ipynb', CELLS, TSLAB);
    pkg = (await productionize('store.ipynb', { cwd: dir, env: {} })).outDir;
  });

  function run(runId: string, artifacts: string, args: string[] = [], env: NodeJS.ProcessEnv = {}, cwd = pkg): RunJson {
    const r = node([path.join(pkg, 'main.mjs'), '--run-id', runId, '--artifacts', artifacts, ...args], cwd, env);
    assert.equal(r.status, 0, r.stderr);
    return JSON.parse(readFileSync(path.join(artifacts, runId, 'run.json'), 'utf8')) as RunJson;
  }

  it('--objects DIR: created; each artifact a read-only hard link to its object; a second identical run adds no object', () => {
    const work = tempDir();
    const store = path.join(work, 'shared', 'objects');
    const artifacts = path.join(work, 'artifacts');
    const first = run('first', artifacts, ['--objects', store]);
    assert.equal(readFileSync(path.join(store, '.gitignore'), 'utf8'), '*\n');
    assert.deepEqual(first.artifacts.map((a) => a.path).sort(), ['make/label.json', 'make/values.json']);
    for (const a of first.artifacts) {
      const object = statSync(objectPath(store, a.sha256));
      const artifact = statSync(path.join(artifacts, 'first', a.path));
      assert.equal(artifact.ino, object.ino, a.path);
      assert.equal(object.mode & 0o777, 0o444, a.path);
      assert.equal(object.size, a.bytes);
    }
    const after1 = objects(store);
    // Every object holds the bytes its name says.
    for (const [name, bytes] of after1) assert.equal(bytes, name);
    const second = run('second', artifacts, ['--objects', store]);
    assert.deepEqual(second.artifacts.map((a) => a.sha256), first.artifacts.map((a) => a.sha256));
    assert.deepEqual(objects(store), after1);
    assert.equal(statSync(objectPath(store, first.artifacts[0].sha256)).nlink, 3);
    // The run's marker and temps are gone once it ended.
    assert.deepEqual(readdirSync(path.join(store, 'active')), []);
    assert.deepEqual(readdirSync(path.join(store, 'tmp')), []);
  });

  it('NB2PROD_OBJECTS, else the nearest .nb2prod/objects above the working directory; with none, plain files', () => {
    const work = tempDir();
    const fromEnv = path.join(work, 'env-store');
    const byEnv = run('env', path.join(work, 'artifacts'), [], { NB2PROD_OBJECTS: fromEnv });
    assert.ok(existsSync(objectPath(fromEnv, byEnv.artifacts[0].sha256)));

    const workspace = path.join(work, 'workspace');
    const nearest = path.join(workspace, '.nb2prod', 'objects');
    mkdirSync(nearest, { recursive: true });
    const deep = path.join(workspace, 'a', 'b');
    mkdirSync(deep, { recursive: true });
    const byPlace = run('nearest', path.join(work, 'artifacts'), [], {}, deep);
    for (const a of byPlace.artifacts) {
      assert.equal(statSync(path.join(work, 'artifacts', 'nearest', a.path)).ino, statSync(objectPath(nearest, a.sha256)).ino);
    }

    const plain = run('plain', path.join(work, 'artifacts'), [], {}, work);
    for (const a of plain.artifacts) {
      const file = statSync(path.join(work, 'artifacts', 'plain', a.path));
      assert.equal(file.nlink, 1, a.path);
      assert.equal(createHash('sha256').update(readFileSync(path.join(work, 'artifacts', 'plain', a.path))).digest('hex'), a.sha256);
    }
  });
});
