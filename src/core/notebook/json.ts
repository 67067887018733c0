import { Nb2prodError } from '../errors';

/** JSON.parse with a located error (line and column of the offending character). */
export function parseJsonLocated(text: string, file: string): unknown {
  try {
    return JSON.parse(text);
  } catch (e) {
    const message = e instanceof Error ? e.message : String(e);
    const pos = positionOf(message, text);
    if (pos === undefined) throw new Nb2prodError(`not valid JSON (${message})`, { file });
    const { line, column } = lineColumn(text, pos);
    throw new Nb2prodError(`not valid JSON at line ${line}, column ${column}: ${message.replace(/ in JSON at position \d+.*$/, '')}`, {
      file,
      line,
      column,
    });
  }
}

function positionOf(message: string, text: string): number | undefined {
  const m = /at position (\d+)/.exec(message);
  if (m) return Number(m[1]);
  if (/Unexpected end of JSON input/.test(message)) return text.length;
  return undefined;
}

export function lineColumn(text: string, pos: number): { line: number; column: number } {
  let line = 1;
  let lineStart = 0;
  for (let i = text.indexOf('\n'); i !== -1 && i < pos; i = text.indexOf('\n', i + 1)) {
    line++;
    lineStart = i + 1;
  }
  return { line, column: pos - lineStart + 1 };
}
