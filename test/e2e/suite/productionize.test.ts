import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import * as vscode from 'vscode';
import { Command } from '../../../src/extension/constants';
import { isCommandFailure } from '../../../src/extension/errors';
import type { LineageElement } from '../../../src/extension/lineageTree';
import { api, closeAllEditors, copyNotebook, lineageRecords, waitFor, workspaceDir } from './helpers';

describe('productionize', () => {
  afterEach(closeAllEditors);

  it('writes the pipeline package from an explorer Uri and records a version the tree shows', async () => {
    const uri = copyNotebook('wordstats.ipynb', 'explorer_nb.ipynb');
    const result = (await vscode.commands.executeCommand(Command.productionize, uri)) as { outDir: string; created: boolean; versionId: string };
    assert.ok(!isCommandFailure(result), JSON.stringify(result));
    const out = path.join(workspaceDir(), 'pipelines', 'explorer_nb');
    assert.strictEqual(result.outDir, out);
    for (const f of ['pipeline.json', 'Dockerfile', 'requirements.txt', 'explorer_nb/__main__.py', 'explorer_nb/steps/load.py', 'explorer_nb/steps/summarize.py']) {
      assert.ok(fs.existsSync(path.join(out, f)), `${f} was generated`);
    }
    const versions = lineageRecords().filter((r) => r.type === 'version' && r.notebook === 'explorer_nb.ipynb');
    assert.strictEqual(versions.length, 1);
    assert.strictEqual(versions[0].id, result.versionId);

    const { lineageTree } = await api();
    const notebook = lineageTree.getChildren().find((e) => e.type === 'notebook' && e.node.path === 'explorer_nb.ipynb');
    assert.ok(notebook, 'the tree lists the notebook');
    const [version] = lineageTree.getChildren(notebook);
    assert.strictEqual(version.type, 'version');
    const item = lineageTree.getTreeItem(version);
    assert.strictEqual(item.label, 'Version 1');
    assert.match(String(item.description), /just now/);
    assert.strictEqual(item.contextValue, 'version');
    const files = lineageTree.getChildren(version).find((e) => e.type === 'files')!;
    assert.ok(lineageTree.getChildren(files).some((f) => f.type === 'file' && f.file.path.endsWith('steps/load.py')));

    const again = (await vscode.commands.executeCommand(Command.productionize, uri)) as { created: boolean; versionId: string };
    assert.strictEqual(again.created, false, 'an unchanged notebook is not a new version');
    assert.strictEqual(again.versionId, result.versionId);
  });

  it('uses the open editor\'s cells, unsaved edits included', async () => {
    const uri = copyNotebook('wordstats.ipynb', 'editor_nb.ipynb');
    const first = (await vscode.commands.executeCommand(Command.productionize, uri)) as { versionId: string };
    const doc = await vscode.workspace.openNotebookDocument(uri);
    await vscode.window.showNotebookDocument(doc);
    const cell = doc.getCells().find((c) => c.document.getText().startsWith('mean ='))!;
    const edit = new vscode.WorkspaceEdit();
    edit.insert(cell.document.uri, new vscode.Position(cell.document.lineCount, 0), '\nmedian = statistics.median(values)');
    assert.ok(await vscode.workspace.applyEdit(edit));
    assert.ok(doc.isDirty, 'the edit is not saved');

    const second = (await vscode.commands.executeCommand(Command.productionize)) as { versionId: string; outDir: string; created: boolean };
    assert.ok(!isCommandFailure(second), JSON.stringify(second));
    assert.ok(second.created && second.versionId !== first.versionId, 'a new version');
    const step = fs.readFileSync(path.join(second.outDir, 'editor_nb', 'steps', 'summarize.py'), 'utf8');
    assert.match(step, /median = statistics\.median\(values\)/);

    const { lineageTree } = await api();
    await waitFor('two versions in the tree', () => {
      const nb = lineageTree.getChildren().find((e) => e.type === 'notebook' && e.node.path === 'editor_nb.ipynb');
      return nb && lineageTree.getChildren(nb).filter((e) => e.type === 'version').length === 2;
    });
    const nb = lineageTree.getChildren().find((e) => e.type === 'notebook' && e.node.path === 'editor_nb.ipynb')!;
    const newest = lineageTree.getChildren(nb)[0] as Extract<LineageElement, { type: 'version' }>;
    assert.strictEqual(lineageTree.getTreeItem(newest).contextValue, 'version+previous');
    const diff = (await vscode.commands.executeCommand(Command.diffWithPrevious, newest)) as { notebookChanged: boolean };
    assert.strictEqual(diff.notebookChanged, true);
    await vscode.commands.executeCommand('workbench.action.files.revert');
  });

  it('puts plan errors in Problems on the cell and line that caused them', async () => {
    const { diagnostics } = await api();
    const uri = copyNotebook('broken.ipynb', 'broken_closed.ipynb');
    const failure = await vscode.commands.executeCommand(Command.productionize, uri);
    assert.ok(isCommandFailure(failure), 'productionize fails');
    assert.strictEqual(failure.code, 'PLAN');
    assert.match(failure.message, /factor/);
    const [onFile] = diagnostics.get(uri);
    assert.strictEqual(onFile.uri.toString(), uri.toString(), 'closed notebook: on the file');
    assert.match(onFile.diagnostics[0].message, /^cell 2, line 2: .*factor/);

    const doc = await vscode.workspace.openNotebookDocument(uri);
    await vscode.window.showNotebookDocument(doc);
    const plan = (await vscode.commands.executeCommand(Command.showPlan, uri)) as { steps: unknown[] };
    assert.strictEqual(plan.steps.length, 2);
    const placed = diagnostics.get(uri);
    const cellUri = doc.cellAt(1).document.uri.toString();
    const onCell = placed.find((p) => p.uri.toString() === cellUri);
    assert.ok(onCell, `diagnostic on the cell document (got ${placed.map((p) => p.uri.toString())})`);
    const d = onCell.diagnostics.find((x) => x.severity === vscode.DiagnosticSeverity.Error)!;
    assert.strictEqual(d.range.start.line, 1);
    assert.strictEqual(doc.cellAt(1).document.getText(d.range), 'factor');
    assert.ok(vscode.languages.getDiagnostics(doc.cellAt(1).document.uri).some((x) => x.source === 'nb2prod'), 'visible to Problems');
  });
});
