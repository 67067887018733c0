/**
 * Fast scanning for the model: a record's header (id, type, time, notebook, version and build
 * ids, status) is read from the start of its line, and the full record is parsed only when
 * something asks for it. JSON-parsing every line of a 100k-record store and keeping the objects
 * costs seconds (and GC time); the fold needs a few fields per line.
 *
 * Only lines shaped exactly as `sealRecord` writes them take the fast path; anything else
 * (older or hand-written lines) is parsed in full, with the same problems reported as `parseChunk`.
 */
import type { LineageRecord } from './records';
import { parseChunk, LineageProblem } from './parse';

export type RecordType = LineageRecord['type'];

/** What folding needs from a record, plus the record itself on demand. */
export interface RecordEntry {
  readonly id: string;
  readonly type: RecordType;
  readonly ts: string;
  readonly notebook: string;
  readonly versionId?: string;
  readonly buildId?: string;
  readonly status?: string;
  /** 1-based line in the store (0 when the entry did not come from the file). */
  readonly line: number;
  /** Byte span of the line in the store (`end` is its newline); both 0 when not from the file. */
  readonly start: number;
  readonly end: number;
  /** The whole record, parsed on first use and then kept. */
  readonly record: LineageRecord;
}

/** Where a lazy entry's line is read from when its record is first asked for. */
export interface LineSource {
  /** The line's text, or undefined when it can no longer be read as it was scanned. */
  text(start: number, end: number): string | undefined;
}

/** A chunk of the store held in memory; `base` is the file offset of its first byte. */
export class ChunkSource implements LineSource {
  constructor(
    // Off the JS heap, so the GC does not walk it.
    private readonly buf: Buffer,
    private readonly base: number,
  ) {}
  text(start: number, end: number): string {
    return this.buf.toString('utf8', start - this.base, end - this.base);
  }
}

export interface ScannedChunk {
  entries: RecordEntry[];
  problems: LineageProblem[];
  consumed: number;
  lineCount: number;
}

// The header is read straight from the bytes, not through a decoded string and a regex: strings
// sliced out of a larger string keep it alive, and at 100k lines that garbage costs more GC time
// than everything else the scan does.
const lit = (s: string) => Buffer.from(s, 'latin1');
const ID_OPEN = lit('{"id":"');
const TYPE_OPEN = lit('","type":"');
const TS_OPEN = lit('","ts":"');
const NOTEBOOK_OPEN = lit('","notebook":"');
const OPTIONAL: { key: 'versionId' | 'buildId' | 'status'; open: Buffer }[] = [
  { key: 'versionId', open: lit(',"versionId":"') },
  { key: 'buildId', open: lit(',"buildId":"') },
  { key: 'status', open: lit(',"status":"') },
];
// Every line we write ends with `,"prev":"<sha256 or empty>"}`: a line cut short and later closed does not.
const PREV_OPEN = lit(',"prev":"');
const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const TYPES: Record<string, RecordType> = { version: 'version', build: 'build', run: 'run', push: 'push', export: 'export', reproduction: 'reproduction', gc: 'gc', serve: 'serve' };

class EagerEntry implements RecordEntry {
  readonly id: string;
  readonly type: RecordType;
  readonly ts: string;
  readonly notebook: string;
  readonly versionId?: string;
  readonly buildId?: string;
  readonly status?: string;
  constructor(
    readonly record: LineageRecord,
    readonly line: number,
    readonly start = 0,
    readonly end = 0,
  ) {
    this.id = record.id;
    this.type = record.type;
    this.ts = record.ts;
    this.notebook = record.notebook;
    if (record.type !== 'version' && record.type !== 'gc') this.versionId = record.versionId;
    if (record.type === 'run' || record.type === 'push') this.buildId = record.buildId;
    if (record.type === 'build' || record.type === 'run' || record.type === 'push' || record.type === 'reproduction') this.status = record.status;
  }
}

export class LazyEntry implements RecordEntry {
  private parsed?: LineageRecord;
  constructor(
    readonly id: string,
    readonly type: RecordType,
    readonly ts: string,
    readonly notebook: string,
    readonly versionId: string | undefined,
    readonly buildId: string | undefined,
    readonly status: string | undefined,
    readonly line: number,
    private readonly source: LineSource,
    readonly start: number,
    readonly end: number,
  ) {}

