import * as assert from 'assert';
import * as fs from 'fs';
import * as vscode from 'vscode';
import { Command } from '../../../src/extension/constants';
import { isCommandFailure } from '../../../src/extension/errors';
import { api, copyNotebook, lineageRecords } from './helpers';

describe('local run', () => {
  it('runs the pipeline with Python, records the run, and the tree shows steps, artifacts and metrics', async () => {
    const uri = copyNotebook('wordstats.ipynb', 'run_nb.ipynb');
    const result = (await vscode.commands.executeCommand(Command.runPipelineLocally, uri)) as { status: string; runDir: string; recordId: string };
    assert.ok(!isCommandFailure(result), JSON.stringify(result));
    assert.strictEqual(result.status, 'succeeded');
    assert.ok(fs.existsSync(`${result.runDir}/run.json`));
    const run = lineageRecords().find((r) => r.id === result.recordId)!;
    assert.strictEqual(run.type, 'run');
    assert.strictEqual(run.local, true);

    const { lineageTree } = await api();
    const nb = lineageTree.getChildren().find((e) => e.type === 'notebook' && e.node.path === 'run_nb.ipynb')!;
    const version = lineageTree.getChildren(nb)[0];
    const runEl = lineageTree.getChildren(version).find((e) => e.type === 'run')!;
    assert.ok(runEl, 'the run is under its version');
    assert.match(String(lineageTree.getTreeItem(runEl).description), /^succeeded · local/);
    const children = lineageTree.getChildren(runEl);
    const steps = children.filter((e) => e.type === 'step');
    assert.deepStrictEqual(
      steps.map((s) => lineageTree.getTreeItem(s).label),
      ['load', 'summarize'],
    );
    const metrics = children.filter((e) => e.type === 'metric').map((m) => String(lineageTree.getTreeItem(m).label));
    assert.ok(metrics.some((m) => m.startsWith('mean: ')), `metrics: ${metrics}`);
    const load = steps[0];
    const artifacts = lineageTree.getChildren(load);
    assert.ok(artifacts.length > 0 && artifacts.every((a) => a.type === 'artifact'), 'load wrote its output as an artifact');

    // Clicking a step reveals its source cell.
    await vscode.commands.executeCommand(Command.revealCell, load);
    const editor = vscode.window.activeNotebookEditor;
    assert.ok(editor && editor.notebook.uri.toString() === uri.toString());
    assert.strictEqual(editor.selection.start, 4);
  });
});
