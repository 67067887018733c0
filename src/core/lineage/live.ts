/** A model kept current by reading only appended bytes: what a tree view refreshes from. */
import { LineageModel } from './model';
import type { LineageProblem } from './parse';
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

export class LiveLineage {
  private reader: LineageReader;
  private current = new LineageModel();
  private problemList: LineageProblem[] = [];

  constructor(store: LineageStore) {
    this.reader = store.reader();
  }

  get model(): LineageModel {
    return this.current;
  }

  /** Problems in complete lines so far (torn tails are only reported by the refresh that saw them). */
  get problems(): readonly LineageProblem[] {
    return this.problemList;
  }

  refresh(): RefreshResult {
    const read = this.reader.readNewEntries();
    if (read.reset) {
      this.current = new LineageModel();
      this.problemList = [];
    }
    const changed = this.current.applyEntries(read.entries);
    this.problemList.push(...read.problems.filter((p) => p.kind !== 'torn'));
    return { added: read.entries.length, changed, reset: read.reset, problems: read.problems };
  }
}

/** Read and fold a whole store (records parsed lazily): what a command that queries once uses. */
export function loadModel(store: LineageStore): { model: LineageModel; problems: LineageProblem[] } {
  const { entries, problems } = store.reader().readNewEntries();
  const model = new LineageModel();
  model.applyEntries(entries);
  return { model, problems };
}
