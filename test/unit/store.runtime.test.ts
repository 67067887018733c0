/**
 * The generated Python runtime writes outputs into the object store itself (issue 13): a plain
 * `python -m <pkg>` in a workspace finds `.nb2prod/objects` above it, stores each output once under
 * its sha256 and leaves the artifact as a read-only hard link to it; an identical run adds no
 * object bytes; without a store (none found, none named) artifacts are plain files as before; the
 * store it was told (--objects, NB2PROD_OBJECTS) is made when missing. nb2prod's own ingest of a
 * local run then finds every object there and rewrites none.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { pipelineContext } from '../../src/core/docker/build';
import { sha256 } from '../../src/core/hash';
import { nb2prod, SCIENTIFIC_PYTHON } from '../helpers/cli';
import { notebookJson, tempDir } from '../helpers/notebooks';

const CELLS = [
  { source: 'rows = [[i, i * i % 97] for i in range(50_000)]', tags: ['step:make'] },
  { source: 'squares = sorted(r[1] for r in rows)\nsmallest = squares[0]', tags: ['step:sort'] },
  { source: 'print(smallest)', tags: ['step:report'] },
];

interface Artifact {
  path: string;
  sha256: string;
  bytes: number;
}

function workspace(): { work: string; out: string } {
  const work = tempDir('nb2prod-rtstore-');
  writeFileSync(path.join(work, 'squares.ipynb'), notebookJson(CELLS));
  const made = nb2prod(['productionize', 'squares.ipynb', '--out', 'pipe'], work);
  assert.equal(made.status, 0, made.stderr);
  return { work, out: path.join(work, 'pipe') };
}

function pythonM(cwd: string, runId: string, extra: string[] = [], env: NodeJS.ProcessEnv = {}): Artifact[] {
  const r = spawnSync(SCIENTIFIC_PYTHON, ['-m', 'squares', '--run-id', runId, ...extra], { cwd, encoding: 'utf8', env: { ...process.env, NB2PROD_OBJECTS: '', ...env } });
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(readFileSync(path.join(cwd, 'artifacts', runId, 'run.json'), 'utf8')).artifacts;
}

/** Every object file: name (sha256) -> { bytes, ino }. */
function objectsIn(store: string): Map<string, { bytes: number; ino: number }> {
  const found = new Map<string, { bytes: number; ino: number }>();
  const root = path.join(store, 'sha256');
  if (!existsSync(root)) return found;
  for (const prefix of readdirSync(root)) {
    for (const rest of readdirSync(path.join(root, prefix))) {
      const st = statSync(path.join(root, prefix, rest));
      found.set(prefix + rest, { bytes: st.size, ino: st.ino });
    }
  }
  return found;
}

function totalBytes(objects: Map<string, { bytes: number }>): number {
  return [...objects.values()].reduce((sum, o) => sum + o.bytes, 0);
}

