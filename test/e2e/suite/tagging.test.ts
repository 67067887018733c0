import * as assert from 'assert';
import * as fs from 'fs';
import * as vscode from 'vscode';
import { Command } from '../../../src/extension/constants';
import { isCommandFailure } from '../../../src/extension/errors';
import { api, closeAllEditors, copyNotebook, waitFor } from './helpers';

describe('cell tags', () => {
  afterEach(closeAllEditors);

  it('reads tags where VS Code 1.100 keeps them: cell.metadata.metadata.tags', async () => {
    const doc = await vscode.workspace.openNotebookDocument(copyNotebook('wordstats.ipynb', 'tags_read.ipynb'));
    const cell = doc.cellAt(4);
    assert.deepStrictEqual((cell.metadata as { metadata: { tags: string[] } }).metadata.tags, ['step:load']);
    assert.strictEqual((cell.metadata as { id?: string }).id, 'load', 'the nbformat cell id sits at metadata.id');
  });

  it('"Set Step Tag…" edits metadata.tags with an undoable notebook edit, and the status bar follows', async () => {
    const uri = copyNotebook('wordstats.ipynb', 'tags_edit.ipynb');
    const doc = await vscode.workspace.openNotebookDocument(uri);
    await vscode.window.showNotebookDocument(doc);
    const { cellStatus } = await api();
    const text = (i: number) => cellStatus.provideCellStatusBarItems(doc.cellAt(i)).map((s) => s.text).join();
    assert.match(text(5), /step: summarize/);
    assert.match(text(2), /parameters/);

    const tags = await vscode.commands.executeCommand(Command.tagCell, doc.cellAt(5), 'step:train');
    assert.ok(!isCommandFailure(tags), JSON.stringify(tags));
    assert.deepStrictEqual((doc.cellAt(5).metadata as { metadata: { tags: string[] } }).metadata.tags, ['step:train']);
    assert.ok(doc.isDirty);
    assert.match(text(5), /step: train/);
    // Untagged cells continue the step above: retag the metrics cell away and it joins 'train'.
    await vscode.commands.executeCommand(Command.tagCell, doc.cellAt(6), '');
    assert.match(text(6), /step: train/);

    await doc.save();
    const saved = JSON.parse(fs.readFileSync(uri.fsPath, 'utf8'));
    assert.deepStrictEqual(saved.cells[5].metadata.tags, ['step:train'], 'nbformat keeps tags at cell.metadata.tags');
    assert.strictEqual(saved.cells[6].metadata.tags, undefined, 'an empty tag list is removed');

    await vscode.commands.executeCommand('undo');
    await vscode.commands.executeCommand('undo');
    await waitFor('undo restores the tag', () =>
      (doc.cellAt(5).metadata as { metadata: { tags?: string[] } }).metadata.tags?.[0] === 'step:summarize' ? true : undefined,
    );
    // Leave nothing dirty behind: the shutdown would try to save it after the host is gone.
    await vscode.commands.executeCommand('workbench.action.files.revert');
  });

  it('refuses markdown cells with a clear failure', async () => {
    const doc = await vscode.workspace.openNotebookDocument(copyNotebook('wordstats.ipynb', 'tags_md.ipynb'));
    const failure = await vscode.commands.executeCommand(Command.tagCell, doc.cellAt(0), 'step:x');
    assert.ok(isCommandFailure(failure));
    assert.strictEqual(failure.code, 'NOT_CODE');
  });
});
