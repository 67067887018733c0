/**
 * The content-addressed object store: one file per sha256 under `<dir>/sha256/<2 hex>/<62 hex>`,
 * written once (temp file in `<dir>/tmp/`, fsync, rename) and left read-only (0444).
 *
 * Inode rule: an object shares its inode only with read-only views nb2prod makes for people to
 * look at (`restore(..., { link: true })`, used for run artifacts). Anything a user may edit in
 * place (a package, a data file, checkout output) is restored as a copy (a reflink where the file
 * system has them), because read-only bits do not stop root and an editor writing into a hard
 * link would change the stored bytes.
 */
import { createHash } from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import { Nb2prodError } from '../errors';
import { besideName, leftOver, STALE_MS, writerSuffix } from '../leftovers';

export const OBJECTS_DIR = 'objects';
/** Moves the store (e.g. to a shared disk); a relative path is taken from the workspace. */
export const OBJECTS_ENV = 'NB2PROD_OBJECTS';

export interface PutResult {
  sha256: string;
  bytes: number;
  /** False when the object was already there: nothing was written. */
  added: boolean;
}

export interface StoredObject {
  sha256: string;
  bytes: number;
}

export interface ObjectStore {
  readonly dir: string;
  /**
   * Store a file's bytes. With `expect` (the sha256 lineage recorded) an object that is already
   * there costs one stat, not a read, and a file that no longer hashes to `expect` (changed since it
   * was recorded) is not stored: its real sha256 comes back with `added: false`. The bytes stored
   * are hashed as they are copied, so an object never holds other bytes than its name says.
   */
  put(file: string, options?: { expect?: string }): Promise<PutResult>;
  has(sha256: string): boolean;
  pathOf(sha256: string): string;
  /**
   * Write the object to `dest` atomically (a temp named for its writer, then rename). `link: true` makes `dest`
   * a hard link to the object (a read-only view) and returns 'linked', or returns 'unlinked' and
   * leaves `dest` alone when linking is impossible (another file system). Otherwise `dest` is an
   * independent, writable copy: 'copied'.
   */
  restore(sha256: string, dest: string, options?: { link?: boolean; mode?: number }): Promise<'linked' | 'unlinked' | 'copied'>;
  list(): Promise<StoredObject[]>;
  /** Remove one object; returns the bytes freed (0 when it was not there). */
  remove(sha256: string): Promise<number>;
  /** Remove temp files a killed writer left (older than `olderThanMs`, so a live writer's survive). */
  cleanTemp(olderThanMs?: number): Promise<number>;
  /** Make the store's directories (and the .gitignore of a new store): before a pipeline writes into it. */
  prepare(): Promise<void>;
}

/** Where the store is: `option` (CLI `--objects`, the VS Code setting), else NB2PROD_OBJECTS, else `<workspace>/.nb2prod/objects`. */
export function objectStoreDir(workspaceDir: string, env: NodeJS.ProcessEnv = {}, option?: string): string {
  const chosen = option || env[OBJECTS_ENV];
  return chosen ? path.resolve(workspaceDir, chosen) : path.join(path.resolve(workspaceDir), '.nb2prod', OBJECTS_DIR);
}

export function openObjectStore(dir: string): ObjectStore {
  return new FileObjectStore(path.resolve(dir));
}

/** Whether `dir` is an object store (its object and temp directories): what a build context never sends. */
export function isObjectStore(dir: string): boolean {
  return fs.existsSync(path.join(dir, 'sha256')) && fs.existsSync(path.join(dir, 'tmp'));
}

/** Whether `file` is a hard link to the object `sha256` (a read-only view): false when either is missing. */
export async function isViewOf(objects: ObjectStore, file: string, sha256: string): Promise<boolean> {
  if (!objects.has(sha256)) return false;
  const [view, object] = await Promise.all([fs.promises.stat(file).catch(() => undefined), fs.promises.stat(objects.pathOf(sha256)).catch(() => undefined)]);
  return view !== undefined && object !== undefined && view.ino === object.ino && view.dev === object.dev;
}

const SHA256 = /^[0-9a-f]{64}$/;

class FileObjectStore implements ObjectStore {
  private readonly tmp: string;
  private prepared = false;

  constructor(readonly dir: string) {
    this.tmp = path.join(dir, 'tmp');
  }

  pathOf(sha256: string): string {
    if (!SHA256.test(sha256)) throw new Nb2prodError(`not a sha256: ${JSON.stringify(sha256)}`);
    return path.join(this.dir, 'sha256', sha256.slice(0, 2), sha256.slice(2));
  }

  has(sha256: string): boolean {
    return SHA256.test(sha256) && fs.existsSync(this.pathOf(sha256));
  }

  async put(file: string, options: { expect?: string } = {}): Promise<PutResult> {
    if (options.expect && this.has(options.expect)) {
      const { size } = await fs.promises.stat(file);
      return { sha256: options.expect, bytes: size, added: false };
    }
    await this.prepare();
    const temp = path.join(this.tmp, writerSuffix());
    try {
      const { sha256, bytes } = await copyHashing(file, temp);
      const target = this.pathOf(sha256);
      if (fs.existsSync(target) || (options.expect && options.expect !== sha256)) return { sha256, bytes, added: false };
      await fs.promises.chmod(temp, 0o444);
      await fs.promises.mkdir(path.dirname(target), { recursive: true });
      // Two writers of the same bytes may both get here: rename replaces one identical object with another.
      await fs.promises.rename(temp, target);
      return { sha256, bytes, added: true };
    } finally {
      await fs.promises.rm(temp, { force: true });
    }
  }

