/** What a CLI command gets from the shell: no globals, so commands are testable in-process. */
export interface CliContext {
  cwd: string;
  env: NodeJS.ProcessEnv;
  out: (line: string) => void;
  err: (line: string) => void;
  /** Fires on Ctrl-C; commands pass it into the core, which throws CancelledError. */
  signal: AbortSignal;
}

/** Exit codes: 0 ok, 1 the input cannot be processed, 2 usage error, 130 cancelled. */
export const EXIT = { ok: 0, failed: 1, usage: 2, cancelled: 130 } as const;

export class UsageError extends Error {}


