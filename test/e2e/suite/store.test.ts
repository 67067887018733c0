/**
 * The object store from the Lineage tree: Reproduce Run on a local run (its element, or its run
 * id for automation) puts a reproduction with a check under the run; Check Out This Version gives
 * back a deleted generated file, and asks before overwriting one the user changed.
 */
import * as assert from 'assert';
import { createHash } from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import * as vscode from 'vscode';
import type { CheckoutResult } from '../../../src/core/store/checkout';
import type { Reproduced, RunAgain } from '../../../src/core/reproduce/reproduce';
import { Command } from '../../../src/extension/constants';
import { CommandFailure, isCommandFailure } from '../../../src/extension/errors';
import type { LineageElement } from '../../../src/extension/lineageTree';
import { api, copyNotebook, EXTENSION_ID, lineageRecords, waitFor, workspaceDir } from './helpers';

type Menu = { command: string; when: string };

function ok<T>(result: T | CommandFailure): T {
  assert.ok(!isCommandFailure(result), JSON.stringify(result));
  return result;
}

async function versionOf(notebook: string): Promise<{ version: LineageElement; children: LineageElement[] }> {
  const { lineageTree } = await api();
  const nb = lineageTree.getChildren().find((e) => e.type === 'notebook' && e.node.path === notebook);
  assert.ok(nb, `the tree lists ${notebook}`);
  const version = lineageTree.getChildren(nb)[0];
  return { version, children: lineageTree.getChildren(version) };
}

const sha256 = (file: string) => createHash('sha256').update(fs.readFileSync(file)).digest('hex');

describe('check out and reproduce', () => {
  it('are tree-only commands; Reproduce Run only when trusted', () => {
    const menus = vscode.extensions.getExtension(EXTENSION_ID)!.packageJSON.contributes.menus;
    const palette = (id: string) => (menus.commandPalette as Menu[]).find((m) => m.command === id)?.when;
    const item = (id: string) => (menus['view/item/context'] as Menu[]).find((m) => m.command === id)?.when ?? '';
    assert.strictEqual(palette(Command.checkoutVersion), 'false');
    assert.strictEqual(palette(Command.reproduceRun), 'false');
    assert.match(item(Command.reproduceRun), /viewItem =~ \/\^run\\b\/ && isWorkspaceTrusted/);
    assert.match(item(Command.checkoutVersion), /\^\(version\|run\)/);
    assert.doesNotMatch(item(Command.checkoutVersion), /isWorkspaceTrusted/, 'check out only writes recorded files');
  });

  it('reproduces a local run: a reproduction with a check appears under the run', async () => {
    const uri = copyNotebook('wordstats.ipynb', 'repro_nb.ipynb');
    const run = ok((await vscode.commands.executeCommand(Command.runPipelineLocally, uri)) as { runId: string; recordId: string } | CommandFailure);
    const { lineageTree } = await api();
    const runEl = (await versionOf('repro_nb.ipynb')).children.find((e) => e.type === 'run' && e.node.id === run.recordId)!;
    assert.ok(runEl, 'the run is in the tree');
    // Summed after the refresh that read the run, without holding the tree up.
    const description = await waitFor('the store size in the view description', async () => (await api()).lineageDescription());
    assert.match(description, /^object store \d+(\.\d)? (B|KB|MB)$/);

    const result = ok((await vscode.commands.executeCommand(Command.reproduceRun, runEl)) as Reproduced<RunAgain> | CommandFailure);
    assert.strictEqual(result.status, 'compared');
    if (result.status !== 'compared') return;
    assert.strictEqual(result.comparison.status, 'identical', JSON.stringify(result.comparison.entries));
    assert.ok(lineageRecords().some((r) => r.type === 'reproduction' && r.original === run.recordId));

    const fresh = (await versionOf('repro_nb.ipynb')).children.find((e) => e.type === 'run' && e.node.id === run.recordId)!;
    const reproductions = lineageTree.getChildren(fresh).filter((e) => e.type === 'reproduction');
    assert.strictEqual(reproductions.length, 1);
    const item = lineageTree.getTreeItem(reproductions[0]);
    assert.strictEqual((item.iconPath as vscode.ThemeIcon).id, 'check');
    assert.match(String(item.description), /^identical · \d+ same/);
    assert.deepStrictEqual(lineageTree.getChildren(reproductions[0]), [], 'nothing differs');

    // By run id, as automation gives it.
    const again = ok((await vscode.commands.executeCommand(Command.reproduceRun, run.runId)) as Reproduced<RunAgain> | CommandFailure);
    assert.strictEqual(again.status === 'compared' && again.comparison.status, 'identical');
  });

  it('checks out a version: a deleted file comes back; a changed one only when overwriting is allowed', async () => {
    const uri = copyNotebook('wordstats.ipynb', 'checkout_nb.ipynb');
    ok(await vscode.commands.executeCommand(Command.productionize, uri));
    const { version } = await versionOf('checkout_nb.ipynb');
    assert.strictEqual(version.type, 'version');
    if (version.type !== 'version') return;
    const files = version.node.record.files;
    const [gone, changed] = [files.find((f) => f.path.endsWith('pipeline.json'))!, files.find((f) => f.path.endsWith('README.md'))!];
    const abs = (rel: string) => path.join(workspaceDir(), rel);
    fs.rmSync(abs(gone.path));

    const restored = ok((await vscode.commands.executeCommand(Command.checkoutVersion, version)) as CheckoutResult | CommandFailure);
    assert.deepStrictEqual(restored.restored, [gone.path]);
    assert.strictEqual(sha256(abs(gone.path)), gone.sha256);

    fs.appendFileSync(abs(changed.path), 'my notes\n');
    fs.rmSync(abs(gone.path));
    const refused = ok((await vscode.commands.executeCommand(Command.checkoutVersion, version, { force: false })) as CheckoutResult | CommandFailure);
    assert.deepStrictEqual(refused.conflicts, [changed.path]);
    assert.ok(!fs.existsSync(abs(gone.path)), 'nothing written while a changed file is in the way');

    const forced = ok((await vscode.commands.executeCommand(Command.checkoutVersion, version.node.id, { force: true })) as CheckoutResult | CommandFailure);
    assert.deepStrictEqual(forced.restored.sort(), [gone.path, changed.path].sort());
    for (const f of [gone, changed]) assert.strictEqual(sha256(abs(f.path)), f.sha256, f.path);
  });
});
