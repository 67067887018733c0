/**
 * The object store through the CLI, on real runs of the example notebook: what productionize and
 * run store, `checkout` of an earlier version, and `gc`.
 */
import assert from 'node:assert/strict';
import { closeSync, cpSync, existsSync, openSync, readdirSync, readFileSync, statSync, writeFileSync, writeSync } from 'node:fs';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { sha256 } from '../../src/core/hash';
import { openStore, RunRecord, VersionRecord } from '../../src/core/lineage';
import { openObjectStore } from '../../src/core/store/objects';
import { cliInProcess, PYTHON } from '../helpers/cli';
import { REPO_ROOT, tempDir } from '../helpers/notebooks';

/** The CLI in this process, with the interpreter the tests use. */
const cli = (args: string[], cwd: string) => cliInProcess(args, cwd, { ...process.env, NB2PROD_PYTHON: PYTHON });

async function ok(args: string[], cwd: string) {
  const r = await cli(args, cwd);
  assert.equal(r.code, 0, `${args.join(' ')}: ${r.err}`);
  return r;
}

function example(): string {
  const work = tempDir('nb2prod-store-');
  cpSync(path.join(REPO_ROOT, 'examples'), work, { recursive: true });
  return work;
}

/** Every object's name and size: equal listings are equal stores (objects are named by their bytes). */
function objectListing(work: string): string[] {
  const root = path.join(work, '.nb2prod', 'objects', 'sha256');
  return readdirSync(root).flatMap((d) => readdirSync(path.join(root, d)).map((f) => `${d}${f} ${statSync(path.join(root, d, f)).size}`)).sort();
}

function records(work: string) {
  return openStore(work).read().records;
}

function versions(work: string): VersionRecord[] {
  return records(work).filter((r): r is VersionRecord => r.type === 'version');
}

function runs(work: string): RunRecord[] {
  return records(work).filter((r): r is RunRecord => r.type === 'run');
}

/** A second version: the train step prints more and the CSV has another first row. */
function changeNotebookAndData(work: string): void {
  const file = path.join(work, 'sales_forecast.ipynb');
  const nb = JSON.parse(readFileSync(file, 'utf8'));
  const train = nb.cells.find((c: { metadata: { tags?: string[] } }) => c.metadata.tags?.includes('step:train'));
  train.source = [...(Array.isArray(train.source) ? train.source : [train.source]), '\nprint("version 2")\n'];
  writeFileSync(file, JSON.stringify(nb));
  const csv = path.join(work, 'data', 'sales.csv');
  const lines = readFileSync(csv, 'utf8').split('\n');
  lines[1] = '1,north,999,9.5';
  writeFileSync(csv, lines.join('\n'));
}

