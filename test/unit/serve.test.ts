/**
 * `nb2prod serve --local` and `nb2prod export kserve` on a real recorded run of the churn fixture
 * (Debian's Python with scikit-learn, FastAPI and uvicorn; real HTTP over loopback), and the
 * lineage `serve` record: folded under its run, traced from a serving image to the run, version
 * and cells, and kept in the audit chain.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parse } from 'yaml';
import { inferenceService, resourceName } from '../../src/core/export/kserve';
import { foldRecords, loadModel, openStore, readSnapshot, recordServe, RunRecord, ServeRecord, SNAPSHOT_EVERY, trace } from '../../src/core/lineage';
import { treeJson } from '../../src/core/lineage/render';
import { objectStoreDir } from '../../src/core/store/objects';
import { curlExample, ServeSession, startServe } from '../../src/core/serve/session';
import { cliInProcess, SCIENTIFIC_PYTHON } from '../helpers/cli';
import { tempDir, writeNotebook } from '../helpers/notebooks';
import { checkPredictions, postJson, retuneThresholdAfterTheCalls, shiftThresholdByAParameter, trainedWorkspace, TrainedWorkspace } from '../helpers/serve-workspace';

const hasStack = spawnSync(SCIENTIFIC_PYTHON, ['-c', 'import pandas, sklearn, fastapi, uvicorn'], { encoding: 'utf8' }).status === 0;
const skip = hasStack ? false : `${SCIENTIFIC_PYTHON} lacks pandas, scikit-learn, FastAPI or uvicorn`;

function lineage(dir: string) {
  return foldRecords(openStore(dir).read().records);
}

describe('nb2prod serve --local, export kserve and the serve record', { skip }, () => {
  let ws: TrainedWorkspace;
  const sessions: ServeSession[] = [];

  before(async () => {
    ws = await trainedWorkspace();
  });
  after(async () => {
    await Promise.all(sessions.map((s) => s.stop()));
  });

  it('serves the run with the notebook’s own code: the 50 held-out rows answer what the notebook computed, via /predict and V2 infer', async () => {
    const logged: string[] = [];
    const session = await startServe({ workspaceDir: ws.dir, target: ws.notebook, local: true, python: SCIENTIFIC_PYTHON, port: 0, log: (l) => logged.push(l) });
    sessions.push(session);
    assert.equal(session.model, 'churn');
    assert.equal(session.runId, ws.runId);
    assert.equal(session.image, undefined);
    assert.match(session.url, /^http:\/\/127\.0\.0\.1:\d+$/);
    assert.ok(logged.some((l) => /skew guard: 51 calls replayed, all equal/.test(l)), logged.join('\n'));
    assert.equal(await checkPredictions(session.url, session.model, ws.runId, ws.calls), 50);

    // The curl example is a request the server takes.
    const body = JSON.parse(/-d '(.*)'$/.exec(session.curlExample)![1]);
    assert.deepEqual(Object.keys(body), ['tenure', 'monthly_charges', 'contract']);
    assert.equal((await postJson(`${session.url}/predict`, { ...body, tenure: 3, contract: 'one-year' })).status, 200);
    assert.equal((await fetch(session.docsUrl)).status, 200);

    // Recorded under the run it serves, with every artifact hash it carries.
    const model = lineage(ws.dir);
    const run = [...model.byId.values()].find((n) => n.kind === 'run' && n.record.runId === ws.runId);
    assert.ok(run?.kind === 'run');
    assert.equal(run.serves.length, 1);
    const serve = run.serves[0].record;
    assert.equal(serve.local, true);
    assert.deepEqual(serve.parents, [run.id]);
    assert.deepEqual(serve.cell, { index: 7, id: 'serve' });
    const bySha = new Map(run.record.artifacts.map((a) => [`${a.step}/${a.name}`, a.sha256]));
    assert.deepEqual(
      serve.artifacts.map((a) => a.name).sort(),
      ['model', 'scaler', 'serve_calls', 'threshold'],
    );
    for (const a of serve.artifacts) assert.equal(a.sha256, bySha.get(`${a.step}/${a.name}`), a.name);

    await session.stop();
    assert.deepEqual(await session.done, { code: 0 });
    await assert.rejects(fetch(`${session.url}/v2/health/live`), 'nothing listens after stop()');
  });

  it('refuses to start, naming the artifact, when an object in the store was tampered with', async () => {
    const model = lineage(ws.dir);
    const run = [...model.byId.values()].find((n) => n.kind === 'run' && n.record.runId === ws.runId)!;
    const sha = (run.record as RunRecord).artifacts.find((a) => a.name === 'model')!.sha256;
    const object = path.join(objectStoreDir(ws.dir), 'sha256', sha.slice(0, 2), sha.slice(2));
    const original = fs.readFileSync(object);
    fs.chmodSync(object, 0o644);
    fs.appendFileSync(object, Buffer.from('tampered'));
    try {
      await assert.rejects(
        startServe({ workspaceDir: ws.dir, target: ws.notebook, local: true, python: SCIENTIFIC_PYTHON, port: 0 }),
        (e: Error) => /artifact 'model' \(step train\) does not match its recorded sha256/.test(e.message) && /refusing to start/.test(e.message),
      );
    } finally {
      fs.writeFileSync(object, original);
      fs.chmodSync(object, 0o444);
    }
  });

  it('the CLI prints where it serves and the model name, and exits when the server is stopped', async () => {
    const controller = new AbortController();
    const out: string[] = [];
    const err: string[] = [];
    const { main } = await import('../../src/cli');
    const exited = main(['serve', ws.notebook, '--local', '--python', SCIENTIFIC_PYTHON, '--port', '0', '--run', ws.runId], {
      cwd: ws.dir,
      env: process.env,
      out: (l) => {
        out.push(l);
        // Ctrl-C once it serves.
        if (l.startsWith('model: ')) setTimeout(() => controller.abort(), 100);
      },
      err: (l) => err.push(l),
      signal: controller.signal,
    });
    assert.equal(await exited, 130, err.join('\n'));
    assert.match(out[0], new RegExp(`^Serving churn \\(run ${ws.runId}\\) at http://127\\.0\\.0\\.1:\\d+$`));
    assert.equal(out[1], 'model: churn');
    assert.ok(err.some((l) => l.startsWith('try: curl -s -X POST http://127.0.0.1:')), err.join('\n'));
  });

  it('cancelled while it starts: nothing keeps running and nothing is recorded', async () => {
    const before = lineage(ws.dir).byId.size;
    const controller = new AbortController();
    const starting = startServe({ workspaceDir: ws.dir, target: ws.notebook, local: true, python: SCIENTIFIC_PYTHON, port: 0, signal: controller.signal, log: (l) => (l.startsWith('serving predict') ? setTimeout(() => controller.abort(), 200) : undefined) });
    await assert.rejects(starting, (e: Error) => e.name === 'CancelledError');
    assert.equal(lineage(ws.dir).byId.size, before);
  });

  it('says so when the port is taken', async () => {
    const holder = net.createServer().listen(0, '127.0.0.1');
    await new Promise((resolve) => holder.once('listening', resolve));
    try {
      const taken = (holder.address() as net.AddressInfo).port;
      await assert.rejects(startServe({ workspaceDir: ws.dir, target: ws.notebook, local: true, python: SCIENTIFIC_PYTHON, port: taken }), /the port is in use; pass another --port/);
    } finally {
      holder.close();
    }
  });

  it('usage errors: --python without --local, a bad port, an unknown run', async () => {
    assert.equal((await cliInProcess(['serve', ws.notebook, '--python', 'python3'], ws.dir)).code, 2);
    assert.equal((await cliInProcess(['serve', ws.notebook, '--port', '70000'], ws.dir)).code, 2);
    const unknown = await cliInProcess(['serve', ws.notebook, '--local', '--run', 'no-such-run'], ws.dir);
    assert.equal(unknown.code, 1);
    assert.match(unknown.err, /no run with id "no-such-run"/);
  });

  it('export kserve writes an InferenceService for the serving image: the local tag with a warning, or --image', async () => {
    const local = await cliInProcess(['export', 'kserve', ws.notebook], ws.dir);
    assert.equal(local.code, 0, local.err);
    assert.equal(local.out, path.join(ws.dir, 'pipelines', 'churn', 'churn.kserve.yaml'));
    assert.match(local.err, /warning: nb2prod\/churn-serve:[0-9a-f]{12} is the local tag of the serving image/);
    const doc = parse(fs.readFileSync(local.out, 'utf8'));
    assert.equal(doc.apiVersion, 'serving.kserve.io/v1beta1');
    assert.equal(doc.kind, 'InferenceService');
    assert.equal(doc.metadata.name, 'churn');
    assert.equal(doc.metadata.annotations['org.nb2prod.serve.run'], ws.runId);
    const [container, ...others] = doc.spec.predictor.containers;
    assert.equal(others.length, 0);
    assert.equal(container.name, 'kserve-container');
    assert.match(container.image, /^nb2prod\/churn-serve:[0-9a-f]{12}$/);
    assert.deepEqual(container.ports, [{ containerPort: 8080, protocol: 'TCP' }]);
    assert.equal(container.readinessProbe.httpGet.path, '/v2/health/ready');
    assert.equal(container.livenessProbe.httpGet.path, '/v2/health/live');
    assert.equal(container.readinessProbe.httpGet.port, 8080);

    // The same run and base give the same tag; another base another one.
    assert.equal((await cliInProcess(['export', 'kserve', ws.notebook, '--out', 'again.yaml'], ws.dir)).code, 0);
    assert.equal(parse(fs.readFileSync(path.join(ws.dir, 'again.yaml'), 'utf8')).spec.predictor.containers[0].image, container.image);
    assert.equal((await cliInProcess(['export', 'kserve', ws.notebook, '--out', 'other.yaml', '--base-image', 'python:3.11-slim'], ws.dir)).code, 0);
    assert.notEqual(parse(fs.readFileSync(path.join(ws.dir, 'other.yaml'), 'utf8')).spec.predictor.containers[0].image, container.image);

    const pushed = 'registry.example.com:5000/team/churn-serve@sha256:' + 'a'.repeat(64);
    const given = await cliInProcess(['export', 'kserve', ws.notebook, '--image', pushed, '--out', 'given.yaml'], ws.dir);
    assert.equal(given.code, 0, given.err);
    assert.equal(given.err, '');
    assert.equal(parse(fs.readFileSync(path.join(ws.dir, 'given.yaml'), 'utf8')).spec.predictor.containers[0].image, pushed);

    const bad = await cliInProcess(['export', 'kserve', ws.notebook, '--image', 'churn-serve', '--out', 'bad.yaml'], ws.dir);
    assert.equal(bad.code, 1);
    assert.match(bad.err, /not a reference with a tag or digest/);
    assert.equal((await cliInProcess(['export', 'kserve', ws.notebook, '--volume', 'claim'], ws.dir)).code, 2);

    // Recorded under the run's version, with the image and where it came from.
    const exports = [...lineage(ws.dir).byId.values()].filter((n) => n.kind === 'export').map((n) => n.record as { target: string; image: string; imageSource: string });
    assert.deepEqual(
      exports.map((e) => [e.target, e.imageSource]),
      [
        ['kserve', 'local'],
        ['kserve', 'local'],
        ['kserve', 'local'],
        ['kserve', 'option'],
      ],
    );
    assert.equal(exports[3].image, pushed);
  });

  it('a serve record is traced from its image (tag or id) to the run, its version and the cells; the chain verifies', async () => {
    const model = lineage(ws.dir);
    const run = [...model.byId.values()].find((n) => n.kind === 'run' && n.record.runId === ws.runId)!;
    const version = run.kind === 'run' ? run.version! : undefined;
    const imageId = `sha256:${'c0ffee'.repeat(10)}abcd`;
    const record: ServeRecord = await recordServe({
      workspaceDir: ws.dir,
      versionId: version!.id,
      notebook: ws.notebook,
      run: run.id,
      runId: ws.runId,
      model: 'churn',
      image: 'nb2prod/churn-serve:0123456789ab',
      imageId,
      baseImage: 'nb2prod-base/python-ml:bookworm',
      hash: '0123456789ab'.padEnd(64, '0'),
      local: false,
      function: 'predict',
      cell: { index: 7, id: 'serve' },
      artifacts: [{ name: 'model', step: 'train', sha256: 'f'.repeat(64) }],
    });
    assert.deepEqual(record.parents, [run.id]);
    for (const query of ['nb2prod/churn-serve:0123456789ab', 'c0ffeec0ffee', imageId]) {
      const traced = await cliInProcess(['lineage', 'trace', query], ws.dir);
      assert.equal(traced.code, 0, traced.err);
      assert.match(traced.out, /^served image nb2prod\/churn-serve:0123456789ab {2}c0ffeec0ffee {2}model churn {2}run /m);
      assert.match(traced.out, new RegExp(`^ {2}run ${run.id.slice(0, 12)} {2}succeeded`, 'm'));
      assert.match(traced.out, new RegExp(`^ {2}version ${version!.id.slice(0, 12)}`, 'm'));
      assert.match(traced.out, /^ {4}step train {2}cells 6\(train\)$/m);
      assert.match(traced.out, /^ {4}serve predict {2}cells 7\(serve\)$/m);
    }
    const json = JSON.parse((await cliInProcess(['lineage', 'trace', 'c0ffeec0ffee', '--json'], ws.dir)).out);
    assert.equal(json.hits[0].match, 'serve');
    assert.equal(json.hits[0].run.runId, ws.runId);
    assert.equal(json.hits[0].serve.image, 'nb2prod/churn-serve:0123456789ab');

    const tree = await cliInProcess(['lineage'], ws.dir);
    assert.match(tree.out, /^ {6}serve [0-9a-f]{12} {2}\S+ \S+ {2}nb2prod\/churn-serve:0123456789ab {2}image c0ffeec0ffee {2}model churn {2}1 artifact$/m);
    assert.match(tree.out, /^ {6}serve [0-9a-f]{12} {2}\S+ \S+ {2}local {2}model churn {2}4 artifacts$/m);
    const verified = await cliInProcess(['lineage', 'verify'], ws.dir);
    assert.equal(verified.code, 0, verified.err);
    assert.match(verified.out, /^ok: \d+ records, chain intact/);
  });

  it('refuses to serve when the function does not answer what the notebook computed (a global set again after the calls)', async () => {
    const skewed = await trainedWorkspace('retuned', retuneThresholdAfterTheCalls);
    await assert.rejects(startServe({ workspaceDir: skewed.dir, target: skewed.notebook, local: true, python: SCIENTIFIC_PYTHON, port: 0 }), (e: Error) => {
      assert.match(e.message, /the skew guard refused to serve run/);
      assert.match(e.message, /cell 8, call \d+: result\['churn'\]: expected 1, got 0/);
      return true;
    });
  });
});

describe('nb2prod serve: parameters', { skip }, () => {
  it("binds the run's value of a parameter the function reads when it is not the default", async () => {
    const shifted = await trainedWorkspace('shifted', shiftThresholdByAParameter, ['--param', 'cutoff_shift=0.25']);
    const session = await startServe({ workspaceDir: shifted.dir, target: shifted.notebook, local: true, python: SCIENTIFIC_PYTHON, port: 0 });
    try {
      assert.equal(await checkPredictions(session.url, session.model, shifted.runId, shifted.calls), 50);
    } finally {
      await session.stop();
    }
  });
});

describe('nb2prod serve: what it cannot serve', { skip }, () => {
  it('a run of a notebook without a serve cell, naming the tag to add', async () => {
    const dir = tempDir('nb2prod-serve-none-');
    writeNotebook(dir, 'plain.ipynb', [{ source: 'total = sum(range(10))\nprint(total)', tags: ['step:sum'] }]);
    assert.equal((await cliInProcess(['productionize', 'plain.ipynb'], dir)).code, 0);
    const ran = await cliInProcess(['run', 'pipelines/plain', '--local', '--python', SCIENTIFIC_PYTHON, '--jobs', '1'], dir);
    assert.equal(ran.code, 0, ran.err);
    const served = await cliInProcess(['serve', 'plain.ipynb', '--local'], dir);
    assert.equal(served.code, 1);
    assert.match(served.err, /has no serving function: tag the cell that defines it .* serve,/);
    const none = await cliInProcess(['serve', 'nothing.ipynb', '--local'], dir);
    assert.equal(none.code, 1);
  });

  it('an artifact neither in the object store nor in the workspace any more, naming it', async () => {
    const ws = await trainedWorkspace();
    const run = [...lineage(ws.dir).byId.values()].find((n) => n.kind === 'run' && n.record.runId === ws.runId)!;
    const model = (run.record as RunRecord).artifacts.find((a) => a.name === 'model')!;
    fs.rmSync(path.join(objectStoreDir(ws.dir), 'sha256', model.sha256.slice(0, 2), model.sha256.slice(2)));
    fs.rmSync(path.join(ws.dir, model.path));
    await assert.rejects(
      startServe({ workspaceDir: ws.dir, target: 'pipelines/churn', local: true, python: SCIENTIFIC_PYTHON, port: 0 }),
      new RegExp(`cannot assemble what run ${ws.runId} serves: ${model.path.replace(/[/.]/g, '\\$&')} \\(object ${model.sha256.slice(0, 12)} not in the object store\\)`),
    );
  });
});

describe('serve records in a large store', () => {
  it('fold the same with and without the snapshot: each under its run, with its image', async () => {
    const dir = tempDir('nb2prod-serve-snapshot-');
    const store = openStore(dir, { durable: false });
    const version = await store.append({ type: 'version', notebook: 'nb.ipynb', notebookHash: 'h', planHash: 'p', outDir: 'o', package: 'p', files: [], steps: [{ name: 'train', cells: [{ index: 1, id: 't' }], outputs: ['model'] }], data: [] });
    for (let i = 0; i < SNAPSHOT_EVERY + 10; i++) {
      const run = await store.append({
        type: 'run', versionId: version.id, notebook: 'nb.ipynb', runId: `r${i}`, local: true, params: {}, steps: [{ name: 'train', status: 'succeeded', seconds: 1 }],
        artifacts: [{ path: `o/artifacts/r${i}/train/model.pkl`, sha256: String(i).padStart(64, '0'), bytes: 1, step: 'train', name: 'model' }], metrics: {}, status: 'succeeded',
      });
      if (i % 100 === 0) {
        await store.append({
          type: 'serve', versionId: version.id, notebook: 'nb.ipynb', run: run.id, runId: `r${i}`, model: 'nb', image: `nb2prod/nb-serve:${String(i).padStart(12, '0')}`,
          imageId: `sha256:${String(i).padStart(64, 'e')}`, hash: 'h'.repeat(64), local: false, function: 'predict', cell: { index: 2, id: 's' },
          artifacts: [{ name: 'model', step: 'train', sha256: String(i).padStart(64, '0') }],
        });
      }
    }
    const fresh = loadModel(store, { snapshot: false }).model;
    loadModel(store); // writes the snapshot
    assert.ok(readSnapshot(store.file), 'a snapshot was written');
    const resumed = loadModel(store).model;
    assert.deepEqual(treeJson(resumed), treeJson(fresh));
    const serves = [...resumed.byId.values()].filter((n) => n.kind === 'serve');
    assert.equal(serves.length, 11);
    for (const s of serves) assert.ok(s.kind === 'serve' && s.run?.record.runId === s.record.runId && s.run.serves.includes(s));
    assert.equal(trace(resumed, 'nb2prod/nb-serve:000000000500')[0].run?.record.runId, 'r500');
  });
});

describe('KServe InferenceService shape', () => {
  it('names the resource from the slug as Kubernetes allows', () => {
    assert.equal(resourceName('churn'), 'churn');
    assert.equal(resourceName('2_Churn Model!'), 'churn-model');
    assert.equal(resourceName('___'), 'model');
    assert.equal(resourceName('a'.repeat(80)).length, 63);
  });

  it('is a custom predictor container on port 8080 with V2 health probes', () => {
    const doc = inferenceService({ model: 'churn', image: 'r.example/churn-serve:1', runId: 'run-1', version: 'v1' }) as any;
    assert.equal(doc.spec.predictor.containers[0].image, 'r.example/churn-serve:1');
    assert.equal(doc.spec.predictor.model, undefined, 'no model format: the image is the server');
    assert.deepEqual(doc.metadata.annotations, { 'org.nb2prod.serve.model': 'churn', 'org.nb2prod.serve.run': 'run-1', 'org.nb2prod.serve.version': 'v1' });
  });

  it('the curl example posts one placeholder per field (a list of rows for the rows form)', () => {
    const fields = [
      { name: 'age', type: 'integer' as const },
      { name: "o'brien", type: 'string' as const },
    ];
    assert.equal(curlExample('http://127.0.0.1:8080', { fields, form: 'record' }), `curl -s -X POST http://127.0.0.1:8080/predict -H 'Content-Type: application/json' -d '{"age":0,"o'\\''brien":""}'`);
    assert.match(curlExample('http://h:1', { fields, form: 'rows' }), /-d '\[\{"age":0/);
  });
});
