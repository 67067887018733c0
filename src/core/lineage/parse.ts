/** Turning bytes of the store into records, without ever throwing on a bad line. */
import type { LineageRecord } from './records';

export interface LineageProblem {
  /** 1-based line number in the store file. */
  line: number;
  kind: 'torn' | 'invalid-json' | 'invalid-record';
  message: string;
}

export interface ParsedChunk {
  records: LineageRecord[];
  /** Line number of each record, parallel to `records`. */
  lines: number[];
  problems: LineageProblem[];
  /** Bytes consumed: up to and including the last newline. A trailing partial line is not consumed. */
  consumed: number;
  /** Complete lines seen (including bad ones). */
  lineCount: number;
  /** A partial last line (no newline yet): a crash mid-write, or a write still landing. */
  tail?: { line: number; bytes: number };
}

const TYPES = new Set(['version', 'build', 'run', 'push', 'export', 'reproduction', 'gc', 'serve']);

/** Parse the complete lines in `buf`; `firstLine` is the 1-based number of its first line. */
export function parseChunk(buf: Buffer, firstLine: number): ParsedChunk {
  const lastNewline = buf.lastIndexOf(10);
  const consumed = lastNewline + 1;
  const out: ParsedChunk = { records: [], lines: [], problems: [], consumed, lineCount: 0 };
  if (consumed > 0) {
    // '\n' never occurs inside a UTF-8 multibyte sequence, so decoding the complete part is safe.
    const text = buf.toString('utf8', 0, lastNewline);
    let start = 0;
    let lineNo = firstLine;
    for (;;) {
      const end = text.indexOf('\n', start);
      const line = end === -1 ? text.slice(start) : text.slice(start, end);
      parseLine(line, lineNo, out);
      out.lineCount++;
      lineNo++;
      if (end === -1) break;
      start = end + 1;
    }
  }
  if (consumed < buf.length) {
    const line = firstLine + out.lineCount;
    out.tail = { line, bytes: buf.length - consumed };
    out.problems.push({
      line,
      kind: 'torn',
      message: `line ${line} is incomplete (${buf.length - consumed} bytes, no newline): a write was interrupted; skipped`,
    });
  }
  return out;
}

function parseLine(line: string, lineNo: number, out: ParsedChunk): void {
  const { record, problem } = parseRecordLine(line, lineNo);
  if (problem) out.problems.push(problem);
  else {
    out.records.push(record!);
    out.lines.push(lineNo);
  }
}

/** One complete line (without its newline) as a record, or the problem a full read reports for it. */
export function parseRecordLine(line: string, lineNo: number): { record?: LineageRecord; problem?: LineageProblem } {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    return {
      problem: {
        line: lineNo,
        kind: 'invalid-json',
        message: `line ${lineNo} is not valid JSON${line.length === 0 ? ' (empty)' : ' (a torn write, or an edit)'}; skipped`,
      },
    };
  }
  const why = invalidRecord(value);
  if (why) return { problem: { line: lineNo, kind: 'invalid-record', message: `line ${lineNo} is not a lineage record: ${why}; skipped` } };
  return { record: value as LineageRecord };
}

function invalidRecord(value: unknown): string | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return 'not an object';
  const r = value as Record<string, unknown>;
  if (typeof r.id !== 'string' || r.id === '') return 'no id';
  if (typeof r.type !== 'string' || !TYPES.has(r.type)) return `unknown type ${JSON.stringify(r.type)}`;
  if (typeof r.notebook !== 'string') return 'no notebook';
  if (typeof r.ts !== 'string') return 'no timestamp';
  if (!Array.isArray(r.parents)) r.parents = [];
  return undefined;
}
