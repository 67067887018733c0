/**
 * A generated TypeScript package writes a step's outputs while the next step runs (a worker thread
 * turns them into JSON, writes and hashes them): a value changed in place by that step is still
 * saved as it was when its step ended, with plain artifact files and with an object store; a write
 * that fails fails the run (the run waits for every write before it ends). The Python package's
 * side is runtime-writes.test.ts.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { before, describe, it } from 'node:test';
import type { RunJson } from '../../src/core/lineage/artifacts';
import { productionize } from '../../src/core/pipeline';
import { tempDir, writeNotebook } from '../helpers/notebooks';
import { node } from '../helpers/typescript';

// 4 million numbers, about 40 MB of JSON: turning them into text, writing and hashing them takes
// the writer thread long enough for the next step to change the array meanwhile.
const ELEMENTS = 4_000_000;
/** A plain array of numbers too: handed to the writer as a copy of the same kind. */
const LIST_ELEMENTS = 1_000_000;
const TSLAB = { kernelspec: { name: 'tslab', language: 'typescript', display_name: 'TypeScript' } };

const CELLS = [
  {
    source: `const values = new Float64Array(${ELEMENTS});\nfor (let i = 0; i < values.length; i++) values[i] = i * 0.25;\nconst list = Array.from({ length: ${LIST_ELEMENTS} }, (_, i) => i);`,
    tags: ['step:make'],
  },
  { source: "for (let i = 0; i < values.length; i++) values[i] += 1;\nlist.fill(7);\nconsole.log('bumped', values[0], values[values.length - 1], list[0]);", tags: ['step:bump'] },
  { source: "console.log('seen', values[0], values[values.length - 1], list[0]);", tags: ['step:report'] },
];

/** The artifact the TypeScript runtime writes for the array as \`make\` left it, computed here from the same data. */
function expectedArtifact(): { sha256: string; bytes: number } {
  const copy = new Float64Array(ELEMENTS);
  for (let i = 0; i < copy.length; i++) copy[i] = i * 0.25;
  const bytes = Buffer.from(JSON.stringify({ $nb2prod: 'Float64Array', values: Array.from(copy) }) + '\n');
  return { sha256: createHash('sha256').update(bytes).digest('hex'), bytes: bytes.length };
}

const sha256File = (file: string) => createHash('sha256').update(readFileSync(file)).digest('hex');

