/**
 * Running-pipeline markers (store/active): which ones gc counts as live, and which it removes.
 * A marker of this host is live while its process is; another host's or a container's (whose pid
 * means nothing here) while it was refreshed within an hour.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readdirSync, utimesSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { ACTIVE_DIR, CLOCK_MARGIN_MS, holdActive, releaseEnded, runningSince } from '../../src/core/store/active';
import { tempDir } from '../helpers/notebooks';

/** A pid that was this host's and is gone. */
function deadPid(): number {
  const child = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
  return Number(child.stdout);
}

function marker(store: string, name: string, started: number): string {
  const file = path.join(store, ACTIVE_DIR, name);
  writeFileSync(file, JSON.stringify({ run_id: name.split('@')[0], started: started / 1000 }));
  return file;
}

describe('running-pipeline markers', () => {
  it('a live marker protects from its start; a dead or stale one is removed by a cleaning read', async () => {
    const store = tempDir('nb2prod-active-');
    assert.equal(await runningSince(store), undefined, 'no marker, nothing running');

    const before = Date.now();
    const own = await holdActive(store, 'mine');
    const since = await runningSince(store, { clean: true });
    assert.ok(since !== undefined && since >= before - CLOCK_MARGIN_MS - 1000 && since <= Date.now() - CLOCK_MARGIN_MS + 1000, `${since}`);

    const earlier = Date.now() - 10 * 60 * 1000;
    marker(store, `dead@0123456789ab.${deadPid()}.${os.hostname()}`, earlier - 1000);
    const container = marker(store, 'boxed@0123456789ab.7.f00dcafe1234', earlier);
    const stale = marker(store, 'stale@0123456789ab.7.elsewhere', earlier - 2000);
    utimesSync(stale, new Date(Date.now() - 2 * 3600_000), new Date(Date.now() - 2 * 3600_000));

    // The container's marker is the oldest live one: the dead and the stale are not counted.
    assert.equal(await runningSince(store, { clean: false }), earlier - CLOCK_MARGIN_MS);
    assert.equal(readdirSync(path.join(store, ACTIVE_DIR)).length, 4, 'a read without clean removes nothing');
    await runningSince(store, { clean: true });
    assert.deepEqual(readdirSync(path.join(store, ACTIVE_DIR)).sort(), [path.basename(container), path.basename(own.file)].sort());

    // Once a run's containers ended, their markers go; this process's own stays until it releases it.
    await releaseEnded(store, 'boxed');
    await releaseEnded(store, 'mine');
    assert.deepEqual(readdirSync(path.join(store, ACTIVE_DIR)), [path.basename(own.file)]);
    await own.release();
    assert.equal(await runningSince(store), undefined);
  });
});
