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

  it('shows the Pipeline Graph (read-only: it only plans) and Compare Runs', async () => {
    const uri = copyNotebook('diamond.ipynb', 'untrusted_graph.ipynb');
    const { graphs } = await api();
    const rendered = new Promise((resolve) => {
      const sub = graphs.onDidRender((e) => {
        if (e.notebook.toString() !== uri.toString()) return;
        sub.dispose();
        resolve(e.rendered);
      });
    });
    const panel = await vscode.commands.executeCommand(Command.showGraph, uri);
    assert.ok(!isCommandFailure(panel), JSON.stringify(panel));
    const r = (await rendered) as { nodes: number; edges: number; layoutMs: number; renderMs: number };
    console.log(`      graph drawn in Restricted Mode: ${r.nodes} steps, ${r.edges} edges, layout ${r.layoutMs.toFixed(1)} ms, drawing ${r.renderMs.toFixed(1)} ms`);
    assert.deepStrictEqual([r.nodes, r.edges], [5, 5]);
    const runs = await vscode.commands.executeCommand(Command.compareRuns, uri);
    assert.ok(!isCommandFailure(runs), JSON.stringify(runs));
  });
});
