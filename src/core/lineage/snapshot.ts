/**
 * A derived snapshot of a fold, next to the store (`.nb2prod/lineage.snapshot.json`), so a first
 * load reads only the lines appended since instead of the whole file.
 *
 * It holds the fold's input in columns: each scanned line's header fields and byte span (records
 * are parsed from the store on demand, as after a scan), the records of lines that were parsed in
 * full, and the problems met. Folding those headers again is cheap and is the same code as
 * folding a scan, so a snapshot cannot make the model differ from a full read.
 *
 * It is trusted only for the file it was made from: same inode, at least as long, and the line that
 * ends at its offset hashes to the recorded head (that line chains, through `prev`, to all before
 * it). Anything else (missing, corrupt, another format, a rewritten or truncated store) is ignored
 * and the store is read from the start. Deleting it only costs time. The store is append-only, so a
 * snapshot stays valid for its offset whatever other processes append: writers need no lock.
 */
import * as fs from 'fs';
import * as path from 'path';
import { sha256 } from './chain';
import { readLastLine, withOpenFile } from './fileBytes';
import type { LineageProblem } from './parse';
import type { LineageRecord } from './records';
import { entryOf, LazyEntry, RecordEntry, RecordType } from './scan';
import { StoreWindows } from './storeWindows';

export const SNAPSHOT_FILE = 'lineage.snapshot.json';
/** Bump when the encoding or what folding reads from an entry changes: older snapshots are then ignored. */
export const SNAPSHOT_FORMAT = 1;

/** The reader's position when the snapshot was taken. */
export interface SnapshotPoint {
  /** Bytes folded: always just after a newline. */
  offset: number;
  /** 1-based number of the next line. */
  line: number;
  ino: number;
  /** sha256 of the line that ends at `offset`. */
  head: string;
}

export interface Snapshot {
  at: SnapshotPoint;
  /** Every entry was checked as a full read would (see check.ts), and `damaged` is complete. */
  checked: boolean;
  /** Every complete line scanned as a record, in file order (duplicates and damaged lines included). */
  entries: RecordEntry[];
  /** Index in `entries` of a line whose body does not parse, with what a full read reports for it. */
  damaged: Map<number, LineageProblem>;
  /** Problems the scan reported (lines that are not records); never a torn tail. */
  problems: LineageProblem[];
}

export function snapshotPath(storeFile: string): string {
  return path.join(path.dirname(storeFile), SNAPSHOT_FILE);
}

/** The snapshot for this store file, or undefined when there is none it can be trusted for. */
export function readSnapshot(storeFile: string): Snapshot | undefined {
  let encoded: Encoded;
  try {
    encoded = JSON.parse(fs.readFileSync(snapshotPath(storeFile), 'utf8')) as Encoded;
  } catch {
    return undefined;
  }
  if (encoded?.format !== SNAPSHOT_FORMAT || !matchesStore(storeFile, encoded.at)) return undefined;
  try {
    return decode(encoded, new StoreWindows(storeFile, encoded.at.ino, encoded.at.offset));
  } catch {
    return undefined;
  }
}

