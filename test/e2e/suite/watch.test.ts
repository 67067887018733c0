import * as assert from 'assert';
import * as vscode from 'vscode';
import { openStore } from '../../../src/core/lineage';
import { View } from '../../../src/extension/constants';
import { api, waitFor, workspaceDir } from './helpers';

describe('lineage view refresh', () => {
  it('picks up records another process appends, while the view is visible', async () => {
    const { lineageTree } = await api();
    await vscode.commands.executeCommand(`${View.lineage}.focus`);
    // As the CLI would: a separate store handle, nothing told to the extension.
    await openStore(workspaceDir()).append({
      type: 'version',
      notebook: 'from_cli.ipynb',
      notebookHash: 'a'.repeat(64),
      planHash: 'b'.repeat(64),
      outDir: 'pipelines/from_cli',
      package: 'from_cli',
      files: [],
      steps: [],
      data: [],
    });
    const nb = await waitFor('the watcher to refresh the tree', () =>
      lineageTree.getChildren().find((e) => e.type === 'notebook' && e.node.path === 'from_cli.ipynb'),
    );
    assert.strictEqual(lineageTree.getTreeItem(lineageTree.getChildren(nb)[0]).label, 'Version 1');
  });
});
