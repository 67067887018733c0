import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { NotebookCell } from '../../src/core/notebook/model';
import { assignCells } from '../../src/core/tags/assign';
import { parseCellTags } from '../../src/core/tags/grammar';
import { SlugRegistry, slugify } from '../../src/core/tags/slug';

const cell = (index: number, source: string, tags: string[] = [], kind: NotebookCell['kind'] = 'code'): NotebookCell => ({
  index,
  id: `c${index}`,
  kind,
  source,
  tags,
});

describe('tag grammar', () => {
  it('reads our tags', () => {
    assert.equal(parseCellTags(['step:train']).stepName, 'train');
    assert.deepEqual(parseCellTags(['step:b', 'after:a']).after, ['a']);
    for (const role of ['skip', 'imports', 'functions', 'parameters', 'metrics'] as const) assert.equal(parseCellTags([role]).role, role);
  });

  it("reads Kale's tags", () => {
    assert.equal(parseCellTags(['block:load']).stepName, 'load');
    assert.equal(parseCellTags(['block:']).continues, true);
    assert.deepEqual(parseCellTags(['prev:kid2', 'step:kid3', 'prev:kid1']).after, ['kid2', 'kid1']);
    assert.deepEqual(parseCellTags(['prev:a:b']).after, ['a', 'b']);
    assert.equal(parseCellTags(['pipeline-parameters']).role, 'parameters');
    assert.equal(parseCellTags(['pipeline-metrics']).role, 'metrics');
    assert.deepEqual(parseCellTags(['limit:nvidia.com/gpu:1']).resources, { 'nvidia.com/gpu': '1' });
    assert.equal(parseCellTags(['image:python:3.11-slim']).image, 'python:3.11-slim');
  });

  it('skip wins over a step tag on the same cell', () => {
    assert.equal(parseCellTags(['skip', 'prev:x']).role, 'skip');
  });

  it("skips what nbclient skips: a cell tagged skip-execution", () => {
    assert.equal(parseCellTags(['skip-execution']).role, 'skip');
    assert.equal(parseCellTags(['step:train', 'skip-execution']).role, 'skip');
  });

  it('keeps unknown tags aside without failing', () => {
    assert.deepEqual(parseCellTags(['solution', 'raw-data']).unknown, ['solution', 'raw-data']);
  });
});

describe('slugs', () => {
  it('never lets a tag become a path or markup', () => {
    for (const hostile of ['../../x', '"><script>alert(1)</script>', 'a/b\\c', '\n import os', 'con.txt', '']) {
      assert.match(slugify(hostile), /^[a-z_][a-z0-9_]*$/, hostile);
    }
    assert.equal(slugify('../../x'), 'x');
  });

  it('avoids keywords and leading digits, and keeps slugs unique', () => {
    assert.notEqual(slugify('class'), 'class');
    assert.match(slugify('2nd pass'), /^[a-z_]/);
    const reg = new SlugRegistry();
    assert.equal(reg.get('Load Data'), 'load_data');
    assert.equal(reg.get('load-data'), 'load_data_2');
    assert.equal(reg.get('Load Data'), 'load_data');
  });
});

describe('assigning cells to steps', () => {
  it('untagged cells continue the step above', () => {
    const a = assignCells([cell(0, 'a=1', ['step:load']), cell(1, 'b=a'), cell(2, 'c=b', ['step:train'])]);
    assert.equal(a.strategy, 'tags');
    assert.deepEqual(a.cells.map((c) => c.step), ['load', 'load', 'train']);
  });

  it('falls back to nbdev export cells', () => {
    const a = assignCells([cell(0, '#| default_exp process'), cell(1, '#| export\ndef f(): pass'), cell(2, 'f()')]);
    assert.equal(a.strategy, 'nbdev');
    assert.deepEqual(a.cells.map((c) => c.role), ['skip', 'step', 'skip']);
    assert.equal(a.cells[1].step, 'process');
  });

  it('falls back to ## headings, code above the first joins it', () => {
    const a = assignCells([cell(0, 'import os'), cell(1, '# Title\n## Load', [], 'markdown'), cell(2, 'x=1'), cell(3, '## Clean', [], 'markdown'), cell(4, 'y=x')]);
    assert.equal(a.strategy, 'headings');
    assert.deepEqual(a.cells.map((c) => c.step), ['Load', 'Load', 'Clean']);
  });

  it('makes one step with a notice when nothing splits the notebook', () => {
    const a = assignCells([cell(0, 'x=1'), cell(1, 'print(x)')]);
    assert.equal(a.strategy, 'single');
    assert.ok(a.diagnostics.some((d) => /one step/.test(d.message)));
  });
});
