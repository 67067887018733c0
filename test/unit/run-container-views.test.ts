/**
 * A container run as root hands the run directory to the image's user and takes it back: the
 * read-only hard links earlier ingests left there (views of stored objects) must keep the
 * object's owner, mode and bytes throughout, while the user still gets the directories it writes in.
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { sha256 } from '../../src/core/hash';
import { containerLauncher } from '../../src/core/docker/run';
import type { ContainerEngine } from '../../src/core/docker/engine';
import { PIPELINE_UID } from '../../src/core/generate/dockerfile';
import { openObjectStore } from '../../src/core/store/objects';

const asRoot = process.getuid?.() === 0;

test('prepare/finish as root chown the run directory but never an object through its view', { skip: !asRoot && 'only root chowns' }, async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nb2prod-views-'));
  try {
    const runDir = path.join(dir, 'artifacts', 'r1');
    fs.mkdirSync(path.join(runDir, 'load'), { recursive: true });
    const content = Buffer.from('stored artifact bytes\n'.repeat(100));
    const view = path.join(runDir, 'load', 'frame.pkl');
    fs.writeFileSync(view, content);
    const own = path.join(runDir, 'load', 'random_state.pkl');
    fs.writeFileSync(own, 'not stored');
    const store = openObjectStore(path.join(dir, 'objects'));
    const { sha256: sha } = await store.put(view);
    assert.equal(await store.restore(sha, view, { link: true }), 'linked');
    const object = store.pathOf(sha);
    const before = fs.statSync(object);

    // The engine is never called: prepare and finish are all host-side.
    const launcher = containerLauncher({} as ContainerEngine, 'unused');
    await launcher.prepare(runDir);
    assert.equal(fs.statSync(path.join(runDir, 'load')).uid, PIPELINE_UID, 'the container user writes the step folder');
    assert.equal(fs.statSync(own).uid, PIPELINE_UID);
    const during = fs.statSync(object);
    assert.equal(during.uid, before.uid, 'the object keeps its owner while the container runs');
    assert.equal(during.mode, before.mode);
    await launcher.finish(runDir);

    const after = fs.statSync(object);
    assert.deepEqual([after.uid, after.gid, after.mode & 0o7777], [before.uid, before.gid, 0o444]);
    assert.equal(fs.statSync(view).ino, after.ino, 'still a view');
    assert.equal(sha256(fs.readFileSync(object)), sha);
    assert.equal(fs.statSync(own).uid, 0);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
