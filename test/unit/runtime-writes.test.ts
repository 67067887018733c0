/**
 * A generated Python package writes a step's outputs while the next step runs: a value changed in
 * place by that step is still saved as it was when its step ended, and a write that fails fails
 * the run (the run waits for every write before it ends). Both with plain artifact files and with
 * an object store the runtime writes into (the artifact then a link to the object).
 */
import assert from 'node:assert/strict';
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { before, describe, it } from 'node:test';
import type { PipelineManifest } from '../../src/core/generate/manifest';
import type { RunJson } from '../../src/core/lineage/artifacts';
import { productionize } from '../../src/core/pipeline';
import { SCIENTIFIC_PYTHON } from '../helpers/cli';
import { tempDir, writeNotebook } from '../helpers/notebooks';

// 160 MB: writing and hashing it takes long enough for the next step to change it meanwhile.
const ELEMENTS = 20_000_000;

const CELLS = [
  { source: 'import hashlib\nimport numpy as np', tags: ['step:make'] },
  // The notebook's own fingerprint of the array as its step ends, before anything changes it.
  { source: `arr = np.arange(${ELEMENTS}, dtype=np.float64)\nexpected = hashlib.sha256(arr.tobytes()).hexdigest()`, tags: ['step:make'] },
  { source: "arr += 1\nprint('expected', expected)", tags: ['step:bump'] },
];

function python(args: string[], cwd: string, objects = ''): SpawnSyncReturns<string> {
  return spawnSync(SCIENTIFIC_PYTHON, args, { cwd, encoding: 'utf8', timeout: 120_000, env: { ...process.env, NB2PROD_RUN_ID: '', NB2PROD_OBJECTS: objects } });
}

describe('output writes off the critical path (Python)', () => {
  let out = '';
  let pkg = '';
  let scientific = true;

  before(async () => {
    scientific = python(['-c', 'import numpy'], '.').status === 0;
    const dir = tempDir();
    writeNotebook(dir, 'mutate.ipynb', CELLS);
    out = (await productionize('mutate.ipynb', { cwd: dir })).outDir;
    pkg = (JSON.parse(readFileSync(path.join(out, 'pipeline.json'), 'utf8')) as PipelineManifest).package;
  });

  for (const stored of [false, true]) {
    const mode = stored ? ' (into an object store)' : '';
    it(`saves an array as its step left it, though the next step changes it in place while it is written${mode}`, (t) => {
      if (!scientific) return void t.skip(`${SCIENTIFIC_PYTHON} has no numpy`);
      const objects = stored ? path.join(tempDir(), 'objects') : '';
      const ran = python(['-m', pkg, '--run-id', `mutated${stored ? '-stored' : ''}`], out, objects);
      assert.equal(ran.status, 0, ran.stderr);
      const expected = /expected ([0-9a-f]{64})/.exec(ran.stdout)?.[1];
      assert.ok(expected, ran.stdout);
      const runDir = path.join(out, 'artifacts', `mutated${stored ? '-stored' : ''}`);
      const saved = python(['-c', 'import hashlib, sys, numpy; print(hashlib.sha256(numpy.load(sys.argv[1]).tobytes()).hexdigest())', path.join(runDir, 'make', 'arr.npy')], out);
      assert.equal(saved.stdout.trim(), expected, saved.stderr);
      // The recorded hash is the file's: hashed from the bytes written, not from the value later.
      const record = JSON.parse(readFileSync(path.join(runDir, 'run.json'), 'utf8')) as RunJson;
      const artifact = record.artifacts.find((a) => a.name === 'arr');
      const fileHash = python(['-c', 'import hashlib, sys; print(hashlib.sha256(open(sys.argv[1], "rb").read()).hexdigest())', path.join(runDir, 'make', 'arr.npy')], out);
      assert.equal(artifact?.sha256, fileHash.stdout.trim());
      assert.equal(artifact?.bytes, ELEMENTS * 8 + 128);
      if (stored) {
        const object = path.join(objects, 'sha256', artifact!.sha256.slice(0, 2), artifact!.sha256.slice(2));
        assert.equal(statSync(object).ino, statSync(path.join(runDir, 'make', 'arr.npy')).ino, 'the artifact is its object');
      }
    });

    it(`fails the run when an output cannot be written, naming the output${mode}`, (t) => {
      if (!scientific) return void t.skip(`${SCIENTIFIC_PYTHON} has no numpy`);
      const runId = `blocked${stored ? '-stored' : ''}`;
      // A directory where the file goes: no file can be written there, not even by root.
      mkdirSync(path.join(out, 'artifacts', runId, 'make', 'arr.npy'), { recursive: true });
      const ran = python(['-m', pkg, '--run-id', runId], out, stored ? path.join(tempDir(), 'objects') : '');
      assert.equal(ran.status, 1, ran.stderr);
      const record = JSON.parse(readFileSync(path.join(out, 'artifacts', runId, 'run.json'), 'utf8')) as RunJson;
      assert.equal(record.status, 'failed');
      const make = record.steps.find((s) => s.name === 'make');
      assert.equal(make?.status, 'failed');
      assert.match(make?.error ?? '', /output 'arr' of step 'make' could not be written/);
      const stepRecord = JSON.parse(readFileSync(path.join(out, 'artifacts', runId, 'make', '.step.json'), 'utf8')) as { status: string };
      assert.equal(stepRecord.status, 'failed');
    });
  }

  it('fails a step run alone whose --output is a file, and its merged run record says so', (t) => {
    if (!scientific) return void t.skip(`${SCIENTIFIC_PYTHON} has no numpy`);
    const notADirectory = path.join(tempDir(), 'taken');
    writeFileSync(notADirectory, 'not a directory\n');
    const ran = python(['-m', pkg, '--only', 'make', '--run-id', 'alone', '--output', `arr=${notADirectory}`], out);
    assert.equal(ran.status, 1, ran.stderr);
    assert.match(ran.stderr, /output 'arr' of step 'make' could not be written/);
    const record = JSON.parse(readFileSync(path.join(out, 'artifacts', 'alone', 'run.json'), 'utf8')) as RunJson;
    assert.equal(record.status, 'failed');
  });
});
