import * as assert from 'assert';
import * as vscode from 'vscode';

describe('VS Code host', () => {
  it('runs inside a real VS Code with the workspace open', () => {
    assert.match(vscode.version, /^1\.\d+\.\d+/);
    assert.ok(vscode.workspace.workspaceFolders?.length, 'a folder is open');
  });
});