/** Write atomically (a reader sees the old snapshot or the new one); false when it could not be written. */
export function writeSnapshot(storeFile: string, snapshot: Snapshot): boolean {
  const file = snapshotPath(storeFile);
  const temp = `${file}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
  try {
    fs.writeFileSync(temp, JSON.stringify(encode(snapshot)));
    fs.renameSync(temp, file);
    keepOutOfGit(path.dirname(file));
    return true;
  } catch {
    // A derived file: a read-only workspace or a full disk only costs the next load its speed.
    fs.rmSync(temp, { force: true });
    return false;
  }
}

/**
 * The store is the audit trail users may commit; the snapshot is a derived cache that can reach
 * megabytes. A .gitignore of our own in `.nb2prod/` keeps it (and stray temp files) out of commits.
 */
function keepOutOfGit(dir: string): void {
  try {
    fs.writeFileSync(path.join(dir, '.gitignore'), `${SNAPSHOT_FILE}\n${SNAPSHOT_FILE}.*.tmp\n`, { flag: 'wx' });
  } catch {
    // Already there (perhaps edited by the user, which we respect) or not writable.
  }
}

function matchesStore(storeFile: string, at: SnapshotPoint | undefined): boolean {
  if (!at || !Number.isSafeInteger(at.offset) || at.offset <= 0 || !Number.isSafeInteger(at.line) || typeof at.head !== 'string') return false;
  const matches = withOpenFile(storeFile, (fd) => {
    const st = fs.fstatSync(fd);
    if (st.ino !== at.ino || st.size < at.offset) return false;
    const last = readLastLine(fd, at.offset);
    return last !== undefined && last.terminated && sha256(last.bytes) === at.head;
  });
  return matches === true;
}

// ---- encoding ----

/** Columns rather than one object per entry: a tenth of the parse time at 100k entries. */
interface Encoded {
  format: number;
  at: SnapshotPoint;
  checked: boolean;
  /** Notebook paths, ids and statuses that several entries name, each once. */
  strings: string[];
  ids: string[];
  /** One letter per entry: v, b, r, p, e, x (reproduction), g (gc) or s (serve). */
  types: string;
  ts: string[];
  notebook: number[];
  /** Index into `strings`, or -1 when absent. */
  versionId: number[];
  buildId: number[];
  status: number[];
  lines: number[];
  starts: number[];
  ends: number[];
  /** Entries whose line did not take the scan's fast path: their records as parsed. */
  records: [number, LineageRecord][];
  damaged: [number, LineageProblem][];
  problems: LineageProblem[];
}

const TYPE_LETTER: Record<RecordType, string> = { version: 'v', build: 'b', run: 'r', push: 'p', export: 'e', reproduction: 'x', gc: 'g', serve: 's' };
const LETTER_TYPE: Record<string, RecordType> = { v: 'version', b: 'build', r: 'run', p: 'push', e: 'export', x: 'reproduction', g: 'gc', s: 'serve' };

function encode(s: Snapshot): Encoded {
  const strings: string[] = [];
  const index = new Map<string, number>();
  const ref = (value: string | undefined): number => {
    if (value === undefined) return -1;
    let i = index.get(value);
    if (i === undefined) {
      i = strings.length;
      strings.push(value);
      index.set(value, i);
    }
    return i;
  };
  const out: Encoded = {
    format: SNAPSHOT_FORMAT,
    at: s.at,
    checked: s.checked,
    strings,
    ids: [],
    types: '',
    ts: [],
    notebook: [],
    versionId: [],
    buildId: [],
    status: [],
    lines: [],
    starts: [],
    ends: [],
    records: [],
    damaged: [...s.damaged],
    problems: s.problems,
  };
  const types: string[] = [];
  s.entries.forEach((e, i) => {
    out.ids.push(e.id);
    types.push(TYPE_LETTER[e.type]);
    out.ts.push(e.ts);
    out.notebook.push(ref(e.notebook));
    out.versionId.push(ref(e.versionId));
    out.buildId.push(ref(e.buildId));
    out.status.push(ref(e.status));
    out.lines.push(e.line);
    out.starts.push(e.start);
    out.ends.push(e.end);
    if (!(e instanceof LazyEntry)) out.records.push([i, e.record]);
  });
  out.types = types.join('');
  return out;
}

/** Throws on anything malformed: the caller then ignores the snapshot. */
function decode(d: Encoded, windows: StoreWindows): Snapshot {
  const n = d.ids.length;
  const columns = [d.ts, d.notebook, d.versionId, d.buildId, d.status, d.lines, d.starts, d.ends];
  if (typeof d.types !== 'string' || d.types.length !== n || columns.some((c) => !Array.isArray(c) || c.length !== n)) throw new Error('columns differ in length');
  const str = (i: number): string | undefined => {
    if (i === -1) return undefined;
    const s = d.strings[i];
    if (typeof s !== 'string') throw new Error(`no string ${i}`);
    return s;
  };
  const records = new Map(d.records);
  const entries: RecordEntry[] = new Array(n);
  for (let i = 0; i < n; i++) {
    const type = LETTER_TYPE[d.types[i]];
    const start = d.starts[i];
    const end = d.ends[i];
    if (!type || !(start >= 0 && end > start && end < d.at.offset)) throw new Error(`entry ${i} is malformed`);
    const record = records.get(i);
    if (record) {
      if (record.id !== d.ids[i]) throw new Error(`record ${i} is not entry ${i}`);
      entries[i] = entryOf(record, d.lines[i], start, end);
    } else {
      const notebook = str(d.notebook[i]);
      if (typeof d.ids[i] !== 'string' || typeof d.ts[i] !== 'string' || notebook === undefined) throw new Error(`entry ${i} is malformed`);
      entries[i] = new LazyEntry(d.ids[i], type, d.ts[i], notebook, str(d.versionId[i]), str(d.buildId[i]), str(d.status[i]), d.lines[i], windows, start, end);
    }
  }
  const damaged = new Map(d.damaged);
  for (const i of damaged.keys()) if (!(i >= 0 && i < n)) throw new Error(`damaged entry ${i} is out of range`);
  if (!Array.isArray(d.problems)) throw new Error('no problems list');
  return { at: d.at, checked: d.checked === true, entries, damaged, problems: d.problems };
}
