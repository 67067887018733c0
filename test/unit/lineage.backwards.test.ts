import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';
import { linesBackwards } from '../../src/core/lineage/fileBytes';

function backwards(text: string, block: number): string[] {
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'nb2prod-lines-')), 'f');
  fs.writeFileSync(file, text);
  const fd = fs.openSync(file, 'r');
  try {
    return [...linesBackwards(fd, fs.fstatSync(fd).size, block)].map((b) => b.toString('utf8'));
  } finally {
    fs.closeSync(fd);
  }
}

test('lines come last first, whatever the block size; a torn last line and lines longer than a block included', () => {
  const lines = ['{"a":1}', 'x'.repeat(50), '', 'é€ unicode', 'short'];
  const text = lines.join('\n') + '\n' + '{"torn":';
  const expected = ['{"torn":', 'short', 'é€ unicode', 'x'.repeat(50), '{"a":1}'];
  for (const block of [1, 2, 7, 16, 64 * 1024]) assert.deepEqual(backwards(text, block), expected, `block ${block}`);
  assert.deepEqual(backwards('', 4), []);
  assert.deepEqual(backwards('\n\n', 1), []);
  assert.deepEqual(backwards('\none\n', 3), ['one']);
});
