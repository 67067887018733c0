import * as assert from 'assert';
import * as vscode from 'vscode';
import { Command } from '../../../src/extension/constants';
import { isCommandFailure } from '../../../src/extension/errors';
import { api, copyNotebook, lineageRecords } from './helpers';

// Runs in a separate VS Code session whose folder is in Restricted Mode (NB2PROD_E2E_UNTRUSTED=1).
describe('restricted mode', () => {
  it('the workspace is not trusted', async () => {
    await api();
    assert.strictEqual(vscode.workspace.isTrusted, false);
  });

  it('refuses to build or run, without touching Docker', async () => {
    const uri = copyNotebook('wordstats.ipynb', 'untrusted_nb.ipynb');
    for (const command of [Command.buildImage, Command.runPipeline, Command.runPipelineLocally]) {
      const failure = await vscode.commands.executeCommand(command, uri);
      assert.ok(isCommandFailure(failure), `${command} refused`);
      assert.strictEqual(failure.code, 'UNTRUSTED');
      assert.match(failure.message, /trusted workspace/);
    }
    assert.strictEqual(lineageRecords().filter((r) => r.type !== 'version').length, 0, 'no build or run recorded');
  });

  it('still plans and productionizes', async () => {
    const uri = copyNotebook('wordstats.ipynb', 'untrusted_ok.ipynb');
    const result = await vscode.commands.executeCommand(Command.productionize, uri);
    assert.ok(!isCommandFailure(result), JSON.stringify(result));
    assert.strictEqual(lineageRecords().filter((r) => r.type === 'version').length, 1);
  });
});
