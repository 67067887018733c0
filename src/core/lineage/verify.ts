/**
 * Checking the audit chain of the whole store. The first line that breaks it is named with its line
 * number and id, and the reason says what most likely happened (an edit, a deletion).
 *
 * Known limit: a chain without an outside anchor cannot show that its last lines were removed, or
 * that the whole file was rewritten consistently. `head` is what to anchor (e.g. in a commit message).
 */
import * as fs from 'fs';
import { expectedId, sha256 } from './chain';

export interface ChainBreak {
  line: number;
  id?: string;
  reason: string;
}

export interface VerifyResult {
  ok: boolean;
  /** Complete lines checked. */
  lines: number;
  /** Records whose id and link both check out. */
  records: number;
  /** sha256 of the last complete line: the value that anchors the whole chain. */
  head: string;
  break?: ChainBreak;
  /** Not breaks: a torn last line, a torn line closed and chained by a later append. */
  warnings: string[];
}

export function verifyStore(file: string): VerifyResult {
  let buf: Buffer;
  try {
    buf = fs.readFileSync(file);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return { ok: true, lines: 0, records: 0, head: '', warnings: ['no lineage store yet'] };
    throw e;
  }
  return verifyBytes(buf);
}

export function verifyBytes(buf: Buffer): VerifyResult {
  const result: VerifyResult = { ok: true, lines: 0, records: 0, head: '', warnings: [] };
  const complete = buf.lastIndexOf(10) + 1;
  let prevHash = '';
  let prevId: string | undefined;
  let start = 0;
  let lineNo = 0;
  while (start < complete) {
    const end = buf.indexOf(10, start);
    const bytes = buf.subarray(start, end);
    lineNo++;
    const hash = sha256(bytes);
    const isLast = end + 1 === complete;
    let value: Record<string, unknown> | undefined;
    try {
      const parsed = JSON.parse(bytes.toString('utf8'));
      if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) value = parsed;
    } catch {
      value = undefined;
    }
    if (!value) {
      // We only ever write a non-record line by closing a torn write, and the next append chains to it.
      // A non-record last line, or one nothing chains to, was not written by us.
      const next = isLast ? undefined : nextPrev(buf, end + 1);
      if (next !== hash) return broken(result, lineNo, undefined, `line ${lineNo} is not a record and the next line does not chain to it: it was edited or inserted`);
      result.warnings.push(`line ${lineNo} is a torn write closed by a later append (kept in the chain, skipped on read)`);
    } else {
      const id = typeof value.id === 'string' ? value.id : undefined;
      if (value.prev !== prevHash) {
        const reason =
          lineNo === 1
            ? `line 1${id ? ` (id ${id})` : ''} should start the chain but links to an earlier line: lines before it were deleted`
            : `line ${lineNo}${id ? ` (id ${id})` : ''} does not chain to line ${lineNo - 1}${prevId ? ` (id ${prevId})` : ''}: a line between them was deleted or inserted, or line ${lineNo - 1} was rewritten`;
        return broken(result, lineNo, id, reason);
      }
      if (id === undefined || expectedId(value) !== id) {
        return broken(result, lineNo, id, `line ${lineNo}${id ? ` (id ${id})` : ''} was edited: its content no longer matches its id`);
      }
      result.records++;
      prevId = id;
    }
    prevHash = hash;
    start = end + 1;
  }
  result.lines = lineNo;
  result.head = prevHash;
  if (complete < buf.length) {
    result.warnings.push(`line ${lineNo + 1} is incomplete (${buf.length - complete} bytes): a write was interrupted; it is skipped and the next append closes it`);
  }
  return result;
}

function nextPrev(buf: Buffer, start: number): string | undefined {
  const end = buf.indexOf(10, start);
  if (end === -1) return undefined;
  try {
    const v = JSON.parse(buf.subarray(start, end).toString('utf8'));
    return typeof v?.prev === 'string' ? v.prev : undefined;
  } catch {
    return undefined;
  }
}

function broken(result: VerifyResult, line: number, id: string | undefined, reason: string): VerifyResult {
  return { ...result, ok: false, lines: line, head: '', break: { line, id, reason } };
}
