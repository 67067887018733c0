/**
 * `nb2prod push --serve` against a real registry (Debian's docker-registry on 127.0.0.1): the churn
 * fixture trained, its serving image built by the push (skew guard inside the build) and pushed;
 * the digest the registry answers is the one printed, `export kserve` then names the pushed
 * digest, and `lineage trace <pushed reference>` leads back to the run, its version and the cells.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, describe, it } from 'node:test';
import { parse } from 'yaml';
import type { ContainerEngine } from '../../src/core/docker/engine';
import { foldRecords, openStore, verifyStore, storePath, PushRecord, ServeRecord } from '../../src/core/lineage';
import { cliInProcess, nb2prod } from '../helpers/cli';
import { trainedWorkspace, TrainedWorkspace } from '../helpers/serve-workspace';
import { removeTempDirs, requireEngine, tempDir } from './helpers';
import { Registry, registryDigest, requireRegistryBinary, startRegistry, stopRegistry } from './registry';

const NAMESPACE = 'nb2prod-test';

describe('nb2prod push --serve to a real registry', { timeout: 900_000 }, () => {
  let engine: ContainerEngine | undefined;
  let registry: Registry | undefined;
  let ws: TrainedWorkspace | undefined;
  const tags = new Set<string>();

  after(async () => {
    if (registry) await stopRegistry(registry);
    for (const tag of tags) await engine?.removeImage(tag).catch(() => undefined);
    await removeTempDirs();
  });

  async function pushServe(args: string[]) {
    const env = { DOCKER_CONFIG: await tempDir('nb2prod-docker-config-') };
    const r = nb2prod(['push', ws!.notebook, '--serve', '--registry', `127.0.0.1:${registry!.port}/${NAMESPACE}`, ...args], ws!.dir, env);
    for (const m of r.stderr.matchAll(/^(?:pushing (\S+) |built (\S+)$|image (\S+) up to date)/gm)) tags.add(m[1] ?? m[2] ?? m[3]);
    return r;
  }

  it("pushes the run's serving image: the printed digest is the registry's; export kserve names it; trace leads to the run, version and cells", async (t) => {
    engine = await requireEngine(t);
    if (!engine || !requireRegistryBinary(t)) return;
    registry = await startRegistry();
    ws = await trainedWorkspace();
    const prefix = `127.0.0.1:${registry.port}/${NAMESPACE}`;

    const r = await pushServe([]);
    assert.equal(r.status, 0, r.stderr);
    const lines = r.stdout.split('\n').filter(Boolean);
    assert.equal(lines.length, 1, `stdout is only the reference: ${r.stdout}`);
    const printed = lines[0];
    const digest = new RegExp(`^${prefix.replace(/\./g, '\\.')}/churn-serve@(sha256:[0-9a-f]{64})$`).exec(printed)?.[1];
    assert.ok(digest, printed);
    // Built as serve builds it: the skew guard ran inside the build (or the image was already there).
    assert.match(r.stderr, /skew guard: 51 calls replayed, all equal|^image nb2prod\/churn-serve:[0-9a-f]{12} up to date/m);
    const tag = new RegExp(`^pushing ${prefix.replace(/\./g, '\\.')}/churn-serve:([0-9a-f]{12}) `, 'm').exec(r.stderr)?.[1];
    assert.ok(tag, r.stderr);
    assert.equal(await registryDigest(registry.port, `${NAMESPACE}/churn-serve`, tag), digest);

    // Lineage: the push hangs under a serve record that names the run (no server was started), and the chain verifies.
    const model = foldRecords(openStore(ws.dir).read().records);
    assert.deepEqual(model.issues, []);
    const run = [...model.byId.values()].find((n) => n.kind === 'run' && n.record.runId === ws!.runId)!;
    assert.ok(run.kind === 'run');
    const push = [...model.byId.values()].find((n) => n.kind === 'push')!.record as PushRecord;
    const serve = model.get(push.serveId!)!.record as ServeRecord;
    assert.equal(serve.type, 'serve');
    assert.equal(serve.run, run.id);
    assert.equal(serve.served, false);
    assert.equal(serve.image, `nb2prod/churn-serve:${tag}`);
    assert.equal(serve.imageId, push.imageId);
    assert.deepEqual(push.parents, [run.version!.id, serve.id]);
    assert.equal(push.digest, digest);
    assert.ok(verifyStore(storePath(ws.dir)).ok);

    // The kserve export deploys what the registry holds, without the local-tag warning, and records so.
    const exported = await cliInProcess(['export', 'kserve', ws.notebook], ws.dir);
    assert.equal(exported.code, 0, exported.err);
    assert.doesNotMatch(exported.err, /cannot pull/);
    assert.equal(parse(fs.readFileSync(exported.out, 'utf8')).spec.predictor.containers[0].image, printed);
    const exportRecord = [...foldRecords(openStore(ws.dir).read().records).byId.values()].find((n) => n.kind === 'export')!.record as { image: string; imageSource: string };
    assert.deepEqual([exportRecord.image, exportRecord.imageSource], [printed, 'pushed']);

    // The pushed reference (by digest or by tag) traces back to the run, its version and the cells.
    for (const query of [printed, `${prefix}/churn-serve:${tag}`]) {
      const traced = await cliInProcess(['lineage', 'trace', query], ws.dir);
      assert.equal(traced.code, 0, traced.err);
      assert.match(traced.out, new RegExp(`^pushed ${printed.replace(/[.]/g, '\\.')} {2}push ${push.id.slice(0, 12)} `, 'm'));
      assert.match(traced.out, new RegExp(`^serving image nb2prod/churn-serve:${tag} {2}[0-9a-f]{12} {2}model churn {2}run ${ws.runId} {2}\\(built to push, not served\\)$`, 'm'));
      assert.match(traced.out, new RegExp(`^ {2}run ${run.id.slice(0, 12)} {2}succeeded`, 'm'));
      assert.match(traced.out, new RegExp(`^ {2}version ${run.version!.id.slice(0, 12)}`, 'm'));
      assert.match(traced.out, /^ {4}step train {2}cells 6\(train\)$/m);
      assert.match(traced.out, /^ {4}serve predict {2}cells 7\(serve\)$/m);
    }

    // Again, naming the run: the image is reused, the registry has the same digest, the same serve record describes it.
    const again = await pushServe(['--run', ws.runId]);
    assert.equal(again.status, 0, again.stderr);
    assert.equal(again.stdout.trim(), printed);
    assert.match(again.stderr, new RegExp(`^image nb2prod/churn-serve:${tag} up to date`, 'm'));
    const pushes = [...foldRecords(openStore(ws.dir).read().records).byId.values()].filter((n) => n.kind === 'push').map((n) => n.record as PushRecord);
    assert.equal(pushes.length, 2);
    assert.equal(pushes[1].serveId, serve.id);
  });
});
