/**
 * A lock file usable across processes (two VS Code windows and a CLI may append at once).
 *
 * `open(path, 'wx')` is atomic on local filesystems and NFSv3+: exactly one process creates the file.
 * The file names its owner (pid, host, a random token, time) so a lock left by a crashed process
 * can be broken: stale when its pid is gone on this host, or when it is older than `staleMs`
 * (pid reuse, another host). Breaking is itself guarded by a second O_EXCL file so two waiters
 * cannot both decide "stale" and one of them delete the lock the other has just taken.
 */
import * as fs from 'fs';
import * as os from 'os';
import { randomBytes } from 'crypto';
import { Nb2prodError } from '../errors';

export interface LockOptions {
  /** Give up after this long (ms). */
  timeoutMs?: number;
  /** A lock older than this is stale even if its pid looks alive (ms). */
  staleMs?: number;
}

interface Owner {
  pid: number;
  host: string;
  token: string;
  time: number;
  /** The file names no owner (yet): `time` is its mtime. */
  unwritten?: boolean;
}

const DEFAULT_TIMEOUT_MS = 15_000;
const DEFAULT_STALE_MS = 30_000;
/**
 * An owner writes its lock file right after creating it, in microseconds: a file still without an
 * owner after this long was left by a process killed in between. Waiting the full `staleMs` for it
 * would outlast every waiter's timeout, locking the store until someone deletes the file by hand.
 */
const UNWRITTEN_STALE_MS = 2_000;

/** Run `fn` while holding the lock file at `lockPath`. */
export async function withLock<T>(lockPath: string, fn: () => T | Promise<T>, options: LockOptions = {}): Promise<T> {
  const release = await acquire(lockPath, options);
  try {
    return await fn();
  } finally {
    release();
  }
}

export async function acquire(lockPath: string, options: LockOptions = {}): Promise<() => void> {
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const staleMs = options.staleMs ?? DEFAULT_STALE_MS;
  const token = randomBytes(8).toString('hex');
  const deadline = Date.now() + timeoutMs;
  let delay = 1;
  for (;;) {
    if (tryCreate(lockPath, token)) {
      return () => releaseIfOurs(lockPath, token);
    }
    const owner = readOwner(lockPath);
    if (owner === 'gone') continue; // released between our attempt and the read: retry at once
    if (isStale(owner, staleMs)) {
      breakStale(lockPath, owner, staleMs);
      continue;
    }
    if (Date.now() > deadline) {
      const who = owner && !owner.unwritten ? `process ${owner.pid} on ${owner.host}` : 'another process';
      throw new Nb2prodError(`the lineage store is locked by ${who} (${lockPath}); try again, or delete the lock file if that process is gone`);
    }
    // Jittered backoff: appends hold the lock for about a millisecond, so start small.
    await sleep(delay + Math.random() * delay);
    delay = Math.min(delay * 2, 25);
  }
}

function tryCreate(lockPath: string, token: string): boolean {
  let fd: number;
  try {
    fd = fs.openSync(lockPath, 'wx');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw e;
  }
  try {
    const owner: Owner = { pid: process.pid, host: os.hostname(), token, time: Date.now() };
    fs.writeSync(fd, JSON.stringify(owner));
  } finally {
    fs.closeSync(fd);
  }
  return true;
}

/** The owner, `undefined` when the file exists but is unreadable/empty (being written), 'gone' when absent. */
function readOwner(lockPath: string): Owner | undefined | 'gone' {
  let text: string;
  try {
    text = fs.readFileSync(lockPath, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return 'gone';
    return undefined;
  }
  try {
    const o = JSON.parse(text) as Owner;
    if (typeof o.pid === 'number' && typeof o.time === 'number') return o;
  } catch {
    // An owner that crashed between create and write leaves an empty file: judged by its mtime below.
  }
  try {
    const st = fs.statSync(lockPath);
    return { pid: 0, host: '', token: '', time: st.mtimeMs, unwritten: true };
  } catch {
    return 'gone';
  }
}

function isStale(owner: Owner | undefined, staleMs: number): boolean {
  if (!owner) return false;
  if (Date.now() - owner.time > (owner.unwritten ? Math.min(staleMs, UNWRITTEN_STALE_MS) : staleMs)) return true;
  if (owner.pid > 0 && owner.host === os.hostname()) return !pidAlive(owner.pid);
  return false;
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function breakStale(lockPath: string, seen: Owner | undefined, staleMs: number): void {
  if (!seen) return;
  const breaker = lockPath + '.break';
  // A breaker left by a crash mid-break is judged by age only; the window is tiny.
  try {
    const st = fs.statSync(breaker);
    if (Date.now() - st.mtimeMs > Math.min(staleMs, 5_000)) fs.rmSync(breaker, { force: true });
  } catch {
    // no breaker file: the usual case
  }
  const token = randomBytes(8).toString('hex');
  if (!tryCreate(breaker, token)) return; // someone else is breaking it; retry the main lock
  try {
    // Re-read under the breaker: only delete the very lock we judged stale, not a fresh one.
    const now = readOwner(lockPath);
    if (now && now !== 'gone' && now.token === seen.token && now.time === seen.time) {
      fs.rmSync(lockPath, { force: true });
    }
  } finally {
    fs.rmSync(breaker, { force: true });
  }
}

function releaseIfOurs(lockPath: string, token: string): void {
  const owner = readOwner(lockPath);
  // If our lock was broken as stale (we were paused for longer than staleMs), leave the new owner's alone.
  if (owner && owner !== 'gone' && owner.token === token) fs.rmSync(lockPath, { force: true });
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
