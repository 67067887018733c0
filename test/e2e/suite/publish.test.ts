import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import * as vscode from 'vscode';
import { parse } from 'yaml';
import { recordBuild, recordPush } from '../../../src/core/lineage';
import { Command } from '../../../src/extension/constants';
import { CommandFailure, isCommandFailure } from '../../../src/extension/errors';
import type { LineageElement } from '../../../src/extension/lineageTree';
import type { ExportOutcome } from '../../../src/extension/publishOps';
import { api, closeAllEditors, copyNotebook, EXTENSION_ID, lineageRecords, workspaceDir } from './helpers';

type Menu = { command: string; when: string; group?: string };

function menus(): Record<string, Menu[]> {
  return vscode.extensions.getExtension(EXTENSION_ID)!.packageJSON.contributes.menus;
}

/** The notebook's element in the Lineage tree, and its newest version's children. */
async function newestVersionChildren(notebook: string): Promise<LineageElement[]> {
  const { lineageTree } = await api();
  const nb = lineageTree.getChildren().find((e) => e.type === 'notebook' && e.node.path === notebook);
  assert.ok(nb, `the tree lists ${notebook}`);
  return lineageTree.getChildren(lineageTree.getChildren(nb)[0]);
}

/** Accepts the input box `pending` shows with what it is prefilled with, once it is up. */
async function answerInputBox<T>(pending: Thenable<T>): Promise<T> {
  const settled = Promise.resolve(pending).then((value) => ({ value }));
  for (;;) {
    const done = await Promise.race([settled, new Promise<undefined>((r) => setTimeout(() => r(undefined), 250))]);
    if (done) return done.value;
    await vscode.commands.executeCommand('workbench.action.acceptSelectedQuickOpenItem');
  }
}

