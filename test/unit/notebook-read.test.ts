import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { Nb2prodError } from '../../src/core/errors';
import { parseNotebook, readNotebookFile } from '../../src/core/notebook/read';
import { FIXTURES, notebookJson, tempDir } from '../helpers/notebooks';

const corpus = (p: string) => path.join(FIXTURES, 'corpus', p);

async function readError(file: string): Promise<Nb2prodError> {
  try {
    await readNotebookFile(file);
  } catch (e) {
    assert.ok(e instanceof Nb2prodError, `expected a located Nb2prodError, got ${e}`);
    return e;
  }
  assert.fail(`${file} was read without error`);
}

describe('reading notebooks', () => {
  it('joins list sources and keeps tags and ids (v4.5)', () => {
    const nb = parseNotebook(notebookJson([{ source: 'a = 1\n', tags: ['step:load'], id: 'x1' }]), 'n.ipynb');
    assert.equal(nb.cells[0].source, 'a = 1\n');
    assert.deepEqual(nb.cells[0].tags, ['step:load']);
    assert.equal(nb.cells[0].id, 'x1');
    assert.equal(nb.language, 'python');
  });

  it('accepts source as a list of lines', () => {
    const json = JSON.parse(notebookJson(['x']));
    json.cells[0].source = ['a = 1\n', 'b = 2'];
    assert.equal(parseNotebook(JSON.stringify(json), 'n.ipynb').cells[0].source, 'a = 1\nb = 2');
  });

  it('generates ids for missing ones and replaces duplicates with a warning', async () => {
    const nb = await readNotebookFile(corpus('nbformat/invalid_unique_cell_id.ipynb'));
    const ids = nb.cells.map((c) => c.id);
    assert.equal(new Set(ids).size, ids.length);
    assert.ok(nb.diagnostics.some((d) => /duplicate cell id/.test(d.message) && d.cell === 1));
    const noIds = await readNotebookFile(corpus('nbformat/v4_5_no_cell_id.ipynb'));
    assert.ok(noIds.cells.every((c) => c.id.length > 0));
  });

  it('warns, located, when metadata.tags is not a list', async () => {
    const nb = await readNotebookFile(corpus('nbformat/v4_5_invalid_metadata.ipynb'));
    const warning = nb.diagnostics.find((d) => /metadata.tags should be a list/.test(d.message));
    assert.ok(warning, 'expected a tags warning');
    assert.equal(typeof warning.cell, 'number');
  });

  it('upgrades nbformat 3 in memory: worksheets, input, heading cells', async () => {
    const nb = await readNotebookFile(corpus('nbformat/test3.ipynb'));
    assert.equal(nb.nbformat, 3);
    assert.ok(nb.cells.some((c) => c.kind === 'markdown' && /^#+ /.test(c.source)), 'heading became markdown');
    assert.ok(nb.cells.some((c) => c.kind === 'code' && c.source.length > 0), 'code from input');
  });

  it('refuses nbformat 2 with advice', async () => {
    const e = await readError(corpus('nbformat/test2.ipynb'));
    assert.match(e.describe(), /test2\.ipynb: nbformat 2 is too old/);
  });

  it('refuses a future nbformat (4.99)', async () => {
    const e = await readError(corpus('nbformat/test4plus.ipynb'));
    assert.match(e.message, /4\.99 is newer than this version supports/);
  });

  it('names line and column of bad JSON', async () => {
    const dir = tempDir();
    const file = path.join(dir, 'bad.ipynb');
    writeFileSync(file, '{\n  "cells": [\n    {"cell_type": "code",, }\n  ]\n}\n');
    const e = await readError(file);
    assert.equal(e.location?.line, 3);
    assert.ok((e.location?.column ?? 0) > 1);
    assert.match(e.describe(), /bad\.ipynb.*line 3/);
  });

  it('refuses an empty file, a non-notebook and a directory clearly', async () => {
    const dir = tempDir();
    writeFileSync(path.join(dir, 'empty.ipynb'), '');
    writeFileSync(path.join(dir, 'other.ipynb'), '{"hello": 1}');
    writeFileSync(path.join(dir, 'blank.ipynb'), ' \n\t\n');
    writeFileSync(path.join(dir, 'text-version.ipynb'), '{"nbformat": "4", "cells": []}');
    assert.match((await readError(path.join(dir, 'empty.ipynb'))).message, /empty/);
    assert.match((await readError(path.join(dir, 'blank.ipynb'))).message, /empty/);
    assert.match((await readError(path.join(dir, 'text-version.ipynb'))).message, /"nbformat" should be a number, found "4"/);
    assert.match((await readError(path.join(dir, 'other.ipynb'))).message, /not a Jupyter notebook/);
    assert.match((await readError(dir)).message, /directory/);
    assert.match((await readError(path.join(dir, 'missing.ipynb'))).message, /not found/);
  });

  it('refuses R and Julia kernels by name', async () => {
    assert.match((await readError(corpus('wild/irkernel_Demo.ipynb'))).message, /kernel "R".*not supported yet/);
    assert.match((await readError(corpus('nbformat/notebook_jl.ipynb'))).message, /Julia.*not supported yet/);
  });

  it('detects TypeScript kernels (tslab, deno)', () => {
    const tslab = parseNotebook(notebookJson(['1'], { kernelspec: { name: 'tslab', language: 'typescript' }, language_info: { name: 'javascript' } }), 't.ipynb');
    assert.equal(tslab.language, 'typescript');
    const deno = parseNotebook(notebookJson(['1'], { kernelspec: { name: 'deno' } }), 'd.ipynb');
    assert.equal(deno.language, 'typescript');
  });

  it('hashes sources and tags but not outputs', () => {
    const a = JSON.parse(notebookJson(['x = 1']));
    const b = JSON.parse(notebookJson(['x = 1']));
    b.cells[0].outputs = [{ output_type: 'stream', name: 'stdout', text: 'big' }];
    b.cells[0].execution_count = 7;
    const c = JSON.parse(notebookJson([{ source: 'x = 1', tags: ['skip'] }]));
    const hash = (j: unknown) => parseNotebook(JSON.stringify(j), 'n.ipynb').contentHash;
    assert.equal(hash(a), hash(b));
    assert.notEqual(hash(a), hash(c));
  });

  it('reads a notebook with 100 MB of outputs and keeps none of them', async () => {
    const dir = tempDir();
    const json = JSON.parse(notebookJson(['print(1)']));
    json.cells[0].outputs = [{ output_type: 'stream', name: 'stdout', text: 'x'.repeat(100 * 1024 * 1024) }];
    const file = path.join(dir, 'big.ipynb');
    writeFileSync(file, JSON.stringify(json));
    const nb = await readNotebookFile(file);
    assert.equal(nb.cells.length, 1);
    assert.ok(!JSON.stringify(nb).includes('xxxx'));
  });
});
