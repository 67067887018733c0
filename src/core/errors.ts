/** Where in a notebook something happened. `cell` is the 0-based cell index, `line` 1-based within the cell. */
export interface CellLocation {
  file: string;
  cell?: number;
  cellId?: string;
  line?: number;
  column?: number;
}

export type Severity = 'error' | 'warning' | 'info';

export interface Diagnostic {
  severity: Severity;
  message: string;
  cell?: number;
  cellId?: string;
  line?: number;
  column?: number;
}

/** An error a user can act on: it always says where. Everything else is a bug. */
export class Nb2prodError extends Error {
  constructor(
    message: string,
    readonly location?: CellLocation,
    readonly code: string = 'NB2PROD',
  ) {
    super(message);
    this.name = 'Nb2prodError';
  }

  /** `file, cell 3 (id abc), line 2: message` */
  describe(): string {
    return formatLocated(this.message, this.location);
  }
}

export function formatLocated(message: string, loc?: CellLocation): string {
  if (!loc) return message;
  const parts = [loc.file];
  if (loc.cell !== undefined) parts.push(`cell ${loc.cell}${loc.cellId ? ` (id ${loc.cellId})` : ''}`);
  if (loc.line !== undefined) parts.push(`line ${loc.line}${loc.column !== undefined ? `:${loc.column}` : ''}`);
  return `${parts.join(', ')}: ${message}`;
}

/** Raised when an AbortSignal fires; the CLI maps it to exit code 130. */
export class CancelledError extends Nb2prodError {
  constructor(what = 'Operation') {
    super(`${what} cancelled`, undefined, 'CANCELLED');
    this.name = 'CancelledError';
  }
}
