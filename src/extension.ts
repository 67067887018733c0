/** VS Code entry point: everything else lives in src/extension/. */
import type * as vscode from 'vscode';
import { Extension, Nb2prodApi } from './extension/extension';

export function activate(context: vscode.ExtensionContext): Nb2prodApi {
  const extension = new Extension(context);
  context.subscriptions.push(extension);
  return extension.api;
}

export function deactivate(): void {}
