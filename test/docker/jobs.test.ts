/**
 * `nb2prod run --jobs 2` in containers, one per step, on the real engine: the diamond gives the
 * artifacts and lines of a local one-process run, and neither a failed nor a cancelled run
 * leaves a container behind (found by the run id label).
 */
import assert from 'node:assert/strict';
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import { after, describe, it } from 'node:test';
import type { ContainerEngine } from '../../src/core/docker/engine';
import { imageRepository } from '../../src/core/docker/pipeline-dir';
import { RUN_ID_LABEL } from '../../src/core/docker/run';
import {
  artifactHashes,
  cli,
  DIAMOND_STEPS,
  parallelLines,
  PYTHON_DIAMOND,
  runRecord,
  SCIENTIFIC_PYTHON,
  sequentialLines,
  TYPESCRIPT_DIAMOND,
  TYPESCRIPT_METADATA,
} from '../helpers/diamond';
import { notebookJson } from '../helpers/notebooks';
import { removeRepository, removeTempDirs, requireEngine, tempDir } from './helpers';

/** numpy in the image and on the host: the local base image with Debian's scientific packages, Debian's python3. */
const ML_BASE_IMAGE = 'nb2prod-base/python-ml:bookworm';

let engine: ContainerEngine | undefined;
const repositories: string[] = [];

after(async () => {
  if (engine) for (const r of repositories) await removeRepository(engine, r);
  await removeTempDirs();
});

const PYTHON = { cells: PYTHON_DIAMOND, metadata: undefined, baseImage: ['--base-image', ML_BASE_IMAGE] };
/** The TypeScript package's own base image (Node) is local already. */
const TYPESCRIPT = { cells: TYPESCRIPT_DIAMOND, metadata: TYPESCRIPT_METADATA, baseImage: [] };

/** A diamond notebook in a fresh workspace, under a name no other test uses (its image repository is ours to remove). */
async function diamond(notebook: typeof PYTHON | typeof TYPESCRIPT = PYTHON) {
  const work = await tempDir();
  const name = `jobs_${crypto.randomBytes(4).toString('hex')}`;
  await fs.promises.writeFile(path.join(work, `${name}.ipynb`), notebookJson([...notebook.cells], notebook.metadata));
  const out = path.join(work, 'pipeline');
  repositories.push(imageRepository(name));
  const runIn = (runId: string, extra: string[], signal?: AbortSignal, onLine?: (l: string) => void) =>
    cli(['run', `${name}.ipynb`, '--out', out, ...notebook.baseImage, '--workspace', work, '--run-id', runId, ...extra], work, signal, onLine);
  return { work, out, runIn };
}

const leftContainers = (runId: string) => engine!.listContainers(`${RUN_ID_LABEL}=${runId}`);

describe('run --jobs 2 in containers', () => {
  for (const [language, notebook] of [['Python', PYTHON], ['TypeScript', TYPESCRIPT]] as const) {
    it(`runs the ${language} diamond one container per step, equal to the local one-process run, and removes the containers`, async (t) => {
      engine = await requireEngine(t);
      if (!engine) return;
      const d = await diamond(notebook);
      const containers = await d.runIn('containers', ['--jobs', '2']);
      assert.equal(containers.code, 0, containers.err.join('\n'));
      const local = await cli(['run', d.out, '--local', '--python', SCIENTIFIC_PYTHON, '--jobs', '1', '--run-id', 'local', '--workspace', d.work], d.work);
      assert.equal(local.code, 0, local.err.join('\n'));

      assert.deepEqual(artifactHashes(runRecord(d.out, 'containers')), artifactHashes(runRecord(d.out, 'local')));
      assert.equal(Object.keys(artifactHashes(runRecord(d.out, 'local'))).length, 4);
      assert.deepEqual(runRecord(d.out, 'containers').metrics, runRecord(d.out, 'local').metrics);
      // Lines per step, in notebook order, equal what the single process printed.
      assert.deepEqual(parallelLines(containers, DIAMOND_STEPS), sequentialLines(local));
      assert.deepEqual(await leftContainers('containers'), []);
      // The host user owns every file of the run again (containers write as the image's user when we are root).
      const owner = process.getuid?.();
      if (owner !== undefined) {
        for (const f of fs.readdirSync(path.join(d.out, 'artifacts', 'containers'), { recursive: true }) as string[]) {
          assert.equal(fs.statSync(path.join(d.out, 'artifacts', 'containers', f)).uid, owner, f);
        }
      }
    });
  }

  it('fails fast (the join is skipped, the other branch finishes) and leaves no container', async (t) => {
    engine = await requireEngine(t);
    if (!engine) return;
    const d = await diamond();
    const r = await d.runIn('failing', ['--jobs', '2', '--param', 'fail_left=true', '--param', 'pause=1']);
    assert.equal(r.code, 1, r.err.join('\n'));
    assert.deepEqual(
      runRecord(d.out, 'failing').steps.map((s) => `${s.name}:${s.status}`),
      ['load:succeeded', 'left:failed', 'right:succeeded', 'join:skipped'],
    );
    assert.deepEqual(await leftContainers('failing'), []);
  });

  it('cancelled while both branches run: exit 130, no container left', async (t) => {
    engine = await requireEngine(t);
    if (!engine) return;
    const d = await diamond();
    const controller = new AbortController();
    const started = new Set<string>();
    let runningBeforeCancel: Promise<string[]> | undefined;
    const r = await d.runIn('cancelled', ['--jobs', '2', '--param', 'pause=120'], controller.signal, (line) => {
      const m = /^\[(left|right)\] \[pipeline\] /.exec(line);
      if (m) started.add(m[1]);
      if (started.size === 2 && !runningBeforeCancel) {
        runningBeforeCancel = leftContainers('cancelled');
        void runningBeforeCancel.then(() => controller.abort());
      }
    });
    assert.equal(r.code, 130, r.err.join('\n'));
    assert.equal((await runningBeforeCancel)?.length, 2, 'two step containers ran before the cancel');
    assert.deepEqual(await leftContainers('cancelled'), []);
  });
});
