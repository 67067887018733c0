/**
 * A lock file usable across processes (two VS Code windows and a CLI may append at once).
 *
 * `open(path, 'wx')` is atomic on local filesystems and NFSv3+: exactly one process creates the file.
 * The file names its owner (pid, host, a random token, time) so a lock left by a crashed process
 * can be broken: stale when its pid is gone on this host, or when it is older than `staleMs`
 * (pid reuse, another host). Breaking is itself guarded by a second O_EXCL file so two waiters
 * cannot both decide "stale" and one of them delete the lock the other has just taken.
 *
 * A live holder is never stale by age: while it holds the lock it touches the file's mtime every
 * third of `staleMs` (a heartbeat), and age counts from the latest of that and the time written.
 * Work that holds the lock for long (gc) also asks `held()` before each irreversible change, in
 * case it was paused past `staleMs` and another process took the lock meanwhile.
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
  /** The file names no owner (yet). */
  unwritten?: boolean;
}

/** The lock as its holder sees it. */
export interface HeldLock {
  /** Whether the lock file still names this holder (false once another process broke it as stale). */
  held(): boolean;
  release(): void;
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
export async function withLock<T>(lockPath: string, fn: (lock: HeldLock) => T | Promise<T>, options: LockOptions = {}): Promise<T> {
  const lock = await take(lockPath, options);
  try {
    return await fn(lock);
  } finally {
    lock.release();
  }
}

/** Take the lock; the function returned releases it. */
export async function acquire(lockPath: string, options: LockOptions = {}): Promise<() => void> {
  const lock = await take(lockPath, options);
  return () => lock.release();
}

async function take(lockPath: string, options: LockOptions): Promise<HeldLock> {
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const staleMs = options.staleMs ?? DEFAULT_STALE_MS;
  const token = randomBytes(8).toString('hex');
  const deadline = Date.now() + timeoutMs;
  let delay = 1;
  for (;;) {
    if (tryCreate(lockPath, token)) return holding(lockPath, token, staleMs);
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

function holding(lockPath: string, token: string, staleMs: number): HeldLock {
  const held = () => ownedBy(lockPath, token);
  const heartbeat = setInterval(() => {
    if (!held()) return clearInterval(heartbeat);
    const now = new Date();
    try {
      fs.utimesSync(lockPath, now, now);
    } catch {
      // released or broken since: the next beat finds out
    }
  }, Math.max(1, Math.floor(staleMs / 3)));
  // A lock held while a process has nothing else to do must not keep it alive.
  heartbeat.unref();
  return {
    held,
    release: () => {
      clearInterval(heartbeat);
      // Broken as stale (this process was paused past staleMs): the file is the new owner's, left alone.
      if (held()) fs.rmSync(lockPath, { force: true });
    },
  };
}

function ownedBy(lockPath: string, token: string): boolean {
  const owner = readOwner(lockPath);
  return !!owner && owner !== 'gone' && owner.token === token;
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

/**
 * The owner, with `time` the latest of the time it wrote and its last heartbeat (the mtime);
 * `undefined` when the file exists but is unreadable, 'gone' when absent.
 */
function readOwner(lockPath: string): Owner | undefined | 'gone' {
  let text: string;
  let mtimeMs: number;
  try {
    text = fs.readFileSync(lockPath, 'utf8');
    mtimeMs = fs.statSync(lockPath).mtimeMs;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return 'gone';
    return undefined;
  }
  try {
    const o = JSON.parse(text) as Owner;
    if (typeof o.pid === 'number' && typeof o.time === 'number') return { ...o, time: Math.max(o.time, mtimeMs) };
  } catch {
    // An owner that crashed between create and write leaves an empty file: judged by its mtime.
  }
  return { pid: 0, host: '', token: '', time: mtimeMs, unwritten: true };
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

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
