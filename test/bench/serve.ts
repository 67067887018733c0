/**
 * `python -m <pkg>._serve`: latency and throughput of POST /predict and the V2 infer route for a
 * small scikit-learn model (scaler + logistic regression, hand-written preprocessing), beside the
 * same predict called in-process in a Python loop. The difference at p50 is the HTTP overhead
 * (target: under 3 ms); throughput at concurrency 16 (target: over 500 requests/s). The client
 * is Node's http with keep-alive connections, in this process, on the same two cores.
 */
import { spawnSync } from 'child_process';
import * as http from 'http';
import { mkdtempSync, readFileSync } from 'fs';
import * as os from 'os';
import * as path from 'path';
import { SCIENTIFIC_PYTHON } from '../helpers/cli';
import { FEATURES, load, makeServeBundle, percentile, SERVE_MODEL, SERVE_PACKAGE, startServer } from '../helpers/serve-bundle';
import { table } from './measure';

const REQUESTS = 2000;
const CONCURRENCY = 16;
const OVERHEAD_TARGET_MS = 3;
const THROUGHPUT_TARGET = 500;
/** Linux's USER_HZ: /proc/<pid>/stat counts CPU time in these. */
const CLOCK_TICKS = 100;

/** predict timed call by call after the server's own loading and bind() (no HTTP, no JSON). */
const IN_PROCESS = `import json, sys, time
bundle, count = sys.argv[1], int(sys.argv[2])
sys.path.insert(0, bundle)
serve = __import__("${SERVE_PACKAGE}._serve", fromlist=["_"])
model = serve.Model(bundle)
rows = json.load(open(bundle + "/expected.json"))["rows"]
for row in rows:
    model.function(row)
times = []
for at in range(count):
    row = rows[at % len(rows)]
    started = time.perf_counter()
    model.function(row)
    times.append((time.perf_counter() - started) * 1000)
print(json.dumps(times))
`;

export async function benchServe(print: (row: string) => void): Promise<void> {
  const bundle = makeServeBundle(path.join(mkdtempSync(path.join(os.tmpdir(), 'nb2prod-bench-serve-')), 'bundle'));
  const inProcess = spawnSync(SCIENTIFIC_PYTHON, ['-c', IN_PROCESS, bundle.dir, String(REQUESTS)], { encoding: 'utf8', timeout: 300_000 });
  if (inProcess.status !== 0) throw new Error(`in-process loop failed: ${inProcess.stderr}`);
  const calls = JSON.parse(inProcess.stdout) as number[];

  const server = await startServer(bundle.dir);
  const agent = new http.Agent({ keepAlive: true, maxSockets: CONCURRENCY });
  try {
    const { port } = new URL(server.url);
    const post = (route: string, body: string) => () =>
      new Promise<void>((resolve, reject) => {
        const request = http.request({ host: '127.0.0.1', port, path: route, method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } }, (response) => {
          response.resume();
          response.on('end', () => (response.statusCode === 200 ? resolve() : reject(new Error(`status ${response.statusCode}`))));
        });
        request.on('error', reject);
        request.end(body);
      });
    const rows = bundle.rows;
    let i = 0;
    const predict = () => post('/predict', JSON.stringify(rows[i++ % rows.length]))();
    const infer = () => {
      const row = rows[i++ % rows.length];
      return post(`/v2/models/${SERVE_MODEL}/infer`, JSON.stringify({ inputs: FEATURES.map((name) => ({ name, shape: [1], datatype: 'FP64', data: [row[name]] })) }))();
    };
    await load(200, 1, predict); // warm-up: connections, first imports
    const cpu = serverCpu(server.child.pid);
    // Other work on the two cores moves these figures: each row is the median of three rounds by throughput.
    const measured = async (count: number, concurrency: number, request: () => Promise<void>) => {
      const rounds = [];
      for (let round = 0; round < 3; round++) {
        const before = cpu();
        const result = await load(count, concurrency, request);
        rounds.push({ result, cpuMs: (cpu() - before) / count });
      }
      return rounds.sort((a, b) => a.result.seconds - b.result.seconds)[1];
    };
    const runs = [
      { name: `POST /predict, 1 at a time`, ...(await measured(REQUESTS, 1, predict)) },
      { name: `POST /predict, ${CONCURRENCY} at a time`, ...(await measured(REQUESTS, CONCURRENCY, predict)) },
      { name: `V2 infer (1 row), 1 at a time`, ...(await measured(REQUESTS, 1, infer)) },
      { name: `V2 infer (1 row), ${CONCURRENCY} at a time`, ...(await measured(REQUESTS, CONCURRENCY, infer)) },
    ];
    const callSeconds = calls.reduce((a, b) => a + b, 0) / 1000;
    const rowsOut = [
      ['', 'p50 ms', 'p99 ms', 'per second', 'server CPU ms', 'errors'],
      ['predict in-process (Python loop)', percentile(calls, 50).toFixed(3), percentile(calls, 99).toFixed(3), (calls.length / callSeconds).toFixed(0), '-', '-'],
      ...runs.map(({ name, result, cpuMs }) => [
        name,
        percentile(result.ms, 50).toFixed(3),
        percentile(result.ms, 99).toFixed(3),
        (result.ms.length / result.seconds).toFixed(0),
        Number.isNaN(cpuMs) ? '-' : cpuMs.toFixed(2),
        String(result.failures.length),
      ]),
    ];
    print(table(rowsOut).replace(/^/gm, '  '));
    const overhead = percentile(runs[0].result.ms, 50) - percentile(calls, 50);
    const throughput = runs[1].result.ms.length / runs[1].result.seconds;
    print(
      `  HTTP overhead at p50: ${overhead.toFixed(2)} ms (${overhead < OVERHEAD_TARGET_MS ? 'ok' : 'OVER'}, target < ${OVERHEAD_TARGET_MS} ms); ` +
        `throughput at concurrency ${CONCURRENCY}: ${throughput.toFixed(0)} requests/s (${throughput > THROUGHPUT_TARGET ? 'ok' : 'UNDER'}, target > ${THROUGHPUT_TARGET})`,
    );
    print(
      `  (${REQUESTS} requests per round over keep-alive connections, the median of 3 rounds; server CPU: the server process's user + system time per request; ` +
        `${os.availableParallelism()} CPUs shared by the client, the server and anything else running)`,
    );
    if (runs.some((r) => r.result.failures.length > 0)) throw new Error(`requests failed: ${runs.flatMap((r) => r.result.failures).slice(0, 3).join('; ')}`);
  } finally {
    agent.destroy();
    await server.stop();
  }
}

/** The process's user + system CPU time in ms so far (Linux's /proc; NaN elsewhere). */
function serverCpu(pid: number | undefined): () => number {
  return () => {
    try {
      const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
      return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLOCK_TICKS;
    } catch {
      return NaN;
    }
  };
}
