import assert from 'node:assert/strict';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { createTypeScriptAnalyzer } from '../../src/core/analysis/typescript/index';
import { planNotebook, readNotebookFile } from '../../src/core/pipeline';
import { tempDir, writeNotebook } from '../helpers/notebooks';

const fixtures = path.resolve(__dirname, '../../../test/fixtures');

describe('TypeScript notebooks: analysis and plans', () => {
  it('tslab naive fib: the function moves to the shared module, the rest is one step', async () => {
    const notebook = await readNotebookFile(path.join(fixtures, 'corpus/wild/tslab_naive_fib.ipynb'));
    assert.equal(notebook.language, 'typescript');
    const analysis = (await createTypeScriptAnalyzer('typescript')).analyzeCell(notebook.cells[0].source, 0);
    assert.deepEqual(analysis.diagnostics, []);
    assert.deepEqual(analysis.definitions.map((d) => [d.name, d.kind, d.line, d.globals]), [['naiveFib', 'function', 1, []]]);
    assert.deepEqual(analysis.defines, ['n', 'start', 'end']);
    assert.deepEqual(analysis.uses, []);
    assert.ok(analysis.body.startsWith('const n = 33;'), analysis.body);

    const plan = await planNotebook(notebook);
    assert.deepEqual(plan.diagnostics.filter((d) => d.severity === 'error'), []);
    assert.equal(plan.steps.length, 1);
    assert.deepEqual(plan.definitions.map((d) => d.name), ['naiveFib']);
    assert.deepEqual(plan.steps[0].inputs, []);
  });

  it('ts_pipeline: inputs, outputs, the mutation, parameters and metrics', async () => {
    const notebook = await readNotebookFile(path.join(fixtures, 'notebooks/ts_pipeline.ipynb'));
    const started = performance.now();
    const plan = await planNotebook(notebook);
    const ms = performance.now() - started;
    assert.deepEqual(plan.diagnostics.filter((d) => d.severity === 'error'), []);
    const steps = Object.fromEntries(plan.steps.map((s) => [s.name, s]));
    assert.deepEqual(Object.keys(steps), ['load', 'summarise', 'enrich', 'report']);
    assert.deepEqual(plan.params, { scale: 2, label: 'sales' });
    assert.deepEqual(steps.load.params, ['scale', 'label']);
    assert.deepEqual(steps.summarise.inputs, [{ name: 'sales', from: 'load' }]);
    // enrich pushes onto the received `sales`: the changed value is its output, and report reads that one.
    assert.deepEqual(steps.enrich.outputs, ['sales', 'late']);
    assert.deepEqual(steps.report.inputs, [
      { name: 'summary', from: 'summarise' },
      { name: 'sales', from: 'enrich' },
      { name: 'late', from: 'enrich' },
    ]);
    assert.deepEqual(steps.summarise.metrics, ['bestAmount']);
    assert.deepEqual(plan.definitions.map((d) => d.name), ['Summary', 'checksum']);
    assert.deepEqual(plan.sharedImports.map((i) => i.code), ["import { createHash } from 'node:crypto';"]);
    assert.ok(ms < 2000, `planning took ${ms.toFixed(0)} ms`);
  });

  it('js_pipeline: a JavaScript notebook with require, mutation and rebinding', async () => {
    const notebook = await readNotebookFile(path.join(fixtures, 'notebooks/js_pipeline.ipynb'));
    assert.equal(notebook.language, 'javascript');
    const plan = await planNotebook(notebook);
    assert.deepEqual(plan.diagnostics.filter((d) => d.severity === 'error'), []);
    const [load, sort, show] = plan.steps;
    assert.deepEqual(sort.inputs, [{ name: 'words', from: 'load' }, { name: 'count', from: 'load' }]);
    // words.sort() changes the received array and count += 1 rebinds it: both flow on from `sort`.
    assert.deepEqual(show.inputs, [{ name: 'words', from: 'sort' }, { name: 'first', from: 'sort' }, { name: 'count', from: 'sort' }]);
    assert.deepEqual(sort.imports.map((i) => i.code), ["const { EOL } = require('node:os');"]);
    assert.deepEqual(load.outputs, ['words', 'count']);
  });

  it('a step that hands a received value to a notebook function changing it in place outputs the changed value', async () => {
    const file = writeNotebook(
      tempDir(),
      'helpers.ipynb',
      [
        { source: 'function stripFields(rows, fields) { rows.forEach((row) => fields.forEach((f) => delete row[f])); }', tags: ['functions'] },
        { source: 'function tagAll(rows, tag) {\n  stripFields(rows, ["internal"]);\n  for (const row of rows) row.tag = tag;\n}', tags: ['functions'] },
        { source: 'const records = [{ id: 1, internal: true }];', tags: ['step:load'] },
        { source: 'tagAll(records, "clean");', tags: ['step:tag'] },
        { source: 'console.log(records);', tags: ['step:show'] },
      ],
      { kernelspec: { name: 'javascript', language: 'javascript', display_name: 'JavaScript (Node.js)' } },
    );
    const plan = await planNotebook(await readNotebookFile(file));
    const steps = Object.fromEntries(plan.steps.map((s) => [s.name, s]));
    assert.deepEqual(steps.tag.outputs, ['records']);
    assert.deepEqual(steps.show.inputs, [{ name: 'records', from: 'tag' }]);
  });
});
