/**
 * Temp files and staging directories that name their writer, so a later command can tell what a
 * killed one left from what a live one is still writing.
 *
 * A name ends in `<random>.<pid>.<host>`. It was left for good when that pid is gone on this host;
 * another host's (a shared disk), or one from before names carried their writer, only once it is
 * older than any write takes.
 */
import { randomBytes } from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

/** Beside a file or directory: `.<name>.nb2prod-` then the writer's suffix. */
export const BESIDE_MARK = '.nb2prod-';

/** A temp this old is no writer's any more (a store of gigabytes still renames well within it). */
export const STALE_MS = 60 * 60 * 1000;

/** `<random>.<pid>.<host>`. */
export function writerSuffix(): string {
  return `${randomBytes(6).toString('hex')}.${process.pid}.${os.hostname()}`;
}

/** The hidden name of a temp or stage beside `target` (same directory, so a rename moves it in). */
export function besideName(target: string): string {
  return path.join(path.dirname(target), `.${path.basename(target)}${BESIDE_MARK}${writerSuffix()}`);
}

/** Whether a name ending in a writer suffix was written by a process of this host that is gone. */
export function writerGone(suffix: string): boolean {
  return writerState(suffix) === 'gone';
}

/**
 * The writer of a suffix: a process of this host that is 'alive' or 'gone', or 'unknown' (another
 * host's, a container's, or no suffix at all): then only the file's age can tell.
 */
export function writerState(suffix: string): 'alive' | 'gone' | 'unknown' {
  const [, pid, ...host] = suffix.split('.');
  if (host.join('.') !== os.hostname() || !/^[0-9]+$/.test(pid ?? '')) return 'unknown';
  try {
    process.kill(Number(pid), 0);
    return 'alive';
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'ESRCH' ? 'gone' : 'alive';
  }
}

/** Whether `file` (named with a writer suffix `suffix`) is left over: its writer gone, or it is stale. */
export async function leftOver(file: string, suffix: string, olderThanMs = STALE_MS): Promise<boolean> {
  if (writerGone(suffix)) return true;
  const st = await fs.promises.lstat(file).catch(() => undefined);
  return !!st && Date.now() - st.mtimeMs >= olderThanMs;
}

/** The temps and stages killed writers left beside files in `dir` (`.<name>.nb2prod-*`), only beside `names` when given. */
export async function leftoversBeside(dir: string, names?: ReadonlySet<string>): Promise<string[]> {
  let entries: string[];
  try {
    entries = await fs.promises.readdir(dir);
  } catch {
    return [];
  }
  const left: string[] = [];
  for (const entry of entries) {
    const at = entry.lastIndexOf(BESIDE_MARK);
    if (!entry.startsWith('.') || at <= 0) continue;
    if (names && !names.has(entry.slice(1, at))) continue;
    const file = path.join(dir, entry);
    if (await leftOver(file, entry.slice(at + BESIDE_MARK.length))) left.push(file);
  }
  return left;
}

/** Remove what `leftoversBeside` finds; returns how many. */
export async function removeLeftoversBeside(dir: string, names?: ReadonlySet<string>): Promise<number> {
  const left = await leftoversBeside(dir, names);
  for (const file of left) await fs.promises.rm(file, { recursive: true, force: true });
  return left.length;
}
