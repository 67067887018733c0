/** Shared by the integration tests: they run inside the extension host, on a throwaway copy of test/fixtures/workspace. */
import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import * as vscode from 'vscode';
import type { Nb2prodApi } from '../../../src/extension/extension';

export const EXTENSION_ID = 'nb2prod.notebook-to-production';

export function workspaceDir(): string {
  const folder = vscode.workspace.workspaceFolders?.[0];
  assert.ok(folder, 'the test workspace is open');
  return folder.uri.fsPath;
}

export function wsUri(rel: string): vscode.Uri {
  return vscode.Uri.file(path.join(workspaceDir(), rel));
}

export async function api(): Promise<Nb2prodApi> {
  const ext = vscode.extensions.getExtension<Nb2prodApi>(EXTENSION_ID);
  assert.ok(ext, `${EXTENSION_ID} is loaded`);
  return ext.activate();
}

/** The lineage records on disk, parsed. */
export function lineageRecords(): { type: string; id: string; notebook: string; [k: string]: unknown }[] {
  const file = path.join(workspaceDir(), '.nb2prod', 'lineage.jsonl');
  if (!fs.existsSync(file)) return [];
  return fs
    .readFileSync(file, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l));
}

export async function waitFor<T>(what: string, probe: () => T | undefined | Promise<T | undefined>, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** A fresh copy of a fixture notebook under a new name, so tests do not share lineage. */
export function copyNotebook(fixture: string, name: string): vscode.Uri {
  const dir = workspaceDir();
  fs.copyFileSync(path.join(dir, fixture), path.join(dir, name));
  return wsUri(name);
}

export async function closeAllEditors(): Promise<void> {
  await vscode.commands.executeCommand('workbench.action.closeAllEditors');
}
