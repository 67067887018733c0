/** Long work in a cancellable notification, with the Cancel button wired to an AbortSignal. */
import * as vscode from 'vscode';

export type Report = (message: string) => void;

export function withCancellableProgress<T>(title: string, task: (signal: AbortSignal, report: Report) => Promise<T>): Thenable<T> {
  return vscode.window.withProgress(
    { location: vscode.ProgressLocation.Notification, title, cancellable: true },
    async (progress, token) => {
      const controller = new AbortController();
      const sub = token.onCancellationRequested(() => controller.abort());
      try {
        return await task(controller.signal, (message) => progress.report({ message }));
      } finally {
        sub.dispose();
      }
    },
  );
}
