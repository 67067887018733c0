import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { sha256 } from '../../src/core/hash';
import { isViewOf, objectStoreDir, openObjectStore } from '../../src/core/store/objects';

function tempDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'nb2prod-objects-'));
}

function storeBytes(dir: string): number {
  let total = 0;
  const walk = (d: string) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else total += fs.statSync(p).size;
    }
  };
  walk(dir);
  return total;
}

test('put stores the bytes once, read-only, under their sha256; a second put adds 0 bytes', async () => {
  const dir = tempDir();
  const file = path.join(dir, 'data.csv');
  const content = Buffer.from('a,b\n1,2\n'.repeat(1000));
  fs.writeFileSync(file, content);
  const store = openObjectStore(path.join(dir, 'objects'));

  const first = await store.put(file);
  assert.deepEqual(first, { sha256: sha256(content), bytes: content.length, added: true });
  const object = store.pathOf(first.sha256);
  assert.equal(object, path.join(dir, 'objects', 'sha256', first.sha256.slice(0, 2), first.sha256.slice(2)));
  assert.deepEqual(fs.readFileSync(object), content);
  assert.equal(fs.statSync(object).mode & 0o777, 0o444);
  const bytesAfterFirst = storeBytes(store.dir);

  const again = await store.put(file);
  assert.equal(again.added, false);
  const known = await store.put(file, { expect: first.sha256 });
  assert.equal(known.added, false);
  assert.equal(storeBytes(store.dir), bytesAfterFirst);
  assert.deepEqual(fs.readdirSync(path.join(store.dir, 'tmp')), [], 'no temp file left');
  assert.deepEqual(await store.list(), [{ sha256: first.sha256, bytes: content.length }]);
  assert.ok(store.has(first.sha256));
});

test('a file changed since lineage hashed it is not stored: its real hash comes back', async () => {
  const dir = tempDir();
  const file = path.join(dir, 'f.txt');
  fs.writeFileSync(file, 'now');
  const store = openObjectStore(path.join(dir, 'objects'));
  const stale = sha256('before');
  const put = await store.put(file, { expect: stale });
  assert.deepEqual(put, { sha256: sha256('now'), bytes: 3, added: false });
  assert.deepEqual(await store.list(), []);
  assert.equal((await store.put(file)).added, true);
});

test('an in-place edit of a restored copy (open r+) never changes the stored object, also as root', async () => {
  const dir = tempDir();
  const file = path.join(dir, 'pkg.py');
  fs.writeFileSync(file, 'print("hello")\n');
  const store = openObjectStore(path.join(dir, 'objects'));
  const { sha256: sha } = await store.put(file);

  const restored = path.join(dir, 'checkout', 'pkg', 'pkg.py');
  assert.equal(await store.restore(sha, restored), 'copied');
  assert.equal(fs.statSync(restored).mode & 0o200, 0o200, 'the copy is writable');
  // What an editor that does not replace the file does; as root the object's 0444 would not stop it.
  const fd = fs.openSync(restored, 'r+');
  fs.writeSync(fd, 'XXXXX', 0);
  fs.closeSync(fd);
  assert.notEqual(fs.statSync(restored).ino, fs.statSync(store.pathOf(sha)).ino);
  assert.equal(sha256(fs.readFileSync(store.pathOf(sha))), sha, 'object intact');
  assert.equal(fs.readFileSync(restored, 'utf8'), 'XXXXX("hello")\n');
  if (process.getuid?.() === 0) {
    // Root writes through any mode bits: only a separate inode keeps the object safe.
    const fd2 = fs.openSync(restored, 'r+');
    fs.writeSync(fd2, 'root', 0);
    fs.closeSync(fd2);
    assert.equal(sha256(fs.readFileSync(store.pathOf(sha))), sha);
  }
});

test('restore with link makes a read-only view sharing the inode; replacing it never touches the object', async () => {
  const dir = tempDir();
  const file = path.join(dir, 'artifact.pkl');
  fs.writeFileSync(file, 'model bytes');
  const store = openObjectStore(path.join(dir, 'objects'));
  const { sha256: sha } = await store.put(file);
  assert.equal(await store.restore(sha, file, { link: true }), 'linked');
  assert.equal(fs.statSync(file).ino, fs.statSync(store.pathOf(sha)).ino);
  assert.equal(fs.statSync(file).mode & 0o777, 0o444);
  // The generated runtimes replace an artifact (remove or rename), never write into it.
  fs.rmSync(file);
  fs.writeFileSync(file, 'other');
  assert.equal(sha256(fs.readFileSync(store.pathOf(sha))), sha);
  assert.deepEqual(fs.readdirSync(dir).sort(), ['artifact.pkl', 'objects']);
});

test('remove frees the bytes; cleanTemp removes a dead writer\'s temp file, not a live one\'s', async () => {
  const dir = tempDir();
  const store = openObjectStore(path.join(dir, 'objects'));
  const file = path.join(dir, 'x');
  fs.writeFileSync(file, '12345');
  const { sha256: sha } = await store.put(file);
  assert.equal(await store.remove(sha), 5);
  assert.equal(store.has(sha), false);
  assert.equal(await store.remove(sha), 0);

  const tmp = path.join(store.dir, 'tmp');
  const dead = path.join(tmp, `abc.999999999.${os.hostname()}`);
  const live = path.join(tmp, `def.${process.pid}.${os.hostname()}`);
  fs.writeFileSync(dead, 'partial');
  fs.writeFileSync(live, 'partial');
  assert.equal(await store.cleanTemp(), 1);
  assert.deepEqual(fs.readdirSync(tmp), [path.basename(live)]);
});

test('the store lives in the workspace unless --objects or NB2PROD_OBJECTS moves it', () => {
  assert.equal(objectStoreDir('/ws'), path.join('/ws', '.nb2prod', 'objects'));
  assert.equal(objectStoreDir('/ws', { NB2PROD_OBJECTS: '/shared/objects' }), '/shared/objects');
  assert.equal(objectStoreDir('/ws', { NB2PROD_OBJECTS: '/shared/objects' }, 'mine'), path.join('/ws', 'mine'));
});

test('isViewOf: a hard link to the object is a view; a copy of the same bytes, a missing file or a missing object is not', async () => {
  const dir = tempDir();
  const file = path.join(dir, 'a.bin');
  fs.writeFileSync(file, 'view me');
  const store = openObjectStore(path.join(dir, 'objects'));
  const { sha256: sha } = await store.put(file);
  assert.equal(await isViewOf(store, file, sha), false, 'the original file is not the object');
  assert.equal(await store.restore(sha, file, { link: true }), 'linked');
  assert.equal(await isViewOf(store, file, sha), true);
  const copy = path.join(dir, 'copy.bin');
  await store.restore(sha, copy);
  assert.equal(await isViewOf(store, copy, sha), false);
  assert.equal(await isViewOf(store, path.join(dir, 'gone.bin'), sha), false);
  assert.equal(await isViewOf(store, file, sha256('other bytes')), false);
});
