/** VS Code entry point: everything else lives in src/extension/. */
import type * as vscode from 'vscode';
import { Extension, Nb2prodApi } from './extension/extension';

/**
 * The one reference `deactivate` needs: disposing is synchronous, but stopping a serving
 * container is not, and VS Code waits only for the promise `deactivate` returns.
 */
let running: Extension | undefined;

export function activate(context: vscode.ExtensionContext): Nb2prodApi {
  const extension = new Extension(context);
  context.subscriptions.push(extension);
  running = extension;
  return extension.api;
}

export async function deactivate(): Promise<void> {
  const extension = running;
  running = undefined;
  await extension?.deactivate();
}