  get record(): LineageRecord {
    if (!this.parsed) this.parsed = this.parse();
    return this.parsed;
  }

  /** The line as it is in the store, or undefined when it is no longer there (the file was rewritten). */
  lineText(): string | undefined {
    const text = this.source.text(this.start, this.end);
    // Lines read back from the file later (a snapshot's) must still be the line that was scanned.
    return text?.startsWith(`{"id":"${this.id}"`) ? text : undefined;
  }

  /** Keep a record parsed from this line elsewhere (a strict check) instead of parsing it again. */
  adopt(record: LineageRecord): void {
    this.parsed = record;
  }

  private parse(): LineageRecord {
    const text = this.lineText();
    if (text === undefined) return this.headerOnly(`line ${this.line} changed in the store after it was read; only its header is known`);
    try {
      return JSON.parse(text) as LineageRecord;
    } catch (e) {
      // A line whose start and end look right but whose middle was damaged: keep what the header
      // says so the tree still shows it; `verify` names the line.
      return this.headerOnly(`line ${this.line} could not be parsed (${(e as Error).message}); only its header is known`);
    }
  }

  private headerOnly(note: string): LineageRecord {
    const base = { id: this.id, ts: this.ts, notebook: this.notebook, parents: [], prev: '', notes: [note] };
    if (this.type === 'version') return { ...base, type: 'version', notebookHash: '', planHash: '', outDir: '', package: '', files: [], steps: [], data: [] };
    if (this.type === 'build')
      return { ...base, type: 'build', versionId: this.versionId, contextHash: '', dockerfileHash: '', baseImage: '', tags: [], seconds: 0, status: (this.status ?? 'failed') as 'failed', error: note };
    if (this.type === 'push')
      return { ...base, type: 'push', versionId: this.versionId, buildId: this.buildId, status: 'succeeded', registry: '', reference: '', digest: '', imageId: '', contextHash: '', seconds: 0 };
    if (this.type === 'reproduction')
      return {
        ...base,
        type: 'reproduction',
        versionId: this.versionId,
        status: (this.status ?? 'failed') as 'failed',
        original: '',
        reproduction: '',
        originalRunId: '',
        reproductionRunId: '',
        local: true,
        counts: { same: 0, differs: 0, new: 0, missing: 0 },
        entries: [],
        nondeterministic: [],
      };
    if (this.type === 'gc') return { ...base, notebook: '', type: 'gc', pruned: [], bytes: 0, keepRuns: 0, keepDays: 0 };
    if (this.type === 'serve') return { ...base, type: 'serve', versionId: this.versionId, run: '', runId: '', model: '', hash: '', local: true, artifacts: [] };
    if (this.type === 'export') return { ...base, type: 'export', versionId: this.versionId, target: 'kfp', file: '', sha256: '', bytes: 0, image: '', imageSource: 'local' };
    return { ...base, type: 'run', versionId: this.versionId, buildId: this.buildId, runId: '', local: true, params: {}, steps: [], artifacts: [], metrics: {}, status: (this.status ?? 'failed') as 'failed', error: note };
  }
}

export function entryOf(record: LineageRecord, line = 0, start = 0, end = 0): RecordEntry {
  return new EagerEntry(record, line, start, end);
}

/** Scan the complete lines of `buf` (whose first line is `firstLine`, at file offset `base`). */
export function scanChunk(buf: Buffer, firstLine: number, base = 0): ScannedChunk {
  const source = new ChunkSource(buf, base);
  // Notebook paths, parent ids and statuses repeat on many lines: keep one copy of each, since what
  // a scan retains (not what it allocates) is what the GC pays for.
  const intern = new Map<string, string>();
  const lastNewline = buf.lastIndexOf(10);
  const out: ScannedChunk = { entries: [], problems: [], consumed: lastNewline + 1, lineCount: 0 };
  let start = 0;
  let line = firstLine;
  while (start <= lastNewline) {
    const end = buf.indexOf(10, start);
    const entry = fastEntry(buf, start, end, line, intern, source, base);
    if (entry) out.entries.push(entry);
    else {
      // Slow path: the same parsing and problem reports as a full read.
      const one = parseChunk(buf.subarray(start, end + 1), line);
      out.problems.push(...one.problems);
      for (let i = 0; i < one.records.length; i++) out.entries.push(new EagerEntry(one.records[i], one.lines[i], base + start, base + end));
    }
    out.lineCount++;
    line++;
    start = end + 1;
  }
  if (out.consumed < buf.length) {
    const torn = parseChunk(buf.subarray(out.consumed), line);
    out.problems.push(...torn.problems);
  }
  return out;
}

