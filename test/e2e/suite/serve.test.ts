/**
 * Serve Model in a real VS Code: the churn fixture is productionized and run locally, then its
 * run is served with the configured Python (local mode: no Docker needed). The status bar item
 * appears, a real HTTP POST /predict answers, the endpoint is under its run in the Lineage tree
 * with the `serve` record lineage got, and Stop removes the item and ends the endpoint (the record
 * stays under the run).
 */
import * as assert from 'assert';
import * as fs from 'fs';
import * as net from 'net';
import * as path from 'path';
import * as vscode from 'vscode';
import { createDockerEngine } from '../../../src/core/docker/dockerode-engine';
import { SERVE_RUN_LABEL } from '../../../src/core/serve/session';
import { Command, Setting } from '../../../src/extension/constants';
import { CommandFailure, isCommandFailure } from '../../../src/extension/errors';
import type { LineageElement } from '../../../src/extension/lineageTree';
import { api, copyNotebook, EXTENSION_ID, lineageRecords, waitFor, workspaceDir, wsUri } from './helpers';

/** Debian's Python has numpy, pandas, scikit-learn, FastAPI and uvicorn. */
const PYTHON = fs.existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';
const FIXTURE = path.resolve(__dirname, '..', '..', '..', '..', 'test', 'fixtures', 'serve', 'churn.ipynb');

type Menu = { command: string; when: string };
interface Served {
  id: string;
  url: string;
  model: string;
  runId: string;
  docsUrl: string;
  curlExample: string;
  local: boolean;
}

function ok<T>(result: T | CommandFailure): T {
  assert.ok(!isCommandFailure(result), JSON.stringify(result));
  return result;
}

