/**
 * Lineage store figures: append latency (with and without fsync, against a bare appendFileSync),
 * read + fold at 10k and 100k records (against bare JSON.parse of every line), first loads through
 * a snapshot (against the same loads without one), an incremental refresh after one append
 * (against a full re-read), verify, and memory.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { performance } from 'perf_hooks';
import { foldRecords, loadModel, openStore, recordBuild, snapshotPath, verifyStore, LiveLineage, LineageStore, RecordInput, trace } from '../../src/core/lineage';
import { sealRecord, sha256 } from '../../src/core/lineage/chain';
import { table } from './measure';

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

const ms = (n: number) => `${n.toFixed(n < 10 ? 2 : 0)} ms`;
const mb = (n: number) => `${(n / 1024 / 1024).toFixed(1)} MB`;

function runInput(i: number, versionId: string, buildId: string, notebook: string): RecordInput {
  return {
    type: 'run',
    versionId,
    buildId,
    notebook,
    runId: `run-${i}`,
    image: 'sha256:' + sha256(buildId),
    local: false,
    params: { alpha: i % 10, epochs: 20 },
    steps: ['load', 'features', 'train', 'evaluate'].map((name, k) => ({ name, status: 'succeeded', seconds: k + i / 1000 })),
    artifacts: ['df', 'features', 'model'].map((name, k) => ({
      path: `pipelines/${path.basename(notebook, '.ipynb')}/runs/run-${i}/${name}.pkl`,
      sha256: sha256(`${i}-${name}`),
      bytes: 1000 * (k + 1),
      step: ['load', 'features', 'train'][k],
      name,
    })),
    metrics: { rmse: 0.3 + (i % 100) / 1000, r2: 0.9 },
    status: 'succeeded',
  };
}

/**
 * Write a realistic store of `n` records directly (chained exactly as the store does, without
 * the lock and fsync, which only the append figures are about): 4 notebooks; per version one build
 * and eight runs.
 */
export function synthesize(file: string, n: number): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const out = fs.openSync(file, 'w');
  let prev = '';
  let versionId = '';
  let buildId = '';
  const parts: string[] = [];
  const t0 = Date.parse('2026-01-01T00:00:00Z');
  for (let i = 0; i < n; i++) {
    const nb = Math.floor(i / 10) % 4;
    const notebook = `notebooks/nb${nb}.ipynb`;
    const k = i % 10;
    let input: RecordInput;
    if (k === 0) {
      input = {
        type: 'version',
        notebook,
        notebookHash: sha256(`nb${i}`),
        git: { commit: sha256(`c${i}`).slice(0, 40), dirty: i % 3 === 0 },
        planHash: sha256(`plan${i}`),
        outDir: `pipelines/nb${nb}`,
        package: `nb${nb}`,
        files: ['pipeline.json', 'pkg/__main__.py', 'pkg/steps/load.py', 'pkg/steps/train.py', 'Dockerfile', 'requirements.txt'].map((p) => ({
          path: `pipelines/nb${nb}/${p}`,
          sha256: sha256(p + i),
          bytes: 1234,
        })),
        steps: ['load', 'features', 'train', 'evaluate'].map((name, s) => ({ name, cells: [{ index: s * 2, id: `cell-${s}-a` }, { index: s * 2 + 1, id: `cell-${s}-b` }], outputs: [name + '_out'] })),
        data: [{ path: 'data/train.csv', sha256: sha256(`data${i}`), bytes: 1_000_000 }],
      };
    } else if (k === 1) {
      input = {
        type: 'build',
        versionId,
        notebook,
        contextHash: sha256(`ctx${i}`),
        dockerfileHash: sha256(`df${i}`),
        baseImage: 'python:3.11-slim',
        imageId: 'sha256:' + sha256(`img${i}`),
        tags: [`nb2prod/nb${nb}:latest`],
        seconds: 42,
        status: 'succeeded',
      };
    } else input = runInput(i, versionId, buildId, notebook);
    const parents = input.type === 'version' ? [] : input.type === 'build' ? [versionId] : [versionId, buildId];
    const { record, line } = sealRecord(input, { ts: new Date(t0 + i * 1000).toISOString(), parents, prev });
    if (record.type === 'version') versionId = record.id;
    if (record.type === 'build') buildId = record.id;
    prev = sha256(line);
    parts.push(line + '\n');
    if (parts.length >= 5000) {
      fs.writeSync(out, parts.join(''));
      parts.length = 0;
    }
  }
  fs.writeSync(out, parts.join(''));
  fs.closeSync(out);
}

