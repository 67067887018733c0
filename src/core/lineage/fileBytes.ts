/** Reading exact byte ranges of the store: whole buffers, and the line that ends at an offset. */
import * as fs from 'fs';

/**
 * The bytes of the last line before `size` (the file's end, or any offset), without its newline;
 * whether a newline ended it; undefined when `size` is 0.
 */
export function readLastLine(fd: number, size: number): { bytes: Buffer; terminated: boolean } | undefined {
  if (size === 0) return undefined;
  const chunks: Buffer[] = [];
  let pos = size;
  let terminated: boolean | undefined;
  // Lines are small (a few KB); read backwards in blocks until the newline before the last line.
  const block = 16 * 1024;
  for (;;) {
    const start = Math.max(0, pos - block);
    const buf = Buffer.allocUnsafe(pos - start);
    readAll(fd, buf, start);
    let searchEnd = buf.length - 1;
    if (terminated === undefined) {
      terminated = buf[buf.length - 1] === 10;
      if (terminated) searchEnd--; // skip the final newline itself
    }
    const nl = searchEnd >= 0 ? buf.lastIndexOf(10, searchEnd) : -1;
    if (nl !== -1) {
      chunks.unshift(buf.subarray(nl + 1));
      break;
    }
    chunks.unshift(buf);
    pos = start;
    if (pos === 0) break;
  }
  let bytes = Buffer.concat(chunks);
  if (terminated) bytes = bytes.subarray(0, bytes.length - 1);
  return { bytes, terminated: terminated === true };
}

export function readAll(fd: number, buf: Buffer, position: number): number {
  let done = 0;
  while (done < buf.length) {
    const n = fs.readSync(fd, buf, done, buf.length - done, position + done);
    if (n === 0) break;
    done += n;
  }
  return done;
}

/**
 * The complete lines of the first `size` bytes, last line first (a line not ended by a newline
 * included, as a torn write may leave it). Reads backwards in blocks, so finding a recent record
 * costs what lies after it, not the whole store.
 */
export function* linesBackwards(fd: number, size: number, block = 64 * 1024): Generator<Buffer> {
  let pos = size;
  let carry = Buffer.alloc(0);
  while (pos > 0) {
    const start = Math.max(0, pos - block);
    const buf = Buffer.allocUnsafe(pos - start);
    readAll(fd, buf, start);
    let joined = carry.length ? Buffer.concat([buf, carry]) : buf;
    let end = joined.length;
    // (lastIndexOf takes a negative offset from the end, so the search stops at 0 by hand.)
    for (let nl = end > 0 ? joined.lastIndexOf(10, end - 1) : -1; nl !== -1; nl = end > 0 ? joined.lastIndexOf(10, end - 1) : -1) {
      if (nl + 1 < end) yield joined.subarray(nl + 1, end);
      end = nl;
    }
    carry = Buffer.from(joined.subarray(0, end));
    joined = Buffer.alloc(0);
    pos = start;
  }
  if (carry.length) yield carry;
}

/** `read` applied to the file opened for reading; undefined when it cannot be opened (gone, no access). */
export function withOpenFile<T>(file: string, read: (fd: number) => T): T | undefined {
  let fd: number;
  try {
    fd = fs.openSync(file, 'r');
  } catch {
    return undefined;
  }
  try {
    return read(fd);
  } finally {
    fs.closeSync(fd);
  }
}
