/**
 * The append-only store: `.nb2prod/lineage.jsonl` in the workspace root.
 *
 * An append takes the cross-process lock, reads only the last line (seeking back from the end) to
 * chain to it, and writes the new line with one `write` on an O_APPEND descriptor, then fsyncs.
 * Readers never take the lock: they only consume complete lines.
 */
import * as fs from 'fs';
import * as path from 'path';
import { withLock, LockOptions } from './lock';
import { sealRecord, sha256 } from './chain';
import { parseChunk, LineageProblem } from './parse';
import type { LineageRecord, RecordInput } from './records';
import { scanChunk, RecordEntry } from './scan';

export const STORE_DIR = '.nb2prod';
export const STORE_FILE = 'lineage.jsonl';

export interface StoreOptions extends LockOptions {
  /** fsync after each append (default true): an audit trail should survive a power cut. */
  durable?: boolean;
  /** Clock for tests. */
  now?: () => Date;
}

export interface ReadResult {
  records: LineageRecord[];
  /** 1-based line number of each record, parallel to `records`. */
  lines: number[];
  problems: LineageProblem[];
}

export interface ReadNewResult extends ReadResult {
  /** The file was replaced or truncated: everything was re-read from the start, rebuild the model. */
  reset: boolean;
}

export interface LineageStore {
  readonly workspaceDir: string;
  readonly file: string;
  append(input: RecordInput): Promise<LineageRecord>;
  /** Read the whole store. Never throws on content; a missing file is an empty store. */
  read(): ReadResult;
  /** A reader that returns only what was appended since its last call. */
  reader(): LineageReader;
}

export function storePath(workspaceDir: string): string {
  return path.join(workspaceDir, STORE_DIR, STORE_FILE);
}

export function openStore(workspaceDir: string, options: StoreOptions = {}): LineageStore {
  return new FileStore(path.resolve(workspaceDir), options);
}

class FileStore implements LineageStore {
  readonly file: string;
  private readonly lockFile: string;
  // Appends from one process queue here instead of spinning on the lock file against each other.
  private queue: Promise<unknown> = Promise.resolve();

  constructor(
    readonly workspaceDir: string,
    private readonly options: StoreOptions,
  ) {
    this.file = storePath(workspaceDir);
    this.lockFile = this.file + '.lock';
  }

  append(input: RecordInput): Promise<LineageRecord> {
    const next = this.queue.then(
      () => this.appendLocked(input),
      () => this.appendLocked(input),
    );
    this.queue = next.catch(() => undefined);
    return next;
  }

  private async appendLocked(input: RecordInput): Promise<LineageRecord> {
    fs.mkdirSync(path.dirname(this.file), { recursive: true });
    return withLock(this.lockFile, () => this.writeRecord(input), this.options);
  }

  private writeRecord(input: RecordInput): LineageRecord {
    const fd = fs.openSync(this.file, 'a+');
    try {
      const size = fs.fstatSync(fd).size;
      const last = readLastLine(fd, size);
      const parents = [input.type !== 'version' ? input.versionId : undefined, input.type === 'run' ? input.buildId : undefined].filter(
        (p): p is string => typeof p === 'string' && p !== '',
      );
      const ts = (this.options.now?.() ?? new Date()).toISOString();
      const { record, line } = sealRecord(input, { ts, parents, prev: last ? sha256(last.bytes) : '' });
      // A torn last line (crash mid-write) is kept as evidence and closed with a newline; we chain to
      // its bytes, so the chain still commits to everything in the file.
      const text = (last && !last.terminated ? '\n' : '') + line + '\n';
      writeAll(fd, Buffer.from(text, 'utf8'));
      if (this.options.durable !== false) fs.fdatasyncSync(fd);
      return record;
    } finally {
      fs.closeSync(fd);
    }
  }

  read(): ReadResult {
    const { records, lines, problems } = this.reader().readNew();
    return { records, lines, problems };
  }

  reader(): LineageReader {
    return new LineageReader(this.file);
  }
}

/**
 * Incremental reader: remembers the byte offset and line number it reached, and reads only the
 * bytes appended since. A partial last line is left for the next call (it may still be landing).
 */
