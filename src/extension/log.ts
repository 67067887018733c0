/**
 * One LogOutputChannel for the extension. The core logs through the small `Log` interface, so it
 * never sees `vscode`; secrets (URL credentials, tokens) are redacted before anything is written.
 */
import * as vscode from 'vscode';

export interface Log {
  trace(message: string): void;
  debug(message: string): void;
  info(message: string): void;
  warn(message: string): void;
  error(message: string | Error): void;
}

const SECRETS: [RegExp, string][] = [
  [/(\b[a-z][a-z0-9+.-]*:\/\/)[^/\s:@]+:[^/\s@]+@/gi, '$1***@'], // scheme://user:password@host
  [/\b(token|password|passwd|secret|api[_-]?key)(\s*[=:]\s*)("?)[^\s"&]+/gi, '$1$2$3***'],
  [/\bgh[pousr]_[A-Za-z0-9]{20,}\b/g, '***'],
];

export function redact(text: string): string {
  return SECRETS.reduce((t, [re, by]) => t.replace(re, by), text);
}

export class OutputLog implements Log, vscode.Disposable {
  readonly channel: vscode.LogOutputChannel;

  constructor(name: string) {
    this.channel = vscode.window.createOutputChannel(name, { log: true });
  }

  trace(message: string): void {
    this.channel.trace(redact(message));
  }
  debug(message: string): void {
    this.channel.debug(redact(message));
  }
  info(message: string): void {
    this.channel.info(redact(message));
  }
  warn(message: string): void {
    this.channel.warn(redact(message));
  }
  error(message: string | Error): void {
    this.channel.error(redact(message instanceof Error ? (message.stack ?? message.message) : message));
  }
  /** Raw build/run output, line by line, as the engine streams it. */
  stream(text: string): void {
    for (const line of text.split(/\r?\n/)) if (line.trim()) this.channel.info(redact(line));
  }
  show(): void {
    this.channel.show(true);
  }
  dispose(): void {
    this.channel.dispose();
  }
}
