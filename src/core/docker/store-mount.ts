/**
 * The object store inside a pipeline's container: the store directory alone is bind-mounted at
 * CONTAINER_OBJECTS (never the workspace around it, never part of a build context), and
 * NB2PROD_OBJECTS tells the runtime there to write its outputs into it. Hard links from the
 * store mount to the artifacts mount fail (EXDEV), so the runtime copies an artifact there and
 * the host turns it into a read-only view when it stores the run.
 *
 * As root the container keeps the image's unprivileged user (see run.ts). It gets root's group
 * as a supplementary group, and the store's writable directories are root's group-writable with
 * the sticky bit: it can add temp files, objects and its run's marker, but not remove or replace
 * a file it did not write, so an object stored before cannot be touched. On the host root's
 * group is root's already, so the modes expose nothing. What it wrote is given back to root
 * when it ends.
 */
import * as fs from 'fs';
import * as path from 'path';
import { ACTIVE_DIR } from '../store/active';
import { OBJECTS_ENV } from '../store/objects';
import type { Mount } from './engine';

export const CONTAINER_OBJECTS = '/nb2prod/objects';

export function storeMount(objectsDir: string): { mount: Mount; env: Record<string, string> } {
  return { mount: { source: path.resolve(objectsDir), target: CONTAINER_OBJECTS }, env: { [OBJECTS_ENV]: CONTAINER_OBJECTS } };
}

/** Directories a container's runtime writes into: temp files, markers, and every object prefix (made now, owned by root). */
function writableDirs(objectsDir: string): string[] {
  const prefixes = Array.from({ length: 256 }, (_, i) => path.join(objectsDir, 'sha256', i.toString(16).padStart(2, '0')));
  return [path.join(objectsDir, 'tmp'), path.join(objectsDir, ACTIVE_DIR), ...prefixes];
}

const SHARED_MODE = 0o1775;

/** Let the container user (in root's group) add files to the store, and nothing more. */
export async function shareStore(objectsDir: string): Promise<void> {
  for (const dir of writableDirs(objectsDir)) {
    await fs.promises.mkdir(dir, { recursive: true });
    const st = await fs.promises.stat(dir);
    if ((st.mode & 0o7777) !== SHARED_MODE) await fs.promises.chmod(dir, SHARED_MODE);
  }
}

/** Give what the container user wrote into the store back to the host user (root). */
export async function reclaimStore(objectsDir: string, containerUid: number): Promise<void> {
  for (const dir of writableDirs(objectsDir)) {
    let names: string[];
    try {
      names = await fs.promises.readdir(dir);
    } catch {
      continue;
    }
    for (const name of names) {
      const file = path.join(dir, name);
      const st = await fs.promises.lstat(file).catch(() => undefined);
      if (st?.uid === containerUid) await fs.promises.lchown(file, 0, 0).catch(() => undefined);
    }
  }
}