export class LineageReader {
  private offset = 0;
  private nextLine = 1;
  private ino: number | undefined;

  constructor(readonly file: string) {}

  /** Byte offset of the first unread byte. */
  get position(): number {
    return this.offset;
  }

  /** New complete lines as records (each parsed in full). */
  readNew(): ReadNewResult {
    const { buf, reset } = this.readBytes();
    if (!buf) return { records: [], lines: [], problems: [], reset };
    const chunk = parseChunk(buf, this.nextLine);
    this.advance(chunk.consumed, chunk.lineCount);
    return { records: chunk.records, lines: chunk.lines, problems: chunk.problems, reset };
  }

  /** New complete lines as entries whose records are parsed on first use: what folding uses. */
  readNewEntries(): { entries: RecordEntry[]; problems: LineageProblem[]; reset: boolean } {
    const { buf, reset } = this.readBytes();
    if (!buf) return { entries: [], problems: [], reset };
    const chunk = scanChunk(buf, this.nextLine);
    this.advance(chunk.consumed, chunk.lineCount);
    return { entries: chunk.entries, problems: chunk.problems, reset };
  }

  private advance(consumed: number, lines: number): void {
    this.offset += consumed;
    this.nextLine += lines;
  }

  /** The bytes after the offset; rewinds first when the file was replaced or truncated. */
  private readBytes(): { buf?: Buffer; reset: boolean } {
    let fd: number;
    try {
      fd = fs.openSync(this.file, 'r');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') {
        const reset = this.offset > 0;
        this.rewind();
        return { reset };
      }
      throw e;
    }
    try {
      const st = fs.fstatSync(fd);
      let reset = false;
      if ((this.ino !== undefined && st.ino !== this.ino) || st.size < this.offset) {
        this.rewind();
        reset = true;
      }
      this.ino = st.ino;
      const length = st.size - this.offset;
      if (length <= 0) return { reset };
      const buf = Buffer.allocUnsafe(length);
      const got = readAll(fd, buf, this.offset);
      return { buf: buf.subarray(0, got), reset };
    } finally {
      fs.closeSync(fd);
    }
  }

  private rewind(): void {
    this.offset = 0;
    this.nextLine = 1;
    this.ino = undefined;
  }
}

/** The last line's bytes (without newline), whether a newline ended it, or undefined for an empty file. */
function readLastLine(fd: number, size: number): { bytes: Buffer; terminated: boolean } | undefined {
  if (size === 0) return undefined;
  const chunks: Buffer[] = [];
  let pos = size;
  let terminated: boolean | undefined;
  // Lines are small (a few KB); read backwards in blocks until the newline before the last line.
  const block = 16 * 1024;
  for (;;) {
    const start = Math.max(0, pos - block);
    const buf = Buffer.allocUnsafe(pos - start);
    readAll(fd, buf, start);
    let searchEnd = buf.length - 1;
    if (terminated === undefined) {
      terminated = buf[buf.length - 1] === 10;
      if (terminated) searchEnd--; // skip the final newline itself
    }
    const nl = searchEnd >= 0 ? buf.lastIndexOf(10, searchEnd) : -1;
    if (nl !== -1) {
      chunks.unshift(buf.subarray(nl + 1));
      break;
    }
    chunks.unshift(buf);
    pos = start;
    if (pos === 0) break;
  }
  let bytes = Buffer.concat(chunks);
  if (terminated) bytes = bytes.subarray(0, bytes.length - 1);
  return { bytes, terminated: terminated === true };
}

function readAll(fd: number, buf: Buffer, position: number): number {
  let done = 0;
  while (done < buf.length) {
    const n = fs.readSync(fd, buf, done, buf.length - done, position + done);
    if (n === 0) break;
    done += n;
  }
  return done;
}

function writeAll(fd: number, buf: Buffer): void {
  // One write call in practice; the loop only matters on a short write (disk full), still under the lock.
  let done = 0;
  while (done < buf.length) done += fs.writeSync(fd, buf, done, buf.length - done);
}
