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
import { readAll, readLastLine } from './fileBytes';

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
  /**
   * Run `fn` holding the store's lock, so nothing is appended meanwhile; `append` inside it writes
   * without taking the lock again. For work that must see a store nobody changes (gc).
   */
  exclusive<T>(fn: (append: (input: RecordInput) => LineageRecord) => T | Promise<T>): Promise<T>;
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

  exclusive<T>(fn: (append: (input: RecordInput) => LineageRecord) => T | Promise<T>): Promise<T> {
    // Queued like appends: this process's own appends wait for it instead of timing out on the lock.
    const next = this.queue.then(
      () => this.exclusiveLocked(fn),
      () => this.exclusiveLocked(fn),
    );
    this.queue = next.catch(() => undefined);
    return next;
  }

  private async exclusiveLocked<T>(fn: (append: (input: RecordInput) => LineageRecord) => T | Promise<T>): Promise<T> {
    fs.mkdirSync(path.dirname(this.file), { recursive: true });
    return withLock(this.lockFile, () => fn((input) => this.writeRecord(input)), this.options);
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
      const parents = parentsOf(input);
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
  private headHash = '';

  constructor(readonly file: string) {}

  /** Byte offset of the first unread byte. */
  get position(): number {
    return this.offset;
  }

  /** 1-based number of the first unread line. */
  get line(): number {
    return this.nextLine;
  }

  /** The store file's inode when it was last read: another inode is another file. */
  get inode(): number | undefined {
    return this.ino;
  }

  /** sha256 of the last complete line read ('' before any): it commits to every line before it. */
  get head(): string {
    return this.headHash;
  }

  /**
   * Continue from a point read earlier (a snapshot's): `ino` is the file it was read from, so a
   * file replaced since is read again from the start.
   */
  resumeAt(at: { offset: number; line: number; ino: number; head: string }): void {
    this.offset = at.offset;
    this.nextLine = at.line;
    this.ino = at.ino;
    this.headHash = at.head;
  }

  /** New complete lines as records (each parsed in full). */
  readNew(): ReadNewResult {
    const { buf, reset } = this.readBytes();
    if (!buf) return { records: [], lines: [], problems: [], reset };
    const chunk = parseChunk(buf, this.nextLine);
    this.advance(buf, chunk.consumed, chunk.lineCount);
    return { records: chunk.records, lines: chunk.lines, problems: chunk.problems, reset };
  }

  /** New complete lines as entries whose records are parsed on first use: what folding uses. */
  readNewEntries(): { entries: RecordEntry[]; problems: LineageProblem[]; reset: boolean } {
    const { buf, reset } = this.readBytes();
    if (!buf) return { entries: [], problems: [], reset };
    const chunk = scanChunk(buf, this.nextLine, this.offset);
    this.advance(buf, chunk.consumed, chunk.lineCount);
    return { entries: chunk.entries, problems: chunk.problems, reset };
  }

  private advance(buf: Buffer, consumed: number, lines: number): void {
    this.offset += consumed;
    this.nextLine += lines;
    // Hashed from the bytes actually read, so a snapshot never vouches for bytes it did not fold.
    if (consumed === 0) return;
    const lineStart = consumed >= 2 ? buf.lastIndexOf(10, consumed - 2) + 1 : 0;
    this.headHash = sha256(buf.subarray(lineStart, consumed - 1));
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
    this.headHash = '';
  }
}

function writeAll(fd: number, buf: Buffer): void {
  // One write call in practice; the loop only matters on a short write (disk full), still under the lock.
  let done = 0;
  while (done < buf.length) done += fs.writeSync(fd, buf, done, buf.length - done);
}

/** A record's parents: its version and build, for a reproduction the two runs it compares, for a serve the run. */
function parentsOf(input: RecordInput): string[] {
  const ids =
    input.type === 'reproduction'
      ? [input.original, input.reproduction]
      : input.type === 'serve'
        ? [input.run]
        : [input.type !== 'version' && input.type !== 'gc' ? input.versionId : undefined, input.type === 'run' || input.type === 'push' ? input.buildId : undefined];
  return ids.filter((p): p is string => typeof p === 'string' && p !== '');
}
