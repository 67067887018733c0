/**
 * Markers of running pipelines: `<store>/active/<run-id>@<writer>`, JSON `{run_id, started}`.
 *
 * A pipeline's runtime writes objects while it runs, long before its lineage record exists (the
 * host appends it when the run ends), so gc cannot tell them from garbage by the records alone.
 * The runtime (Python and TypeScript, see the convention above the store code in their runtimes)
 * keeps a marker from its start to its end and refreshes its mtime as each step starts; nb2prod
 * keeps its own from launching a run until the run's record is appended and its files stored.
 * gc keeps every object younger than the oldest live marker.
 *
 * Live: written by a process of this host that is still there; for another host's or a
 * container's (whose pids mean nothing here), refreshed within STALE_MS. Markers of dead writers
 * are removed by gc; a killed container's by the nb2prod that launched it, once it has ended.
 */
import * as fs from 'fs';
import * as path from 'path';
import { STALE_MS, writerState, writerSuffix } from '../leftovers';

export const ACTIVE_DIR = 'active';

/** File times and the runtime's clock may disagree by a little (coarse mtimes, a container's clock read). */
export const CLOCK_MARGIN_MS = 5000;

const SEPARATOR = '@';

export interface ActiveRun {
  file: string;
  runId: string;
  /** When the run started (ms since the epoch); 0 when the marker cannot be read (keeps everything). */
  started: number;
  live: boolean;
  writer: ReturnType<typeof writerState>;
}

/** Mark a run as running until `release()`: its objects are safe from gc meanwhile. */
export async function holdActive(storeDir: string, runId: string): Promise<{ file: string; release(): Promise<void> }> {
  const dir = path.join(storeDir, ACTIVE_DIR);
  await fs.promises.mkdir(dir, { recursive: true });
  const file = path.join(dir, `${runId}${SEPARATOR}${writerSuffix()}`);
  await fs.promises.writeFile(file, JSON.stringify({ run_id: runId, started: Date.now() / 1000 }), { flag: 'wx' });
  return { file, release: () => fs.promises.rm(file, { force: true }) };
}

/** The markers in the store, live or not. */
export async function activeRuns(storeDir: string): Promise<ActiveRun[]> {
  const dir = path.join(storeDir, ACTIVE_DIR);
  let names: string[];
  try {
    names = await fs.promises.readdir(dir);
  } catch {
    return [];
  }
  const runs: ActiveRun[] = [];
  for (const name of names) {
    const at = name.indexOf(SEPARATOR);
    if (at <= 0) continue;
    const file = path.join(dir, name);
    const st = await fs.promises.lstat(file).catch(() => undefined);
    if (!st?.isFile()) continue;
    const state = writerState(name.slice(at + 1));
    const live = state === 'alive' || (state === 'unknown' && Date.now() - st.mtimeMs < STALE_MS);
    runs.push({ file, runId: name.slice(0, at), started: await startedOf(file), live, writer: state });
  }
  return runs;
}

async function startedOf(file: string): Promise<number> {
  try {
    const started = Number(JSON.parse(await fs.promises.readFile(file, 'utf8')).started);
    return Number.isFinite(started) ? started * 1000 : 0;
  } catch {
    return 0;
  }
}

/**
 * The time from which objects belong to a running pipeline (the oldest live marker's start, less
 * the clock margin), undefined when none runs. With `clean`, markers of dead writers are removed.
 */
export async function runningSince(storeDir: string, options: { clean?: boolean } = {}): Promise<number | undefined> {
  let since: number | undefined;
  for (const run of await activeRuns(storeDir)) {
    if (!run.live) {
      if (options.clean) await fs.promises.rm(run.file, { force: true });
      continue;
    }
    since = Math.min(since ?? Infinity, run.started - CLOCK_MARGIN_MS);
  }
  return since;
}

/**
 * Once a run's processes or containers have ended: remove the markers of `runId` that no live
 * process of this host holds (a container's runtime, killed with its container, leaves one whose
 * pid means nothing here).
 */
export async function releaseEnded(storeDir: string, runId: string): Promise<void> {
  for (const run of await activeRuns(storeDir)) {
    if (run.runId === runId && run.writer !== 'alive') await fs.promises.rm(run.file, { force: true });
  }
}
