/**
 * Lines of the store read back on demand, for entries that came from a snapshot instead of a scan:
 * the tree parses a few hundred records of a large store, so reading all of it up front would undo
 * what the snapshot saved. Blocks are kept once read (off the JS heap), as a scan keeps its chunks.
 */
import * as fs from 'fs';
import { readAll, withOpenFile } from './fileBytes';
import type { LineSource } from './scan';

const BLOCK = 1 << 20;

export class StoreWindows implements LineSource {
  private readonly blocks = new Map<number, Buffer>();

  /** Only the first `limit` bytes of file `ino` are read: what the snapshot covers. */
  constructor(
    private readonly file: string,
    private readonly ino: number,
    private readonly limit: number,
  ) {}

  text(start: number, end: number): string | undefined {
    const index = Math.floor(start / BLOCK);
    const base = index * BLOCK;
    if (end <= base + BLOCK) {
      let block = this.blocks.get(index);
      if (!block) {
        block = this.read(base, Math.min(BLOCK, this.limit - base));
        if (!block) return undefined;
        this.blocks.set(index, block);
      }
      return end <= base + block.length ? block.toString('utf8', start - base, end - base) : undefined;
    }
    // A line across a block boundary: read just that line.
    return this.read(start, end - start)?.toString('utf8');
  }

  /** `length` bytes at `position`, or undefined when the file is gone, replaced or shorter. */
  private read(position: number, length: number): Buffer | undefined {
    return withOpenFile(this.file, (fd) => {
      const st = fs.fstatSync(fd);
      if (st.ino !== this.ino || st.size < this.limit || length <= 0) return undefined;
      const buf = Buffer.allocUnsafe(length);
      return readAll(fd, buf, position) === length ? buf : undefined;
    });
  }
}