  /** The temp directory, and a .gitignore so a store inside a repository (the default) is never committed. */
  async prepare(): Promise<void> {
    if (this.prepared) return;
    await fs.promises.mkdir(this.tmp, { recursive: true });
    await fs.promises.writeFile(path.join(this.dir, '.gitignore'), '*\n', { flag: 'wx' }).catch((e: NodeJS.ErrnoException) => {
      if (e.code !== 'EEXIST') throw e;
    });
    this.prepared = true;
  }

  async restore(sha256: string, dest: string, options: { link?: boolean; mode?: number } = {}): Promise<'linked' | 'unlinked' | 'copied'> {
    const source = this.pathOf(sha256);
    await fs.promises.mkdir(path.dirname(dest), { recursive: true });
    if (options.link) return this.linkTo(source, dest);
    const temp = besideName(dest);
    try {
      // COPYFILE_FICLONE: a reflink where the file system has one (no bytes copied), else a real copy.
      await fs.promises.copyFile(source, temp, fs.constants.COPYFILE_FICLONE);
      // The copy is the user's to edit: not the object's read-only bits.
      await fs.promises.chmod(temp, options.mode ?? 0o644);
      await fsyncFile(temp);
      await fs.promises.rename(temp, dest);
      return 'copied';
    } finally {
      await fs.promises.rm(temp, { force: true });
    }
  }

  /**
   * The link is made in the store's temp directory, not beside `dest`: a killed writer's leftover
   * is then where the next put or gc cleans it, not in a run's artifacts that no later command
   * visits. It reaches `dest` by a rename, which fails across file systems as a link would.
   */
  private async linkTo(source: string, dest: string): Promise<'linked' | 'unlinked'> {
    await this.prepare();
    const temp = path.join(this.tmp, writerSuffix());
    try {
      await fs.promises.link(source, temp);
      await fs.promises.rename(temp, dest);
      return 'linked';
    } catch (e) {
      if (['EXDEV', 'EPERM', 'EMLINK', 'ENOTSUP', 'EOPNOTSUPP'].includes((e as NodeJS.ErrnoException).code ?? '')) return 'unlinked';
      throw e;
    } finally {
      await fs.promises.rm(temp, { force: true });
    }
  }

  async list(): Promise<StoredObject[]> {
    const root = path.join(this.dir, 'sha256');
    const out: StoredObject[] = [];
    for (const prefix of await readdirOrEmpty(root)) {
      if (!/^[0-9a-f]{2}$/.test(prefix)) continue;
      for (const rest of await readdirOrEmpty(path.join(root, prefix))) {
        const sha256 = prefix + rest;
        if (!SHA256.test(sha256)) continue;
        const st = await fs.promises.stat(path.join(root, prefix, rest)).catch(() => undefined);
        if (st?.isFile()) out.push({ sha256, bytes: st.size });
      }
    }
    return out.sort((a, b) => a.sha256.localeCompare(b.sha256));
  }

  async remove(sha256: string): Promise<number> {
    const file = this.pathOf(sha256);
    const st = await fs.promises.stat(file).catch(() => undefined);
    if (!st) return 0;
    await fs.promises.rm(file, { force: true });
    return st.size;
  }

  async cleanTemp(olderThanMs = STALE_MS): Promise<number> {
    let removed = 0;
    for (const name of await readdirOrEmpty(this.tmp)) {
      const file = path.join(this.tmp, name);
      if (!(await leftOver(file, name, olderThanMs))) continue;
      await fs.promises.rm(file, { force: true });
      removed++;
    }
    return removed;
  }
}

/** Copy `from` to a new file `to` while hashing it, and fsync `to`: one read of the source. */
async function copyHashing(from: string, to: string): Promise<StoredObject> {
  const hash = createHash('sha256');
  let bytes = 0;
  const input = await fs.promises.open(from, 'r');
  const output = await fs.promises.open(to, 'wx', 0o600);
  try {
    const buf = Buffer.allocUnsafe(1 << 20);
    for (;;) {
      const { bytesRead } = await input.read(buf, 0, buf.length, null);
      if (bytesRead === 0) break;
      const chunk = buf.subarray(0, bytesRead);
      hash.update(chunk);
      let written = 0;
      while (written < bytesRead) written += (await output.write(chunk, written, bytesRead - written)).bytesWritten;
      bytes += bytesRead;
    }
    await output.sync();
  } finally {
    await input.close();
    await output.close();
  }
  return { sha256: hash.digest('hex'), bytes };
}

async function fsyncFile(file: string): Promise<void> {
  const handle = await fs.promises.open(file, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

async function readdirOrEmpty(dir: string): Promise<string[]> {
  try {
    return await fs.promises.readdir(dir);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw e;
  }
}