/**
 * First loads as the tree (lazy) and the CLI (strict) do them, without and with a snapshot; the
 * snapshot is written by one load first, as the first load after enough appends does.
 */
function snapshotRow(store: LineageStore, n: number): string[] {
  const snapshot = snapshotPath(store.file);
  fs.rmSync(snapshot, { force: true });
  const treeMs = median(3, () => loadModel(store, { snapshot: false }));
  const cliMs = median(3, () => loadModel(store, { strict: true, snapshot: false }));
  const writing = time(() => loadModel(store, { strict: true })).ms;
  const treeSnapMs = median(3, () => loadModel(store));
  const cliSnapMs = median(3, () => loadModel(store, { strict: true }));
  if (loadModel(store, { strict: true }).model.size !== n) throw new Error('snapshot load lost records');
  const ratio = (a: number, b: number) => `${ms(a)} (${(a / b).toFixed(2)}x)`;
  return [n.toLocaleString('en'), ms(treeMs), ratio(treeSnapMs, treeMs), ms(cliMs), ratio(cliSnapMs, cliMs), ms(writing), mb(fs.statSync(snapshot).size)];
}

function time<T>(fn: () => T): { value: T; ms: number } {
  const t = performance.now();
  const value = fn();
  return { value, ms: performance.now() - t };
}

/** Median of `n` timings of `fn`. */
function median(n: number, fn: () => void): number {
  const times: number[] = [];
  for (let i = 0; i < n; i++) times.push(time(fn).ms);
  return percentile(times, 50);
}