describe('output writes off the critical path (TypeScript)', () => {
  let pkg = '';

  before(async () => {
    const dir = tempDir();
    writeNotebook(dir, 'mutate.ipynb', CELLS, TSLAB);
    pkg = (await productionize('mutate.ipynb', { cwd: dir, env: {} })).outDir;
  });

  for (const stored of [false, true]) {
    const mode = stored ? ' (into an object store)' : '';
    it(`saves a typed array and a number array as their step left them, though the next step changes them in place while they are written${mode}`, () => {
      const artifacts = tempDir();
      const objects = path.join(tempDir(), 'objects');
      const ran = node(['main.mjs', '--run-id', 'mutated', '--artifacts', artifacts, ...(stored ? ['--objects', objects] : [])], pkg);
      assert.equal(ran.status, 0, ran.stderr);
      // The steps after make see the arrays as bump changed them: in memory, not reloaded.
      const last = (ELEMENTS - 1) * 0.25 + 1;
      assert.equal(ran.stdout, `bumped 1 ${last} 7\nseen 1 ${last} 7\n`);
      const runDir = path.join(artifacts, 'mutated');
      const expected = expectedArtifact();
      const record = JSON.parse(readFileSync(path.join(runDir, 'run.json'), 'utf8')) as RunJson;
      const made = record.artifacts.find((a) => a.step === 'make' && a.name === 'values');
      assert.deepEqual({ sha256: made?.sha256, bytes: made?.bytes }, expected);
      assert.equal(sha256File(path.join(runDir, 'make', 'values.json')), expected.sha256);
      const list = createHash('sha256').update(JSON.stringify(Array.from({ length: LIST_ELEMENTS }, (_, i) => i)) + '\n').digest('hex');
      assert.equal(record.artifacts.find((a) => a.step === 'make' && a.name === 'list')?.sha256, list);
      assert.equal(sha256File(path.join(runDir, 'make', 'list.json')), list);
      // bump's output is the changed array: a different artifact, and the file is what was recorded.
      const bumped = record.artifacts.find((a) => a.step === 'bump' && a.name === 'values');
      assert.ok(bumped && bumped.sha256 !== expected.sha256, JSON.stringify(record.artifacts));
      assert.equal(sha256File(path.join(runDir, 'bump', 'values.json')), bumped.sha256);
      if (stored) {
        const object = path.join(objects, 'sha256', expected.sha256.slice(0, 2), expected.sha256.slice(2));
        assert.equal(statSync(object).ino, statSync(path.join(runDir, 'make', 'values.json')).ino, 'the artifact is its object');
        assert.equal(sha256File(object), expected.sha256);
      }
    });
  }

  // column makes the step's outputs large enough for the writer thread: all of them go through it.
  it('arrays of numbers handed to the writer as copies give the JSON the value itself gives, wherever they sit', async () => {
    const n = (count: number, f = (i: number) => i * 1.5) => Array.from({ length: count }, (_, i) => f(i));
    const dir = tempDir();
    writeNotebook(
      dir,
      'shapes.ipynb',
      [
        {
          source: [
            'const n = (count: number, f = (i: number) => i * 1.5) => Array.from({ length: count }, (_, i) => f(i));',
            'const columns = { a: n(1000), b: n(1000, (i) => i), short: n(10), mixed: [...n(100), "text"], nan: [...n(100), NaN] };',
            'const nested = [n(100), [n(70), "x", null], new Map([[1, n(100)]]), new Set([n(64)]), new Float32Array(n(100)), n(64, (i) => 1e21 * i)];',
            'const column = n(100_000, (i) => i / 3);',
          ].join('\n'),
          tags: ['step:make'],
        },
        { source: 'console.log(columns.a.length, nested.length, column.length);', tags: ['step:use'] },
      ],
      TSLAB,
    );
    const shapes = (await productionize('shapes.ipynb', { cwd: dir, env: {} })).outDir;
    const artifacts = tempDir();
    const ran = node(['main.mjs', '--run-id', 'shapes', '--artifacts', artifacts], shapes);
    assert.equal(ran.status, 0, ran.stderr);
    const tagged = (type: string, fields: object) => ({ $nb2prod: type, ...fields });
    const expected = {
      columns: { a: n(1000), b: n(1000, (i) => i), short: n(10), mixed: [...n(100), 'text'], nan: [...n(100), tagged('number', { value: 'NaN' })] },
      nested: [
        n(100),
        [n(70), 'x', null],
        tagged('Map', { entries: [[1, n(100)]] }),
        tagged('Set', { values: [n(64)] }),
        tagged('Float32Array', { values: Array.from(new Float32Array(n(100))) }),
        n(64, (i) => 1e21 * i),
      ],
      column: n(100_000, (i) => i / 3),
    };
    for (const [name, value] of Object.entries(expected)) {
      assert.equal(readFileSync(path.join(artifacts, 'shapes', 'make', `${name}.json`), 'utf8'), JSON.stringify(value) + '\n', name);
    }
  });

  it('fails the run when an output cannot be written, naming the output', () => {
    const artifacts = tempDir();
    // A directory where the file goes: no file can be written there, not even by root.
    mkdirSync(path.join(artifacts, 'blocked', 'make', 'values.json'), { recursive: true });
    const ran = node(['main.mjs', '--run-id', 'blocked', '--artifacts', artifacts], pkg);
    assert.equal(ran.status, 1, ran.stderr);
    assert.match(ran.stderr, /output "values" of step "make" could not be written \(Error: E/);
    const record = JSON.parse(readFileSync(path.join(artifacts, 'blocked', 'run.json'), 'utf8')) as RunJson;
    assert.equal(record.status, 'failed');
    const make = record.steps.find((s) => s.name === 'make');
    assert.equal(make?.status, 'failed');
    assert.match(make?.error ?? '', /output "values" of step "make" could not be written/);
    const stepRecord = JSON.parse(readFileSync(path.join(artifacts, 'blocked', 'make', '.step.json'), 'utf8')) as { status: string };
    assert.equal(stepRecord.status, 'failed');
  });

  it('fails a step run alone whose --output is a file, and its merged run record says so', () => {
    const artifacts = tempDir();
    const notADirectory = path.join(tempDir(), 'taken');
    writeFileSync(notADirectory, 'not a directory\n');
    const ran = node(['main.mjs', '--only', 'make', '--run-id', 'alone', '--artifacts', artifacts, '--output', `values=${notADirectory}`], pkg);
    assert.equal(ran.status, 1, ran.stderr);
    assert.match(ran.stderr, /output "values" of step "make" could not be written/);
    const record = JSON.parse(readFileSync(path.join(artifacts, 'alone', 'run.json'), 'utf8')) as RunJson;
    assert.equal(record.status, 'failed');
  });
});
