/**
 * A model kept current by reading only appended bytes: what a tree view refreshes from, and what a
 * command that queries once loads. The first refresh resumes from the store's snapshot when there
 * is one it can trust, so a first load costs the lines appended since, not the whole file.
 */
import { checkEntry } from './check';
import { LineageModel } from './model';
import type { LineageProblem } from './parse';
import type { RecordEntry } from './scan';
import { readSnapshot, writeSnapshot, Snapshot } from './snapshot';
import type { LineageReader, LineageStore } from './store';

export interface RefreshResult {
  /** Records folded in by this refresh. */
  added: number;
  /** Notebook paths whose subtree changed. */
  changed: Set<string>;
  /** The file was replaced or truncated and the model rebuilt from scratch: redraw everything. */
  reset: boolean;
  /** Problems met in the new bytes (a torn last line is reported until it is completed or closed). */
  problems: LineageProblem[];
}

export interface LiveOptions {
  /**
   * Skip and report a line whose body does not parse, as a full read does (the CLI). Otherwise
   * (the tree) such a line shows what its header says, with a note, once its record is parsed.
   */
  strict?: boolean;
  /** Resume from the snapshot next to the store and keep it up to date (default true). */
  snapshot?: boolean;
}

/**
 * Records folded past the snapshot before a new one is written. Writing one costs about what
 * scanning a few thousand lines does, and appends come from builds and runs, seconds apart.
 */
export const SNAPSHOT_EVERY = 1000;
/** Unchecked lines a non-strict writer checks so its snapshot serves strict readers too. */
const CHECK_AT_MOST = 5000;

const notTorn = (p: LineageProblem) => p.kind !== 'torn';
const byLine = (a: LineageProblem, b: LineageProblem) => a.line - b.line;

export class LiveLineage {
  private readonly reader: LineageReader;
  private readonly strict: boolean;
  private readonly snapshots: boolean;
  private started = false;
  private current = new LineageModel();
  private problemList: LineageProblem[] = [];
  // What a snapshot is made of: every scanned entry in file order (strict: damaged ones too, not
  // folded), what the scan reported, and how far the entries were checked.
  private entries: RecordEntry[] = [];
  private damaged = new Map<number, LineageProblem>();
  private scanProblems: LineageProblem[] = [];
  private checkedCount = 0;
  private snapshotCount = 0;

  constructor(store: LineageStore, options: LiveOptions = {}) {
    this.reader = store.reader();
    this.strict = options.strict === true;
    this.snapshots = options.snapshot !== false;
  }

  get model(): LineageModel {
    return this.current;
  }

  /** Problems in complete lines so far (torn tails are only reported by the refresh that saw them). */
  get problems(): readonly LineageProblem[] {
    return this.problemList;
  }

  refresh(): RefreshResult {
    const resumed = this.started ? undefined : this.resume();
    this.started = true;
    const read = this.reader.readNewEntries();
    if (read.reset) this.clear();
    const { fold, problems } = this.take(read.entries, read.problems);
    const changed = this.current.applyEntries(fold);
    this.maybeSnapshot();
    if (!resumed || read.reset) return { added: fold.length, changed, reset: read.reset, problems };
    for (const nb of changed) resumed.changed.add(nb);
    return { added: resumed.added + fold.length, changed: resumed.changed, reset: false, problems: [...resumed.problems, ...problems] };
  }

  /** Fold the snapshot in, and have the reader continue where it stopped. */
  private resume(): Omit<RefreshResult, 'reset'> | undefined {
    const snapshot = this.snapshots ? readSnapshot(this.reader.file) : undefined;
    // A strict reader needs every line checked; an unchecked snapshot only vouches for headers.
    if (!snapshot || (this.strict && !snapshot.checked)) return undefined;
    this.reader.resumeAt(snapshot.at);
    this.entries = snapshot.entries;
    this.damaged = snapshot.damaged;
    this.scanProblems = [...snapshot.problems];
    this.checkedCount = snapshot.checked ? snapshot.entries.length : 0;
    this.snapshotCount = snapshot.entries.length;
    const fold = this.strict ? snapshot.entries.filter((_, i) => !snapshot.damaged.has(i)) : snapshot.entries;
    const problems = this.strict ? [...snapshot.problems, ...snapshot.damaged.values()].sort(byLine) : [...snapshot.problems];
    this.problemList = [...problems];
    return { added: fold.length, changed: this.current.applyEntries(fold), problems };
  }

  /** Record newly scanned entries; returns those to fold and the problems to report, in line order. */
  private take(entries: RecordEntry[], scanned: LineageProblem[]): { fold: RecordEntry[]; problems: LineageProblem[] } {
    for (const p of scanned) if (notTorn(p)) this.scanProblems.push(p);
    if (!this.strict) {
      for (const e of entries) this.entries.push(e);
      for (const p of scanned) if (notTorn(p)) this.problemList.push(p);
      return { fold: entries, problems: scanned };
    }
    const fold: RecordEntry[] = [];
    const problems = [...scanned];
    for (const e of entries) {
      const checked = checkEntry(e, true);
      if (checked.problem) {
        this.damaged.set(this.entries.length, checked.problem);
        this.entries.push(e);
        problems.push(checked.problem);
      } else {
        this.entries.push(checked.entry!);
        fold.push(checked.entry!);
      }
    }
    this.checkedCount = this.entries.length;
    problems.sort(byLine);
    for (const p of problems) if (notTorn(p)) this.problemList.push(p);
    return { fold, problems };
  }

  private maybeSnapshot(): void {
    if (!this.snapshots || this.entries.length - this.snapshotCount < SNAPSHOT_EVERY) return;
    const ino = this.reader.inode;
    if (ino === undefined) return;
    const snapshot: Snapshot = {
      at: { offset: this.reader.position, line: this.reader.line, ino, head: this.reader.head },
      checked: this.checkRest(),
      entries: this.entries,
      damaged: this.damaged,
      problems: this.scanProblems,
    };
    writeSnapshot(this.reader.file, snapshot);
    // Counted even when the write failed, so a read-only workspace does not retry on every refresh.
    this.snapshotCount = this.entries.length;
  }

  /**
   * Whether every entry is checked, checking the unchecked ones when they are few (without keeping
   * their records: the tree does not need them). A long unchecked run stays unchecked; the next
   * strict load checks everything and writes a checked snapshot, which later writes extend.
   */
  private checkRest(): boolean {
    if (this.entries.length - this.checkedCount > CHECK_AT_MOST) return false;
    for (let i = this.checkedCount; i < this.entries.length; i++) {
      const checked = checkEntry(this.entries[i], false);
      if (checked.problem) this.damaged.set(i, checked.problem);
      // A header that disagrees with its body: the non-strict model folded the header, so the
      // snapshot cannot vouch for what a full read makes of the line.
      else if (checked.entry !== this.entries[i]) return false;
      this.checkedCount = i + 1;
    }
    return true;
  }

  private clear(): void {
    this.current = new LineageModel();
    this.problemList = [];
    this.entries = [];
    this.damaged = new Map();
    this.scanProblems = [];
    this.checkedCount = 0;
    this.snapshotCount = 0;
  }
}

/** Read and fold a whole store (records parsed lazily): what a command that queries once uses. */
export function loadModel(store: LineageStore, options: LiveOptions = {}): { model: LineageModel; problems: LineageProblem[] } {
  const live = new LiveLineage(store, options);
  const { problems } = live.refresh();
  return { model: live.model, problems };
}