export async function benchLineage(print: (row: string) => void): Promise<void> {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'nb2prod-bench-lineage-'));
  // Absolute times mean little on a busy machine; say how busy it was, and compare with the baselines.
  print(`  machine: ${os.cpus().length} CPUs, load average ${os.loadavg()[0].toFixed(1)}; node ${process.version}${(globalThis as { gc?: unknown }).gc ? '' : ' (run with --expose-gc for exact heap figures)'}`);
  try {
    // ---- append latency ----
    const appendRows = [['append (300 each)', 'p50', 'p95', 'max']];
    for (const durable of [true, false]) {
      const ws = path.join(root, `append-${durable}`);
      const store = openStore(ws, { durable });
      const lat: number[] = [];
      for (let i = 0; i < 300; i++) {
        const t = performance.now();
        await store.append(runInput(i, 'v', 'b', 'notebooks/nb.ipynb'));
        lat.push(performance.now() - t);
      }
      appendRows.push([durable ? 'store.append, lock + fsync' : 'store.append, lock, no fsync', ms(percentile(lat, 50)), ms(percentile(lat, 95)), ms(Math.max(...lat))]);
    }
    {
      // Baseline: what an unlocked, unchained append costs.
      const file = path.join(root, 'baseline.jsonl');
      const lat: number[] = [];
      for (let i = 0; i < 300; i++) {
        const line = JSON.stringify(runInput(i, 'v', 'b', 'notebooks/nb.ipynb')) + '\n';
        const t = performance.now();
        fs.appendFileSync(file, line);
        lat.push(performance.now() - t);
      }
      appendRows.push(['baseline: fs.appendFileSync', ms(percentile(lat, 50)), ms(percentile(lat, 95)), ms(Math.max(...lat))]);
    }
    print(table(appendRows).replace(/^/gm, '  '));
    print('');

    // ---- fold ----
    const snapshotRows = [['first load', 'tree: no snapshot', 'tree: snapshot', 'CLI (strict): no snapshot', 'CLI: snapshot', 'load writing it', 'snapshot']];
    const foldRows = [['records', 'file', 'scan + fold (tree)', 'full parse', 'fold parsed', 'full parse + fold (CLI)', 'baseline: JSON.parse lines', 'verify', 'heap: scan / full']];
    for (const n of [10_000, 100_000]) {
      const ws = path.join(root, `fold-${n}`);
      const store = openStore(ws);
      synthesize(store.file, n);
      const size = fs.statSync(store.file).size;
      const read = store.read();
      if (read.records.length !== n || read.problems.length > 0) throw new Error(`synthesized store misread: ${read.records.length}/${n}`);
      const scanMs = median(3, () => loadModel(store, { snapshot: false }));
      const readMs = median(3, () => store.read());
      const { records } = read;
      const foldMs = median(3, () => foldRecords(records));
      const totalMs = median(3, () => foldRecords(store.read().records));
      const baselineMs = median(3, () => {
        for (const l of fs.readFileSync(store.file, 'utf8').split('\n')) if (l) JSON.parse(l);
      });
      const verify = time(() => verifyStore(store.file));
      if (!verify.value.ok) throw new Error('synthesized store does not verify');
      const heapOf = (fn: () => unknown) => {
        (globalThis as { gc?: () => void }).gc?.();
        const before = process.memoryUsage();
        const keep = fn();
        (globalThis as { gc?: () => void }).gc?.();
        const after = process.memoryUsage();
        void keep;
        return after.heapUsed - before.heapUsed + (after.arrayBuffers - before.arrayBuffers);
      };
      const heapScan = heapOf(() => loadModel(store, { snapshot: false }));
      const heapFull = heapOf(() => foldRecords(store.read().records));
      const model = loadModel(store, { snapshot: false }).model;
      foldRows.push([
        n.toLocaleString('en'),
        mb(size),
        ms(scanMs),
        ms(readMs),
        ms(foldMs),
        ms(totalMs),
        ms(baselineMs),
        ms(verify.ms),
        `${mb(heapScan)} / ${mb(heapFull)}`,
      ]);
      if (model.size !== n) throw new Error('model lost records');
      snapshotRows.push(snapshotRow(store, n));

      if (n === 100_000) {
        // ---- incremental refresh after one append, and a first trace (builds the artifact index) ----
        const live = new LiveLineage(store);
        live.refresh();
        const appendStore = openStore(ws, { durable: false });
        const incr: number[] = [];
        for (let i = 0; i < 20; i++) {
          await appendStore.append(runInput(n + i, model.latestVersion('notebooks/nb1.ipynb')!.id, 'b', 'notebooks/nb1.ipynb'));
          incr.push(time(() => live.refresh()).ms);
        }
        const full = time(() => loadModel(store, { snapshot: false })).ms;
        // Recording a build looks up the notebook's latest version, as every recorded event does.
        const started = performance.now();
        const build = await recordBuild(
          { workspaceDir: ws, notebookPath: 'notebooks/nb1.ipynb', contextHash: 'c', dockerfileHash: 'd', baseImage: 'python:3.11-slim', tags: [], seconds: 1, status: 'up-to-date' },
          { store: appendStore },
        );
        const recordMs = performance.now() - started;
        if (!build.versionId) throw new Error('the build found no version');
        const scanMs = time(() => store.reader().readNewEntries()).ms;
        const firstTrace = time(() => trace(live.model, `pipelines/nb${Math.floor((n - 3) / 10) % 4}/runs/run-${n - 3}/model.pkl`)).ms;
        const nextTrace = time(() => trace(live.model, `pipelines/nb${Math.floor((n - 13) / 10) % 4}/runs/run-${n - 13}/model.pkl`)).ms;
        print(table(foldRows).replace(/^/gm, '  '));
        print('');
        print(table(snapshotRows).replace(/^/gm, '  '));
        print('');
        print(
          table([
            ['at 100k records', 'time'],
            ['incremental refresh, 1 new record (p50 of 20)', ms(percentile(incr, 50))],
            ['baseline: full re-scan + fold', ms(full)],
            ['record a build (latest version found from the end)', ms(recordMs)],
            ['baseline: scan of the whole store (how it was found before)', ms(scanMs)],
            ['first trace by path (builds index)', ms(firstTrace)],
            ['next trace by path', ms(nextTrace)],
          ]).replace(/^/gm, '  '),
        );
        print(`  rss ${mb(process.memoryUsage().rss)}; heap figures include the scanned file's bytes, held off the JS heap until records are parsed`);
      }
    }
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
}

if (require.main === module) void benchLineage((row) => console.log(row));