function fastEntry(buf: Buffer, start: number, end: number, line: number, intern: Map<string, string>, source: LineSource, base: number): RecordEntry | undefined {
  if (end - start < 80 || !endsWithPrev(buf, start, end)) return undefined;
  if (!at(buf, start, ID_OPEN)) return undefined;
  let pos = start + ID_OPEN.length;
  const idEnd = pos + 16;
  if (idEnd > end || buf[idEnd] !== QUOTE) return undefined;
  for (let i = pos; i < idEnd; i++) if (!isHex(buf[i])) return undefined;
  const id = buf.toString('latin1', pos, idEnd);
  pos = idEnd;

  if (!at(buf, pos, TYPE_OPEN)) return undefined;
  pos += TYPE_OPEN.length;
  let close = plainStringEnd(buf, pos, end);
  const type = close === -1 ? undefined : TYPES[buf.toString('latin1', pos, close)];
  if (!type) return undefined;
  pos = close;

  if (!at(buf, pos, TS_OPEN)) return undefined;
  pos += TS_OPEN.length;
  close = plainStringEnd(buf, pos, end);
  if (close === -1) return undefined;
  const ts = buf.toString('latin1', pos, close);
  pos = close;

  if (!at(buf, pos, NOTEBOOK_OPEN)) return undefined;
  pos += NOTEBOOK_OPEN.length;
  let escaped = false;
  close = pos;
  while (close < end && buf[close] !== QUOTE) {
    if (buf[close] === BACKSLASH) {
      escaped = true;
      close++;
    }
    close++;
  }
  if (close >= end) return undefined;
  const notebook = once(intern, escaped ? (JSON.parse(buf.toString('utf8', pos - 1, close + 1)) as string) : buf.toString('utf8', pos, close));
  pos = close + 1;

  const optional: Partial<Record<'versionId' | 'buildId' | 'status', string>> = {};
  for (const { key, open } of OPTIONAL) {
    if (!at(buf, pos, open)) continue;
    const from = pos + open.length;
    close = plainStringEnd(buf, from, end);
    if (close === -1) return undefined;
    optional[key] = once(intern, buf.toString('latin1', from, close));
    pos = close + 1;
  }
  if (buf[pos] !== 0x2c && buf[pos] !== 0x7d) return undefined; // `,` or `}`
  return new LazyEntry(id, type, ts, notebook, optional.versionId, optional.buildId, optional.status, line, source, base + start, base + end);
}

function once(intern: Map<string, string>, value: string): string {
  const known = intern.get(value);
  if (known !== undefined) return known;
  intern.set(value, value);
  return value;
}

/** Index of the closing quote of a string without escapes or non-ASCII, or -1. */
function plainStringEnd(buf: Buffer, from: number, end: number): number {
  for (let i = from; i < end; i++) {
    const c = buf[i];
    if (c === QUOTE) return i;
    if (c === BACKSLASH || c >= 0x80 || c < 0x20) return -1;
  }
  return -1;
}

function at(buf: Buffer, pos: number, expected: Buffer): boolean {
  if (pos + expected.length > buf.length) return false;
  for (let i = 0; i < expected.length; i++) if (buf[pos + i] !== expected[i]) return false;
  return true;
}

function isHex(c: number): boolean {
  return (c >= 0x30 && c <= 0x39) || (c >= 0x61 && c <= 0x66);
}

function endsWithPrev(buf: Buffer, start: number, end: number): boolean {
  if (buf[end - 1] !== 0x7d || buf[end - 2] !== QUOTE) return false;
  // `,"prev":""}` (first line) or `,"prev":"<64 hex>"}`
  if (end - start > PREV_OPEN.length + 2 && at(buf, end - 2 - PREV_OPEN.length, PREV_OPEN)) return true;
  const open = end - 2 - 64 - PREV_OPEN.length;
  if (open < start || !at(buf, open, PREV_OPEN)) return false;
  for (let i = end - 66; i < end - 2; i++) if (!isHex(buf[i])) return false;
  return true;
}
