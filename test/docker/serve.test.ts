/**
 * `nb2prod serve` with the real engine: the churn fixture trained, its serving image built (the
 * skew guard inside the build), the real CLI serving it in a container on a free port of
 * 127.0.0.1, predictions over HTTP equal to what the notebook computed in-process, Ctrl-C
 * removing the container, a tampered artifact inside an image refusing to start, a skewed
 * function refusing to build, and `lineage trace <serve image>` leading back to the cells.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { collectContext, packContext } from '../../src/core/docker/context';
import type { ContainerEngine } from '../../src/core/docker/engine';
import { exportKserve } from '../../src/core/export/kserve';
import { SERVE_LABELS } from '../../src/core/serve/image';
import { SERVE_RUN_LABEL, startServe } from '../../src/core/serve/session';
import { CLI, cliInProcess } from '../helpers/cli';
import { checkPredictions, retuneThresholdAfterTheCalls, trainedWorkspace, TrainedWorkspace } from '../helpers/serve-workspace';
import { removeTempDirs, requireEngine, tempDir } from './helpers';

const SERVE_TIMEOUT_MS = 300_000;

describe('nb2prod serve in a container', { timeout: 900_000 }, () => {
  let engine: ContainerEngine | undefined;
  let ws: TrainedWorkspace;
  let image: string | undefined;
  const tags: string[] = [];

  before(async () => {
    ws = await trainedWorkspace();
  });
  after(async () => {
    for (const tag of tags) await engine?.removeImage(tag).catch(() => undefined);
    await removeTempDirs();
  });

  it('serves the run in a container on 127.0.0.1: the 50 held-out rows as the notebook computed them, and Ctrl-C removes the container', async (t) => {
    engine = await requireEngine(t);
    if (!engine) return;
    const cli = spawn(process.execPath, [CLI, 'serve', ws.notebook, '--port', '0'], { cwd: ws.dir, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    cli.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
    const exited = new Promise<number | null>((resolve) => cli.on('exit', (code) => resolve(code)));
    const url = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`not serving within ${SERVE_TIMEOUT_MS / 1000} s:\n${stderr}`)), SERVE_TIMEOUT_MS);
      cli.stdout.setEncoding('utf8').on('data', (c: string) => {
        stdout += c;
        const m = /^Serving churn \(run (\S+)\) at (http:\/\/127\.0\.0\.1:\d+)\nmodel: churn\n/m.exec(stdout);
        if (m) {
          clearTimeout(timer);
          assert.equal(m[1], ws.runId);
          resolve(m[2]);
        }
      });
      void exited.then((code) => reject(new Error(`nb2prod serve exited (${code}) before serving:\n${stderr}`)));
    });
    image = /^built (nb2prod\/churn-serve:[0-9a-f]{12})$/m.exec(stderr)?.[1] ?? /^image (nb2prod\/churn-serve:[0-9a-f]{12}) up to date/m.exec(stderr)?.[1];
    assert.ok(image, stderr);
    tags.push(image);
    assert.match(stderr, /skew guard: 51 calls replayed, all equal/);

    // Published on loopback only, labelled with the run, and the image carries the artifact hashes.
    const containers = await engine.listContainers(`${SERVE_RUN_LABEL}=${ws.runId}`);
    assert.equal(containers.length, 1);
    const [summary] = await engine.findImages({ [SERVE_LABELS.run]: ws.runId });
    assert.ok(summary.tags.includes(image));
    const run = [...(await lineageRuns(ws.dir))].find((r) => r.runId === ws.runId)!;
    for (const name of ['model', 'scaler', 'threshold']) {
      assert.equal(summary.labels[`org.nb2prod.serve.artifact.${name}`], run.artifacts.find((a) => a.name === name)!.sha256, name);
    }

    assert.equal(await checkPredictions(url, 'churn', ws.runId, ws.calls), 50);
    // Published on 127.0.0.1 only: the machine's other addresses do not answer on that port.
    const port = new URL(url).port;
    for (const address of externalAddresses()) {
      await assert.rejects(fetch(`http://${address}:${port}/v2/health/live`, { signal: AbortSignal.timeout(3000) }), `${address}:${port} answers`);
    }

    // The lineage leads from the serving image back to the run, its version and the cells.
    const traced = await cliInProcess(['lineage', 'trace', image], ws.dir);
    assert.equal(traced.code, 0, traced.err);
    assert.match(traced.out, new RegExp(`^served image ${image.replace(/[/.]/g, '\\$&')} {2}[0-9a-f]{12} {2}model churn {2}run ${ws.runId}$`, 'm'));
    assert.match(traced.out, /^ {2}run [0-9a-f]{12} {2}succeeded/m);
    assert.match(traced.out, /^ {2}version [0-9a-f]{12}/m);
    for (const step of ['prepare', 'train', 'evaluate']) assert.match(traced.out, new RegExp(`^ {4}step ${step} {2}cells \\d+\\(${step}\\)$`, 'm'));
    assert.match(traced.out, /^ {4}serve predict {2}cells 7\(serve\)$/m);
    const byId = await cliInProcess(['lineage', 'trace', summary.id.slice(7, 19)], ws.dir);
    assert.equal(byId.code, 0, byId.err);
    assert.match(byId.out, /^served image nb2prod\/churn-serve:/m);

    // Ctrl-C: the CLI stops the server and removes its container before it exits.
    cli.kill('SIGINT');
    assert.equal(await exited, 130, stderr);
    assert.deepEqual(await engine.listContainers(`${SERVE_RUN_LABEL}=${ws.runId}`), []);
    await assert.rejects(fetch(`${url}/v2/health/live`));
  });

  it('reuses the image, and export kserve names the same tag', async (t) => {
    if (!engine || !image) return t.skip('needs the image of the first test');
    const logged: string[] = [];
    const session = await startServe({ workspaceDir: ws.dir, target: ws.notebook, port: 0, engine, log: (l) => logged.push(l) });
    try {
      assert.equal(session.image, image);
      assert.ok(logged.some((l) => l.startsWith(`image ${image} up to date`)), logged.join('\n'));
      assert.equal((await fetch(`${session.url}/v2/health/ready`)).status, 200);
    } finally {
      await session.stop();
    }
    assert.deepEqual(await engine.listContainers(`${SERVE_RUN_LABEL}=${ws.runId}`), []);

    // A port something else holds: one clear error, nothing left running.
    const holder = net.createServer().listen(0, '127.0.0.1');
    await new Promise((resolve) => holder.once('listening', resolve));
    try {
      const taken = (holder.address() as net.AddressInfo).port;
      await assert.rejects(startServe({ workspaceDir: ws.dir, target: ws.notebook, port: taken, engine }), new RegExp(`port ${taken} on 127\\.0\\.0\\.1 is in use`));
      assert.deepEqual(await engine.listContainers(`${SERVE_RUN_LABEL}=${ws.runId}`), []);
    } finally {
      holder.close();
    }
    const exported = await exportKserve({ workspaceDir: ws.dir, target: ws.notebook, out: path.join(await tempDir(), 'isvc.yaml') });
    assert.equal(exported.image, image);
  });

  it('an image whose artifact was changed refuses to start, naming the artifact', async (t) => {
    if (!engine || !image) return t.skip('needs the image of the first test');
    const run = [...(await lineageRuns(ws.dir))].find((r) => r.runId === ws.runId)!;
    const sha = run.artifacts.find((a) => a.name === 'scaler')!.sha256;
    const context = await tempDir();
    await fs.promises.writeFile(
      path.join(context, 'Dockerfile'),
      `FROM ${image}\nUSER root\nRUN python3 -c "open('/srv/artifacts/${sha}', 'ab').write(b'x')"\nUSER serve\n`,
    );
    const tampered = `${image}-tampered`;
    await engine.build(packContext(await collectContext(context)), { tags: [tampered], labels: {} }, () => undefined);
    tags.push(tampered);
    const output: string[] = [];
    const { exitCode } = await engine.run(
      { image: tampered, args: ['python3', '-m', 'churn._serve', '--bundle', '/srv', '--host', '0.0.0.0', '--port', '8080'], mounts: [], labels: { [SERVE_RUN_LABEL]: `${ws.runId}-tampered` } },
      (text) => output.push(text),
    );
    assert.equal(exitCode, 3, output.join(''));
    assert.match(output.join(''), new RegExp(`artifact 'scaler' \\(step prepare\\) does not match its recorded sha256 ${sha} \\(found [0-9a-f]{64}\\): refusing to start`));
  });

  it('refuses to build the serving image when the function does not answer what the notebook computed', async (t) => {
    if (!engine) return t.skip('no engine');
    const skewed = await trainedWorkspace('retuned', retuneThresholdAfterTheCalls);
    await assert.rejects(startServe({ workspaceDir: skewed.dir, target: skewed.notebook, port: 0, engine }), (e: Error) => {
      assert.equal(e.name, 'SkewError');
      assert.match(e.message, /the skew guard refused to serve run/);
      assert.match(e.message, /result\['churn'\]: expected 1, got 0/);
      return true;
    });
    // Only the builder's cache of the steps before the guard; no image carries a tag.
    const left = await engine.findImages({ [SERVE_LABELS.run]: skewed.runId });
    assert.deepEqual(left.flatMap((i) => i.tags), [], 'no serving image');
  });
});

function externalAddresses(): string[] {
  return Object.values(os.networkInterfaces())
    .flat()
    .filter((a) => a && a.family === 'IPv4' && !a.internal)
    .map((a) => a!.address);
}

async function lineageRuns(dir: string) {
  const { openStore } = await import('../../src/core/lineage');
  return openStore(dir)
    .read()
    .records.filter((r) => r.type === 'run')
    .map((r) => r as import('../../src/core/lineage').RunRecord);
}
