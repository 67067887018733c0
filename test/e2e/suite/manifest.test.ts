import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import * as vscode from 'vscode';
import { Command, View } from '../../../src/extension/constants';
import { api, EXTENSION_ID } from './helpers';

describe('manifest and activation', () => {
  it('activates quickly and registers every contributed command', async () => {
    const { activationMs } = await api();
    console.log(`      activation took ${activationMs.toFixed(1)} ms`);
    assert.ok(activationMs < 200, `activate() took ${activationMs} ms`);
    const registered = new Set(await vscode.commands.getCommands(true));
    const pkg = vscode.extensions.getExtension(EXTENSION_ID)!.packageJSON;
    const contributed: string[] = pkg.contributes.commands.map((c: { command: string }) => c.command);
    assert.deepStrictEqual([...contributed].sort(), Object.values(Command).sort(), 'constants.ts and package.json agree');
    for (const id of contributed) assert.ok(registered.has(id), `${id} is registered`);
  });

  it('contributes the Lineage view, settings and trust limits', () => {
    const pkg = vscode.extensions.getExtension(EXTENSION_ID)!.packageJSON;
    assert.strictEqual(pkg.contributes.views.nb2prod[0].id, View.lineage);
    assert.ok(fs.existsSync(path.join(vscode.extensions.getExtension(EXTENSION_ID)!.extensionPath, pkg.contributes.viewsContainers.activitybar[0].icon)));
    assert.strictEqual(pkg.capabilities.untrustedWorkspaces.supported, 'limited');
    const cfg = vscode.workspace.getConfiguration('nb2prod');
    assert.strictEqual(cfg.get('outputDirectory'), 'pipelines');
    for (const key of ['baseImage', 'dockerHost', 'pythonPath']) assert.strictEqual(cfg.get(key), '');
    const menus = pkg.contributes.menus['explorer/context'];
    assert.ok(menus.some((m: { command: string; when: string }) => m.command === Command.productionize && m.when.includes('resourceExtname == .ipynb')));
  });
});
