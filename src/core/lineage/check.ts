/**
 * A strict look at scanned entries: what a full read would make of each line. The scan trusts a
 * line's header and parses the rest on demand; a full read drops a line whose body does not parse.
 * The CLI reports every damaged line, so it checks; the tree does not need to.
 */
import { parseRecordLine, LineageProblem } from './parse';
import { entryOf, LazyEntry, RecordEntry } from './scan';

export interface Checked {
  /** The entry to fold: the scanned one, or one built from the parsed record when its header disagreed. */
  entry?: RecordEntry;
  /** Why a full read skips the line. */
  problem?: LineageProblem;
}

/** `keep`: hold on to the parsed record (it is about to be used) rather than parse it again later. */
export function checkEntry(entry: RecordEntry, keep: boolean): Checked {
  // Lines that were not scanned lazily were parsed in full already.
  if (!(entry instanceof LazyEntry)) return { entry };
  const text = entry.lineText();
  if (text === undefined) return { entry };
  const { record, problem } = parseRecordLine(text, entry.line);
  if (problem) return { problem };
  const full = entryOf(record!, entry.line, entry.start, entry.end);
  if (!sameHeader(entry, full)) return { entry: full };
  if (keep) entry.adopt(record!);
  return { entry };
}

function sameHeader(a: RecordEntry, b: RecordEntry): boolean {
  return a.id === b.id && a.type === b.type && a.ts === b.ts && a.notebook === b.notebook && a.versionId === b.versionId && a.buildId === b.buildId && a.status === b.status;
}
