/**
 * One status bar item per running endpoint (`$(radio-tower) churn :8080`); clicking it offers
 * Stop, Open API Docs and Copy curl Example. The items follow the Endpoints list.
 */
import * as vscode from 'vscode';
import { Nb2prodError } from '../core/errors';
import { Command } from './constants';
import type { Endpoint, Endpoints } from './serveOps';

export type EndpointAction = 'stop' | 'docs' | 'curl';

export class ServeStatus implements vscode.Disposable {
  private readonly items = new Map<string, vscode.StatusBarItem>();
  private readonly subscription: vscode.Disposable;

  constructor(private readonly endpoints: Endpoints) {
    this.subscription = endpoints.onDidChange(() => this.update());
  }

  /** The items' texts, for tests and other extensions (VS Code cannot list another's status items). */
  texts(): string[] {
    return [...this.items.values()].map((i) => i.text);
  }

  private update(): void {
    const live = new Map(this.endpoints.list().map((e) => [e.id, e]));
    for (const [id, item] of this.items) {
      if (live.has(id)) continue;
      item.dispose();
      this.items.delete(id);
    }
    for (const [id, e] of live) {
      if (this.items.has(id)) continue;
      const item = vscode.window.createStatusBarItem(`nb2prod.endpoint.${id}`, vscode.StatusBarAlignment.Left, 10);
      item.name = `Model endpoint ${e.session.model}`;
      item.text = statusText(e);
      item.tooltip = `Serving ${e.session.model} (run ${e.session.runId}) at ${e.session.url}${e.local ? ' with local Python' : ''}. Click to stop it, open its API docs or copy a curl example.`;
      item.command = { command: Command.endpointActions, title: 'Endpoint Actions', arguments: [id] };
      item.show();
      this.items.set(id, item);
    }
  }

  dispose(): void {
    this.subscription.dispose();
    for (const item of this.items.values()) item.dispose();
    this.items.clear();
  }
}

export function statusText(e: Pick<Endpoint, 'session' | 'port'>): string {
  return `$(radio-tower) ${e.session.model} :${e.port}`;
}

/** Asks what to do with the endpoint, unless told (`action`, for automation). */
export async function endpointAction(endpoints: Endpoints, id: string | undefined, action?: EndpointAction): Promise<EndpointAction | undefined> {
  const e = await chooseEndpoint(endpoints, id);
  if (!e) return undefined;
  const chosen = action ?? (await pickAction(e));
  if (!chosen) return undefined;
  switch (chosen) {
    case 'stop':
      await vscode.window.withProgress({ location: vscode.ProgressLocation.Window, title: `Stopping ${e.session.model}` }, () => endpoints.stop(e.id));
      break;
    case 'docs':
      await vscode.env.openExternal(vscode.Uri.parse(e.session.docsUrl));
      break;
    case 'curl':
      await vscode.env.clipboard.writeText(e.session.curlExample);
      void vscode.window.setStatusBarMessage('Copied a curl example', 3000);
      break;
  }
  return chosen;
}

async function chooseEndpoint(endpoints: Endpoints, id: string | undefined): Promise<Endpoint | undefined> {
  if (id !== undefined) {
    const e = endpoints.get(id);
    if (!e) throw new Nb2prodError(`no endpoint runs at ${id} any more`, undefined, 'NOT_FOUND');
    return e;
  }
  const all = endpoints.list();
  if (all.length === 0) throw new Nb2prodError('no model endpoint is running: use Serve Model on a run first', undefined, 'NOT_FOUND');
  if (all.length === 1) return all[0];
  const picked = await vscode.window.showQuickPick(
    all.map((e) => ({ label: e.session.model, description: `${e.session.url} · run ${e.session.runId}`, endpoint: e })),
    { title: 'Model Endpoints', placeHolder: 'Endpoint' },
  );
  return picked?.endpoint;
}

async function pickAction(e: Endpoint): Promise<EndpointAction | undefined> {
  const items: (vscode.QuickPickItem & { action: EndpointAction })[] = [
    { label: '$(debug-stop) Stop', description: e.local ? 'ends the local server' : 'stops and removes the container', action: 'stop' },
    { label: '$(book) Open API Docs', description: e.session.docsUrl, action: 'docs' },
    { label: '$(copy) Copy curl Example', description: 'POST /predict with a sample body', action: 'curl' },
  ];
  const picked = await vscode.window.showQuickPick(items, { title: `${e.session.model} at ${e.session.url} (run ${e.session.runId})` });
  return picked?.action;
}