describe('the Python runtime and the object store', () => {
  it('python -m stores each output once under its sha256, artifacts are read-only links, a second identical run adds 0 bytes', () => {
    const { work, out } = workspace();
    const store = path.join(work, '.nb2prod', 'objects');
    const before = objectsIn(store);

    const first = pythonM(out, 'one');
    assert.ok(first.length >= 2);
    const afterFirst = objectsIn(store);
    for (const a of first) {
      const file = path.join(out, 'artifacts', 'one', a.path);
      const object = path.join(store, 'sha256', a.sha256.slice(0, 2), a.sha256.slice(2));
      assert.equal(sha256(readFileSync(object)), a.sha256, `${a.path}: the object holds the bytes its name says`);
      assert.equal(statSync(file).ino, statSync(object).ino, `${a.path} is a hard link to its object`);
      assert.equal(statSync(object).mode & 0o777, 0o444, `${a.path}: the object is read-only`);
      assert.ok(!before.has(a.sha256));
    }
    assert.equal(afterFirst.size, before.size + new Set(first.map((a) => a.sha256)).size, 'one object per new output, nothing else');

    const second = pythonM(out, 'two');
    assert.deepEqual(second.map((a) => a.sha256), first.map((a) => a.sha256));
    const afterSecond = objectsIn(store);
    assert.equal(totalBytes(afterSecond), totalBytes(afterFirst), 'an identical run adds no object bytes');
    assert.deepEqual(afterSecond, afterFirst, 'and rewrites no object');
    assert.deepEqual(readdirSync(path.join(store, 'tmp')), [], 'no temp file left');
    assert.deepEqual(readdirSync(path.join(store, 'active')), [], 'no marker left once the runs ended');

    // nb2prod's own local run: the runtime wrote the objects, the ingest after it finds them and copies nothing.
    const run = nb2prod(['run', 'pipe', '--local', '--jobs', '1', '--run-id', 'three'], work, { NB2PROD_PYTHON: SCIENTIFIC_PYTHON });
    assert.equal(run.status, 0, run.stderr);
    const afterCli = objectsIn(store);
    for (const [sha, o] of afterFirst) assert.deepEqual(afterCli.get(sha), o, `object ${sha.slice(0, 12)} untouched`);
    const three = JSON.parse(readFileSync(path.join(out, 'artifacts', 'three', 'run.json'), 'utf8')).artifacts as Artifact[];
    for (const a of three) assert.equal(statSync(path.join(out, 'artifacts', 'three', a.path)).ino, afterFirst.get(a.sha256)?.ino, a.path);
    const verify = nb2prod(['lineage', 'verify'], work);
    assert.equal(verify.status, 0, verify.stdout + verify.stderr);
  });

  it('without a store artifacts are plain files and no store is made; a named store is made and used', () => {
    const { out } = workspace();
    // The package alone, outside any workspace: no .nb2prod/objects above it.
    const alone = path.join(tempDir('nb2prod-rtalone-'), 'pipe');
    cpSync(out, alone, { recursive: true, filter: (p) => !p.includes(`${path.sep}artifacts`) });
    const plain = pythonM(alone, 'plain');
    for (const a of plain) {
      const st = statSync(path.join(alone, 'artifacts', 'plain', a.path));
      assert.equal(st.nlink, 1, `${a.path} is a file of its own`);
      assert.equal(sha256(readFileSync(path.join(alone, 'artifacts', 'plain', a.path))), a.sha256);
    }
    assert.ok(!existsSync(path.join(path.dirname(alone), '.nb2prod')) && !existsSync(path.join(alone, '.nb2prod')), 'no store made on its own');

    const named = path.join(tempDir('nb2prod-rtnamed-'), 'store');
    const viaEnv = pythonM(alone, 'env', [], { NB2PROD_OBJECTS: named });
    assert.equal(readFileSync(path.join(named, '.gitignore'), 'utf8'), '*\n', 'a new store keeps out of version control');
    for (const a of viaEnv) assert.ok(objectsIn(named).has(a.sha256), `${a.path} stored where NB2PROD_OBJECTS says`);
    const other = path.join(tempDir('nb2prod-rtflag-'), 'store');
    const viaFlag = pythonM(alone, 'flag', ['--objects', other], { NB2PROD_OBJECTS: named });
    for (const a of viaFlag) assert.ok(objectsIn(other).has(a.sha256), `${a.path}: --objects wins over NB2PROD_OBJECTS`);
  });

  it('a build context never holds an object store: moved into the pipeline directory, or a workspace nested in it', async () => {
    const { out } = workspace();
    const moved = path.join(out, 'objects');
    pythonM(out, 'moved', [], { NB2PROD_OBJECTS: moved });
    mkdirSync(path.join(out, 'nested', '.nb2prod'), { recursive: true });
    writeFileSync(path.join(out, 'nested', '.nb2prod', 'lineage.jsonl'), '{}\n');
    assert.ok(objectsIn(moved).size > 0);
    const { context } = await pipelineContext(out);
    const sent = context.files.map((f) => f.rel);
    assert.ok(sent.includes('squares/__main__.py'), 'the package is sent');
    assert.deepEqual(sent.filter((rel) => rel.startsWith('objects/') || rel.includes('.nb2prod') || rel.startsWith('artifacts/')), []);
  });
});
