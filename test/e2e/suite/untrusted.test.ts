import * as assert from 'assert';
import * as fs from 'fs';
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

  it('refuses to build, run, serve or push, without touching Docker or asking for a registry', async () => {
    const uri = copyNotebook('wordstats.ipynb', 'untrusted_nb.ipynb');
    // Push Image with only a notebook would ask for the registry first, unless refused before that.
    for (const [command, arg] of [
      [Command.buildImage, uri],
      [Command.runPipeline, uri],
      [Command.runPipelineLocally, uri],
      [Command.pushImage, uri],
      [Command.pushImage, { notebook: uri, registry: '127.0.0.1:5000' }],
      // Refused before the run is looked up: there is none.
      [Command.reproduceRun, 'no-such-run'],
      // Serving loads the run's pickles and runs the notebook's code: refused before any picker.
      [Command.serveModel, uri],
      [Command.serveModel, { notebook: uri, run: 'no-such-run', local: true }],
    ] as const) {
      const failure = await vscode.commands.executeCommand(command, arg);
      assert.ok(isCommandFailure(failure), `${command} refused`);
      assert.strictEqual(failure.code, 'UNTRUSTED');
      assert.match(failure.message, /trusted workspace/);
    }
    assert.strictEqual(lineageRecords().filter((r) => r.type !== 'version').length, 0, 'no build, run, serve or push recorded');
    assert.deepStrictEqual((await api()).serveStatusTexts(), [], 'no endpoint started');
  });

  it('still plans and productionizes', async () => {
    const uri = copyNotebook('wordstats.ipynb', 'untrusted_ok.ipynb');
    const result = await vscode.commands.executeCommand(Command.productionize, uri);
    assert.ok(!isCommandFailure(result), JSON.stringify(result));
    assert.strictEqual(lineageRecords().filter((r) => r.type === 'version').length, 1);
  });

  it('exports a pipeline file: that builds no image and runs none of the notebook', async () => {
    const uri = copyNotebook('wordstats.ipynb', 'untrusted_export.ipynb');
    const result = (await vscode.commands.executeCommand(Command.exportPipeline, { notebook: uri, target: 'kfp' })) as { file: string; recordId: string };
    assert.ok(!isCommandFailure(result), JSON.stringify(result));
    assert.ok(fs.existsSync(result.file));
    const records = lineageRecords().filter((r) => r.notebook === 'untrusted_export.ipynb');
    assert.deepStrictEqual(records.map((r) => r.type), ['version', 'export']);
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
