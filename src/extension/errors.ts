/**
 * The one error handler every command runs behind: a typed (`Nb2prodError`) error becomes one
 * clear message with "Show Log"; cancellation is quiet; anything else is a bug and keeps its
 * stack in the log. Failures resolve to a `CommandFailure` instead of rejecting, so VS Code does
 * not add a second, generic notification, and programmatic callers can still tell what happened.
 */
import * as vscode from 'vscode';
import { CancelledError, Nb2prodError } from '../core/errors';
import type { OutputLog } from './log';

export interface CommandFailure {
  failed: true;
  code: string;
  message: string;
}

export function isCommandFailure(v: unknown): v is CommandFailure {
  return typeof v === 'object' && v !== null && (v as CommandFailure).failed === true;
}

/** A user-facing error with a button besides "Show Log" (e.g. "Manage Workspace Trust"). */
export class ActionableError extends Nb2prodError {
  constructor(
    message: string,
    code: string,
    readonly action: { title: string; command: string; args?: unknown[] },
  ) {
    super(message, undefined, code);
  }
}

export class ErrorHandler {
  constructor(private readonly log: OutputLog) {}

  /** Wraps a command implementation. */
  wrap<A extends unknown[], R>(name: string, fn: (...args: A) => Promise<R>): (...args: A) => Promise<R | CommandFailure> {
    return async (...args: A) => {
      try {
        return await fn(...args);
      } catch (e) {
        return this.report(name, e);
      }
    };
  }

  report(name: string, e: unknown): CommandFailure {
    if (e instanceof CancelledError || (e instanceof Error && e.name === 'AbortError')) {
      this.log.info(`${name}: cancelled`);
      return { failed: true, code: 'CANCELLED', message: 'cancelled' };
    }
    if (e instanceof Nb2prodError) {
      const text = e.describe();
      this.log.error(`${name}: ${text}`);
      const actions = e instanceof ActionableError ? [e.action.title, 'Show Log'] : ['Show Log'];
      this.notify(text, actions, e instanceof ActionableError ? e.action : undefined);
      return { failed: true, code: e.code, message: text };
    }
    const message = e instanceof Error ? e.message : String(e);
    this.log.error(e instanceof Error ? e : `${name}: ${message}`);
    this.notify(`nb2prod: ${name} failed unexpectedly: ${message}`, ['Show Log']);
    return { failed: true, code: 'INTERNAL', message };
  }

  /** Not awaited: a toast stays until dismissed and must not hold the command open. */
  private notify(text: string, actions: string[], action?: ActionableError['action']): void {
    void vscode.window.showErrorMessage(text, ...actions).then((picked) => {
      if (picked === 'Show Log') this.log.show();
      else if (picked && action) void vscode.commands.executeCommand(action.command, ...(action.args ?? []));
    });
  }
}