describe('export and push', () => {
  afterEach(closeAllEditors);

  it('are on the palette, the notebook toolbar overflow and the Lineage tree; push only when trusted', () => {
    const m = menus();
    const palette = (id: string) => m.commandPalette.find((e) => e.command === id)?.when ?? '';
    assert.ok(!palette(Command.exportPipeline).includes('isWorkspaceTrusted'), 'export works in Restricted Mode');
    assert.match(palette(Command.exportPipeline), /workspaceFolderCount > 0/);
    assert.match(palette(Command.pushImage), /isWorkspaceTrusted/);
    assert.strictEqual(palette(Command.copyReference), 'false', 'a tree-only command');
    for (const id of [Command.exportPipeline, Command.pushImage]) {
      const toolbar = m['notebook/toolbar'].find((e) => e.command === id);
      assert.ok(toolbar, `${id} is on the notebook toolbar`);
      assert.doesNotMatch(String(toolbar.group), /^navigation/, 'in the overflow, not a toolbar button');
      assert.ok(m['view/item/context'].some((e) => e.command === id), `${id} is in the Lineage tree's context menu`);
    }
    assert.match(m['notebook/toolbar'].find((e) => e.command === Command.pushImage)!.when, /isWorkspaceTrusted/);
    const pkg = vscode.extensions.getExtension(EXTENSION_ID)!.packageJSON;
    assert.ok(pkg.capabilities.untrustedWorkspaces.restrictedConfigurations.includes('nb2prod.registry'));
    assert.strictEqual(vscode.workspace.getConfiguration('nb2prod').get('registry'), '');
  });

  it('exports a Kubeflow pipeline file from the palette arguments, opens it, and the tree shows the export', async () => {
    copyNotebook('wordstats.ipynb', 'export_nb.ipynb');
    const result = (await vscode.commands.executeCommand(Command.exportPipeline, { target: 'kfp', notebook: 'export_nb.ipynb' })) as ExportOutcome | CommandFailure;
    assert.ok(!isCommandFailure(result), JSON.stringify(result));
    assert.strictEqual(result.file, path.join(workspaceDir(), 'pipelines', 'export_nb', 'export_nb.kfp.yaml'));
    const spec = parse(fs.readFileSync(result.file, 'utf8'));
    assert.deepStrictEqual(Object.keys(spec.root.dag.tasks).sort(), ['load', 'summarize']);
    assert.strictEqual(result.imageSource, 'local', 'never pushed: the local build tag, with a warning');
    assert.ok(result.warnings.length > 0);
    assert.strictEqual(vscode.window.activeTextEditor?.document.uri.fsPath, result.file, 'the file is opened');

    const record = lineageRecords().find((r) => r.id === result.recordId)!;
    assert.strictEqual(record.type, 'export');
    assert.strictEqual(record.versionId, result.versionId);
    assert.strictEqual(record.file, 'pipelines/export_nb/export_nb.kfp.yaml');

    const { lineageTree } = await api();
    const exportEl = (await newestVersionChildren('export_nb.ipynb')).find((e) => e.type === 'export');
    assert.ok(exportEl, 'the export sits under the version it was written from');
    const item = lineageTree.getTreeItem(exportEl);
    assert.strictEqual(item.label, 'Kubeflow Pipelines');
    assert.match(String(item.description), /^export_nb\.kfp\.yaml · just now/);
    assert.strictEqual(item.contextValue, 'export');
    await closeAllEditors();
    await vscode.commands.executeCommand(item.command!.command, ...item.command!.arguments!);
    assert.strictEqual(vscode.window.activeTextEditor?.document.uri.fsPath, result.file, 'clicking the node opens the file');
  });

  it('exports an Argo workflow for a notebook Uri, and names an unknown target', async () => {
    const uri = copyNotebook('wordstats.ipynb', 'argo_nb.ipynb');
    const result = (await vscode.commands.executeCommand(Command.exportPipeline, { target: 'argo', notebook: uri })) as ExportOutcome | CommandFailure;
    assert.ok(!isCommandFailure(result), JSON.stringify(result));
    assert.strictEqual(parse(fs.readFileSync(result.file, 'utf8')).kind, 'Workflow');

    const failure = await vscode.commands.executeCommand(Command.exportPipeline, { target: 'airflow', notebook: uri });
    assert.ok(isCommandFailure(failure));
    assert.strictEqual(failure.code, 'USAGE');
    assert.match(failure.message, /unknown export target 'airflow': use kfp or argo/);
  });

  it('refuses a registry that is not HOST[:PORT][/NAMESPACE] before building anything', async () => {
    const uri = copyNotebook('wordstats.ipynb', 'push_bad.ipynb');
    const failure = await vscode.commands.executeCommand(Command.pushImage, { notebook: uri, registry: 'http://127.0.0.1:5000' });
    assert.ok(isCommandFailure(failure), JSON.stringify(failure));
    assert.strictEqual(failure.code, 'BAD_REGISTRY');
    assert.match(failure.message, /has a scheme; write it without one: '127\.0\.0\.1:5000'/);
    assert.strictEqual(lineageRecords().filter((r) => r.notebook === 'push_bad.ipynb').length, 0, 'nothing productionized, built or pushed');
  });

  it('shows a push under its build as reference@digest, and copies the reference by digest', async () => {
    const uri = copyNotebook('wordstats.ipynb', 'pushed_nb.ipynb');
    const version = (await vscode.commands.executeCommand(Command.productionize, uri)) as { versionId: string };
    // The records a build and a push leave (the push itself needs an engine and a registry; the
    // Docker suite and the push CLI tests run those).
    const ws = workspaceDir();
    const notebookPath = uri.fsPath;
    const build = await recordBuild({ workspaceDir: ws, notebookPath, versionId: version.versionId, contextHash: 'c'.repeat(64), dockerfileHash: 'd'.repeat(64), baseImage: 'python:3.11-slim', imageId: `sha256:${'a'.repeat(64)}`, tags: ['nb2prod/pushed_nb:cccccccccccc'], seconds: 1, status: 'succeeded' });
    const digest = `sha256:${'e'.repeat(64)}`;
    await recordPush({ workspaceDir: ws, notebookPath, buildId: build.id, registry: '127.0.0.1:5000/team', reference: '127.0.0.1:5000/team/pushed_nb:cccccccccccc', digest, imageId: build.imageId!, contextHash: build.contextHash, seconds: 2 });

    const { lineageTree, refreshLineage } = await api();
    await refreshLineage();
    const buildEl = (await newestVersionChildren('pushed_nb.ipynb')).find((e) => e.type === 'build')!;
    const buildItem = lineageTree.getTreeItem(buildEl);
    assert.strictEqual(buildItem.contextValue, 'build+image', 'Push Image… is offered on a build with an image');
    assert.strictEqual(buildItem.collapsibleState, vscode.TreeItemCollapsibleState.Collapsed);
    const pushEl = lineageTree.getChildren(buildEl).find((e) => e.type === 'push')!;
    const item = lineageTree.getTreeItem(pushEl);
    assert.strictEqual(item.label, '127.0.0.1:5000/team/pushed_nb:cccccccccccc');
    assert.match(String(item.description), /^@sha256:eeeeeeeeeeee · just now$/);
    assert.strictEqual(item.contextValue, 'push');
    const copied = await vscode.commands.executeCommand(Command.copyReference, pushEl);
    assert.strictEqual(copied, `127.0.0.1:5000/team/pushed_nb@${digest}`);
    assert.strictEqual(await vscode.env.clipboard.readText(), copied);

    // Push Image… on the build asks for the registry, prefilled from the setting. That build's
    // (made-up) content is not what the pipeline directory holds now, so it is not pushed.
    await vscode.workspace.getConfiguration('nb2prod').update('registry', '127.0.0.1:5000/team', vscode.ConfigurationTarget.Workspace);
    const failure = await answerInputBox(vscode.commands.executeCommand(Command.pushImage, buildEl));
    await vscode.workspace.getConfiguration('nb2prod').update('registry', undefined, vscode.ConfigurationTarget.Workspace);
    assert.ok(isCommandFailure(failure), JSON.stringify(failure));
    assert.strictEqual(failure.code, 'STALE_BUILD');
    assert.match(failure.message, /earlier pushed_nb pipeline \(context cccccccccccc/);
  });
});
