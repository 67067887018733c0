import assert from 'node:assert/strict';
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { sha256 } from '../../src/core/hash';
import { productionize } from '../../src/core/pipeline';
import { editedFiles, writeTree } from '../../src/core/write/writer';
import { REPO_ROOT, tempDir } from '../helpers/notebooks';

describe('writer, regenerating', () => {
  it('a file a killed writer already moved in is not taken for a user edit (its staged manifest lists it)', async () => {
    const parent = tempDir();
    const out = path.join(parent, 'out');
    await writeTree(out, [{ path: 'a.py', content: 'old\n' }, { path: 'pipeline.json', content: '{}\n' }], [], undefined, new Set());
    const previous = { files: { 'a.py': sha256('old\n') } };
    // The killed generation moved a.py in; its manifest (moved last) stayed staged.
    writeFileSync(path.join(out, 'a.py'), 'killed\n');
    const stage = path.join(parent, `.out.nb2prod-abc.${2 ** 22 + 12345}.${os.hostname()}`, 'new');
    mkdirSync(stage, { recursive: true });
    writeFileSync(path.join(stage, 'pipeline.json'), JSON.stringify({ files: { 'a.py': sha256('killed\n') } }));
    assert.deepEqual(await editedFiles(out, previous), []);
    writeFileSync(path.join(out, 'a.py'), 'the user\'s\n');
    assert.deepEqual(await editedFiles(out, previous), ['a.py']);
  });

  it('removes the staging directory a killed writer left beside the output, never a live writer\'s', async () => {
    const parent = tempDir();
    const out = path.join(parent, 'out');
    const dead = path.join(parent, `.out.nb2prod-abc.${2 ** 22 + 12345}.${os.hostname()}`);
    const live = path.join(parent, `.out.nb2prod-def.${process.pid}.${os.hostname()}`);
    const otherOutput = path.join(parent, `.other.nb2prod-abc.${2 ** 22 + 12345}.${os.hostname()}`);
    for (const dir of [dead, live, otherOutput]) mkdirSync(path.join(dir, 'new'), { recursive: true });
    await writeTree(out, [{ path: 'pipeline.json', content: '{}\n' }], [], undefined, new Set());
    assert.deepEqual(readdirSync(parent).sort(), [path.basename(live), path.basename(otherOutput), 'out'].sort());
  });

  it('leaves files whose content did not change untouched (editors, watchers and Docker layers see no change)', async () => {
    const out = path.join(tempDir(), 'out');
    const files = [
      { path: 'pkg/steps/a.py', content: 'a = 1\n' },
      { path: 'pkg/steps/b.py', content: 'b = 2\n' },
      { path: 'pipeline.json', content: '{"v": 1}\n' },
    ];
    await writeTree(out, files, [], undefined, new Set());
    const past = new Date('2020-01-01T00:00:00Z');
    for (const f of files) utimesSync(path.join(out, f.path), past, past);

    const next = [files[0], { path: 'pkg/steps/b.py', content: 'b = 3\n' }, { path: 'pipeline.json', content: '{"v": 2}\n' }];
    const previous = { files: Object.fromEntries(files.slice(0, 2).map((f) => [f.path, sha256(f.content)])) };
    const r = await writeTree(out, next, [], previous, new Set());
    assert.deepEqual(r.removed, [], 'a file the previous generation wrote and this one reproduces is not stale');
    assert.deepEqual(r.unchanged, ['pkg/steps/a.py']);
    assert.deepEqual(r.written, ['pkg/steps/b.py', 'pipeline.json']);
    assert.equal(statSync(path.join(out, 'pkg/steps/a.py')).mtimeMs, past.getTime());
    assert.equal(readFileSync(path.join(out, 'pkg/steps/b.py'), 'utf8'), 'b = 3\n');
  });
});

describe('productionize, twice', () => {
  it('the second run of an unchanged notebook writes nothing and every generated file is still there', async () => {
    const work = tempDir();
    cpSync(path.join(REPO_ROOT, 'examples'), work, { recursive: true });
    const first = await productionize('sales_forecast.ipynb', { cwd: work, env: {} });
    const second = await productionize('sales_forecast.ipynb', { cwd: work, env: {} });
    assert.deepEqual(second.written, []);
    for (const rel of Object.keys(first.manifest.files)) assert.ok(existsSync(path.join(first.outDir, rel)), rel);
    assert.ok(existsSync(path.join(first.outDir, 'Dockerfile')));
  });
});