describe('object store', () => {
  it('a second identical run adds no artifact bytes (only its own run.json); artifacts become read-only views of their objects', async () => {
    const work = example();
    await ok(['productionize', 'sales_forecast.ipynb'], work);
    await ok(['run', 'pipelines/sales_forecast', '--local', '--run-id', 'one', '--jobs', '1'], work);
    const first = objectListing(work);
    await ok(['run', 'pipelines/sales_forecast', '--local', '--run-id', 'two', '--jobs', '2'], work);
    // Every artifact is the same object again; only the new run.json (its run id and times) is new.
    const second = runs(work)[1].runJson!;
    assert.deepEqual(objectListing(work), [...first, `${second.sha256} ${second.bytes}`].sort());

    const objects = openObjectStore(path.join(work, '.nb2prod', 'objects'));
    const [run] = runs(work);
    assert.ok(run.runJson && objects.has(run.runJson.sha256), 'run.json stored');
    for (const a of run.artifacts) {
      const file = path.join(work, a.path);
      assert.equal(statSync(file).ino, statSync(objects.pathOf(a.sha256)).ino, `${a.path} is a view of its object`);
    }
    const [version] = versions(work);
    assert.ok(version.files.some((f) => f.path.endsWith('/pipeline.json')), 'the manifest is part of the version');
    for (const f of [...version.files, ...version.data]) assert.ok(objects.has(f.sha256), `${f.path} stored`);
  });

  it('checkout of version 1 after the notebook and its CSV changed gives back its package and data byte for byte', async () => {
    const work = example();
    await ok(['productionize', 'sales_forecast.ipynb'], work);
    await ok(['run', 'pipelines/sales_forecast', '--local', '--jobs', '1'], work);
    changeNotebookAndData(work);
    await ok(['productionize', 'sales_forecast.ipynb'], work);
    await ok(['run', 'pipelines/sales_forecast', '--local', '--jobs', '1'], work);
    const [v1, v2] = versions(work);
    assert.ok(v2, 'a second version');
    assert.notDeepEqual(v1.data, v2.data);

    // A file the user changed since: checkout refuses, writes nothing, and names it.
    const readme = path.join(work, 'pipelines', 'sales_forecast', 'README.md');
    writeFileSync(readme, readFileSync(readme, 'utf8') + 'my notes\n');
    const refused = await cli(['checkout', v1.id.slice(0, 8)], work);
    assert.equal(refused.code, 1);
    assert.match(refused.err, /pipelines\/sales_forecast\/README\.md/);
    assert.notEqual(sha256(readFileSync(path.join(work, 'data', 'sales.csv'))), v1.data[0].sha256, 'nothing written');

    await ok(['checkout', v1.id.slice(0, 8), '--force'], work);
    for (const f of [...v1.files, ...v1.data]) assert.equal(sha256(readFileSync(path.join(work, f.path))), f.sha256, f.path);

    // Restored files are the user's copies: writing into them in place (as root too) leaves the objects as they were.
    const objects = openObjectStore(path.join(work, '.nb2prod', 'objects'));
    for (const f of [v1.data[0], v1.files.find((g) => g.path.endsWith('/steps/train.py'))!]) {
      const fd = openSync(path.join(work, f.path), 'r+');
      writeSync(fd, 'edited in place', 0);
      closeSync(fd);
      assert.equal(sha256(readFileSync(objects.pathOf(f.sha256))), f.sha256, `${f.path}: object intact`);
    }

    // Elsewhere, in the workspace layout.
    const to = tempDir();
    await ok(['checkout', v1.id, '--to', to], work);
    for (const f of [...v1.files, ...v1.data]) assert.equal(sha256(readFileSync(path.join(to, f.path))), f.sha256, f.path);
  });

  it('gc keeps what kept runs reference, frees the rest, records what it pruned; verify passes; dry run removes nothing', async () => {
    const work = example();
    await ok(['productionize', 'sales_forecast.ipynb'], work);
    await ok(['run', 'pipelines/sales_forecast', '--local', '--run-id', 'old', '--jobs', '1'], work);
    changeNotebookAndData(work);
    await ok(['productionize', 'sales_forecast.ipynb'], work);
    await ok(['run', 'pipelines/sales_forecast', '--local', '--run-id', 'new', '--jobs', '1'], work);
    const before = objectListing(work);

    const dry = await ok(['gc', '--keep-runs', '1', '--keep-days', '0', '--dry-run'], work);
    assert.match(dry.out, /would free .* in [1-9][0-9]* object/);
    assert.deepEqual(objectListing(work), before);

    const gc = await ok(['gc', '--keep-runs', '1', '--keep-days', '0'], work);
    assert.match(gc.out, /keeping the files of each notebook's last 1 runs/);
    assert.match(gc.out, /freed .* in [1-9][0-9]* object/);
    const after = objectListing(work);
    assert.ok(after.length < before.length);
    const gcRecord = records(work).find((r) => r.type === 'gc');
    assert.ok(gcRecord && gcRecord.type === 'gc');
    assert.equal(gcRecord.pruned.length, before.length - after.length);

    const [oldRun, newRun] = runs(work);
    const [, v2] = versions(work);
    const kept = new Set(after.map((l) => l.split(' ')[0]));
    for (const f of [...v2.files, ...v2.data, ...newRun.artifacts, newRun.runJson!]) assert.ok(kept.has(f.sha256), `${f.path} kept`);
    assert.ok(oldRun.artifacts.some((a) => !kept.has(a.sha256)), 'something only the old run had was freed');
    for (const a of oldRun.artifacts) if (!kept.has(a.sha256)) assert.equal(existsSync(path.join(work, a.path)), false, `${a.path}: its view went with the object`);

    const verify = await ok(['lineage', 'verify'], work);
    assert.match(verify.out, /chain intact/);
    assert.match(verify.out, /pruned by gc/);

    const pruned = await cli(['checkout', 'old'], work);
    assert.equal(pruned.code, 1);
    assert.match(pruned.err, /was pruned by gc on/);

    // The kept version still checks out in full after gc.
    const to = tempDir();
    await ok(['checkout', 'new', '--to', to], work);
    for (const f of [...v2.files, ...v2.data, ...newRun.artifacts]) assert.equal(sha256(readFileSync(path.join(to, f.path))), f.sha256, f.path);
  });
});