async function predict(url: string, body: unknown): Promise<{ status: number; json: unknown; version: string | null }> {
  const res = await fetch(`${url}/predict`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return { status: res.status, json: await res.json(), version: res.headers.get('x-model-version') };
}

async function runElement(notebook: string, recordId: string): Promise<LineageElement> {
  const { lineageTree } = await api();
  const nb = lineageTree.getChildren().find((e) => e.type === 'notebook' && e.node.path === notebook);
  assert.ok(nb, `the tree lists ${notebook}`);
  const version = lineageTree.getChildren(nb)[0];
  const run = lineageTree.getChildren(version).find((e) => e.type === 'run' && e.node.id === recordId);
  assert.ok(run, 'the run is under its version');
  return run;
}

describe('serve model', function () {
  // A local run of the churn pipeline, then the skew guard and the server's start (or the image build).
  this.timeout(240_000);
  const config = () => vscode.workspace.getConfiguration(Setting.section);
  /** The run served, for the container test. */
  let churnRun: { runId: string; recordId: string } | undefined;

  before(async () => {
    await config().update(Setting.pythonPath, PYTHON, vscode.ConfigurationTarget.Workspace);
  });
  after(async () => {
    await config().update(Setting.pythonPath, undefined, vscode.ConfigurationTarget.Workspace);
  });

  it('is offered on runs that succeeded and in the palette, only when trusted', () => {
    const pkg = vscode.extensions.getExtension(EXTENSION_ID)!.packageJSON;
    const menus = pkg.contributes.menus;
    const palette = (menus.commandPalette as Menu[]).find((m) => m.command === Command.serveModel)?.when ?? '';
    const item = (menus['view/item/context'] as Menu[]).find((m) => m.command === Command.serveModel)?.when ?? '';
    assert.match(palette, /isWorkspaceTrusted/);
    assert.match(item, /viewItem =~ \/\^run\\b\.\*\\\+succeeded\/ && isWorkspaceTrusted/);
    assert.ok(pkg.capabilities.untrustedWorkspaces.restrictedConfigurations.includes('nb2prod.serveLocal'));
    assert.strictEqual(config().get(Setting.servePort), 8080);
  });

  it('serves a run locally: status bar item, a real POST /predict, the endpoint in the tree; Stop ends it', async () => {
    fs.copyFileSync(FIXTURE, path.join(workspaceDir(), 'serve_churn.ipynb'));
    const uri = wsUri('serve_churn.ipynb');
    const run = ok((await vscode.commands.executeCommand(Command.runPipelineLocally, uri)) as { status: string; runId: string; recordId: string } | CommandFailure);
    assert.strictEqual(run.status, 'succeeded');
    churnRun = run;
    const runEl = await runElement('serve_churn.ipynb', run.recordId);
    const { lineageTree, serveStatusTexts, endpoints } = await api();
    assert.match(String(lineageTree.getTreeItem(runEl).contextValue), /^run\+succeeded$/);

    // The tree item, as its context menu passes it; port 0: whatever port is free.
    const started = Date.now();
    const served = ok((await vscode.commands.executeCommand(Command.serveModel, runEl, { local: true, port: 0 })) as Served | CommandFailure);
    console.log(`      served locally in ${((Date.now() - started) / 1000).toFixed(1)} s at ${served.url}`);
    try {
      assert.strictEqual(served.runId, run.runId);
      assert.strictEqual(served.local, true);
      const port = new URL(served.url).port;
      assert.deepStrictEqual(serveStatusTexts(), [`$(radio-tower) ${served.model} :${port}`]);

      const answer = await predict(served.url, { tenure: 12, monthly_charges: 70.5, contract: 'month-to-month' });
      assert.strictEqual(answer.status, 200, JSON.stringify(answer.json));
      const body = answer.json as { churn: number; probability: number };
      assert.ok(body.churn === 0 || body.churn === 1, JSON.stringify(body));
      assert.ok(body.probability >= 0 && body.probability <= 1, JSON.stringify(body));
      assert.strictEqual(answer.version, run.runId, 'the answer names the run it came from');

      // Live under its run, and the serve record lineage got.
      const children = lineageTree.getChildren(await runElement('serve_churn.ipynb', run.recordId));
      const live = children.find((e) => e.type === 'endpoint');
      assert.ok(live, `the endpoint is under its run: ${children.map((c) => c.type)}`);
      assert.strictEqual(lineageTree.getTreeItem(live).label, served.url);
      const record = await waitFor('the serve record', () => lineageRecords().find((r) => r.type === 'serve' && r.runId === run.runId));
      assert.strictEqual(record.local, true);
      assert.deepStrictEqual(record.parents, [run.recordId]);
      assert.ok((await api()).lineageTree.getChildren(await runElement('serve_churn.ipynb', run.recordId)).every((e) => e.type !== 'serve'), 'the serving shows once: as the live endpoint');

      // Serving the same run again hands back the running endpoint instead of a second one.
      const again = ok((await vscode.commands.executeCommand(Command.serveModel, { run: run.runId, local: true, port: 0 })) as Served | CommandFailure);
      assert.strictEqual(again.url, served.url);
      assert.strictEqual(endpoints.list().length, 1);

      ok(await vscode.commands.executeCommand(Command.endpointActions, served.id, 'curl'));
      assert.strictEqual(await vscode.env.clipboard.readText(), served.curlExample);
      assert.match(served.curlExample, /curl .*\/predict/);
    } finally {
      ok(await vscode.commands.executeCommand(Command.stopEndpoint, served.id));
    }
    assert.deepStrictEqual(serveStatusTexts(), [], 'the status bar item is gone');
    assert.strictEqual(endpoints.list().length, 0);
    await assert.rejects(predict(served.url, { tenure: 1, monthly_charges: 20, contract: 'one-year' }), 'the endpoint answers no more');
    const after = lineageTree.getChildren(await runElement('serve_churn.ipynb', run.recordId));
    assert.ok(!after.some((e) => e.type === 'endpoint'), 'the endpoint left the tree');
    // The serve record stays under the run: what was served, from which artifacts.
    const history = after.find((e) => e.type === 'serve');
    assert.ok(history, 'the serve record is under its run');
    assert.strictEqual(lineageTree.getTreeItem(history).label, 'Served locally');
    assert.match(String(lineageTree.getTreeItem(history).description), /^local Python · \d+ artifacts? · just now$/);
  });

  it('serves the run in a container built from the base image setting; Stop removes the container; a container stopped elsewhere leaves the status bar', async function () {
    const engine = createDockerEngine(process.env);
    try {
      await engine.info();
    } catch (e) {
      if (process.env.CI) throw e;
      console.log(`      skipped: ${(e as Error).message}`);
      this.skip();
    }
    assert.ok(churnRun, 'the churn run of the test before');
    // The offline base with numpy, pandas, scikit-learn and the web stack (test/setup/base-image.sh).
    await config().update(Setting.baseImage, 'nb2prod-base/python-ml:bookworm', vscode.ConfigurationTarget.Workspace);
    let image: string | undefined;
    try {
      const started = Date.now();
      const served = ok((await vscode.commands.executeCommand(Command.serveModel, { run: churnRun.recordId, local: false, port: 0 })) as (Served & { image?: string }) | CommandFailure);
      image = served.image;
      console.log(`      served in a container in ${((Date.now() - started) / 1000).toFixed(1)} s from ${served.image} at ${served.url}`);
      const { serveStatusTexts } = await api();
      assert.deepStrictEqual(serveStatusTexts(), [`$(radio-tower) ${served.model} :${new URL(served.url).port}`]);
      const answer = await predict(served.url, { tenure: 40, monthly_charges: 99.9, contract: 'two-year' });
      assert.strictEqual(answer.status, 200, JSON.stringify(answer.json));
      assert.strictEqual(answer.version, churnRun.runId);
      const label = `${SERVE_RUN_LABEL}=${churnRun.runId}`;
      assert.strictEqual((await engine.listContainers(label)).length, 1, 'one serving container');
      const record = lineageRecords().find((r) => r.type === 'serve' && r.image === served.image);
      assert.ok(record && record.local === false && typeof record.imageId === 'string', JSON.stringify(record));

      ok(await vscode.commands.executeCommand(Command.stopEndpoint, served.id));
      assert.deepStrictEqual(serveStatusTexts(), []);
      await assert.rejects(predict(served.url, { tenure: 1, monthly_charges: 20, contract: 'one-year' }), 'the endpoint answers no more');
      assert.deepStrictEqual(await engine.listContainers(label), [], 'the container is removed');

      // A container stopped behind the extension's back: the status item and the tree follow.
      const again = ok((await vscode.commands.executeCommand(Command.serveModel, { run: churnRun.recordId, local: false, port: 0 })) as Served | CommandFailure);
      assert.strictEqual(serveStatusTexts().length, 1);
      const [id] = await engine.listContainers(label);
      await engine.stopContainer(id, 1);
      await waitFor('the status bar item to go', () => serveStatusTexts().length === 0);
      assert.ok(!(await api()).endpoints.get(again.id), 'the endpoint is gone from the list');
    } finally {
      await config().update(Setting.baseImage, undefined, vscode.ConfigurationTarget.Workspace);
      if (image) await engine.removeImage(image).catch(() => undefined);
    }
  });

  it('names the missing serve cell when the run\'s notebook has none, and starts nothing', async () => {
    const uri = copyNotebook('wordstats.ipynb', 'serve_none.ipynb');
    const run = ok((await vscode.commands.executeCommand(Command.runPipelineLocally, uri)) as { recordId: string } | CommandFailure);
    const failure = await vscode.commands.executeCommand(Command.serveModel, await runElement('serve_none.ipynb', run.recordId), { local: true, port: 0 });
    assert.ok(isCommandFailure(failure), JSON.stringify(failure));
    assert.strictEqual(failure.code, 'NO_SERVE_CELL');
    assert.match(failure.message, /serve_none\.ipynb has no serving function: tag the cell that defines it/);
    assert.deepStrictEqual((await api()).serveStatusTexts(), []);
  });

  it('a port in use: one clear error naming the setting, and nothing left running', async () => {
    assert.ok(churnRun, 'the churn run of the test before');
    const taken = net.createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    const port = (taken.address() as net.AddressInfo).port;
    try {
      const failure = await vscode.commands.executeCommand(Command.serveModel, { run: churnRun.recordId, local: true, port });
      assert.ok(isCommandFailure(failure), JSON.stringify(failure));
      assert.strictEqual(failure.code, 'PORT_IN_USE');
      assert.strictEqual(failure.message, `port ${port} on 127.0.0.1 is in use: set nb2prod.servePort to another port (0 picks a free one)`);
      assert.deepStrictEqual((await api()).serveStatusTexts(), []);
      assert.strictEqual((await api()).endpoints.list().length, 0);
    } finally {
      await new Promise((resolve) => taken.close(resolve));
    }
  });

  it('says so when a notebook has no run to serve', async () => {
    const failure = await vscode.commands.executeCommand(Command.serveModel, { notebook: 'wordstats.ipynb', local: true });
    assert.ok(isCommandFailure(failure));
    assert.strictEqual(failure.code, 'NOT_FOUND');
    assert.match(failure.message, /wordstats\.ipynb has no runs|no successful run of wordstats\.ipynb/);
  });
});
