/**
 * Tells which physical lines start a logical Python line. IPython only recognises `%magic`,
 * `!cmd` and `obj?` there: a `%` at the start of a line inside a triple-quoted string or
 * inside brackets is ordinary Python. This tracks just strings, comments, brackets and
 * backslash continuations; the real parse happens afterwards.
 */
export class LogicalLineTracker {
  private openQuote: string | undefined;
  private depth = 0;
  private continued = false;

  /** True when the next line fed to `feed` begins a new logical line. */
  get atLogicalStart(): boolean {
    return this.openQuote === undefined && this.depth === 0 && !this.continued;
  }

  /** Advances the state over one physical line of Python (without its newline). */
  feed(line: string): void {
    this.continued = false;
    let i = 0;
    while (i < line.length) {
      const ch = line[i];
      if (this.openQuote !== undefined) {
        if (ch === '\\') {
          i += 2;
          continue;
        }
        if (line.startsWith(this.openQuote, i)) {
          i += this.openQuote.length;
          this.openQuote = undefined;
          continue;
        }
        i += 1;
        continue;
      }
      if (ch === '#') break;
      if (ch === '"' || ch === "'") {
        const triple = ch.repeat(3);
        this.openQuote = line.startsWith(triple, i) ? triple : ch;
        i += this.openQuote.length;
        continue;
      }
      if (ch === '(' || ch === '[' || ch === '{') this.depth += 1;
      else if ((ch === ')' || ch === ']' || ch === '}') && this.depth > 0) this.depth -= 1;
      else if (ch === '\\' && i === line.length - 1) this.continued = true;
      i += 1;
    }
    // A single-quoted string cannot span lines (unless escaped at the end): the parser will
    // report it; do not let it swallow the rest of the cell.
    if (this.openQuote !== undefined && this.openQuote.length === 1 && !line.endsWith('\\')) {
      this.openQuote = undefined;
    }
  }
}
