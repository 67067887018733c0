/**
 * The HTML shell of our webviews: one script from dist/webview, a strict Content-Security-
 * Policy (nothing remote, no inline code, no eval; the script's nonce also admits the one
 * <style> it adds), and the options every panel shares.
 */
import { randomBytes } from 'crypto';
import * as vscode from 'vscode';

export function webviewOptions(extensionUri: vscode.Uri): vscode.WebviewPanelOptions & vscode.WebviewOptions {
  return {
    enableScripts: true,
    // Only our bundles: not the workspace, not the rest of the extension.
    localResourceRoots: [vscode.Uri.joinPath(extensionUri, 'dist', 'webview')],
    // The pages keep their state with setState, so a hidden tab may drop its DOM.
    retainContextWhenHidden: false,
    enableFindWidget: false,
  };
}

export function webviewHtml(webview: vscode.Webview, extensionUri: vscode.Uri, page: 'graph' | 'runs', data: Record<string, string>): string {
  const nonce = randomBytes(16).toString('base64');
  const script = webview.asWebviewUri(vscode.Uri.joinPath(extensionUri, 'dist', 'webview', `${page}.js`));
  const csp = [
    "default-src 'none'",
    `script-src 'nonce-${nonce}'`,
    `style-src 'nonce-${nonce}'`,
    `img-src ${webview.cspSource} data:`,
    `font-src ${webview.cspSource}`,
  ].join('; ');
  const attrs = Object.entries(data)
    .map(([k, v]) => ` data-${k}="${escapeAttribute(v)}"`)
    .join('');
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="${csp}">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
</head>
<body${attrs}>
<script nonce="${nonce}" src="${script}"></script>
</body>
</html>`;
}

function escapeAttribute(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;');
}
