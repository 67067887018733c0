/** Wall time and peak memory of a child process, measured the same way for us and for baselines. */
import { spawnSync } from 'child_process';

export interface Measurement {
  seconds: number;
  peakMB: number;
  status: number;
  stderr: string;
}

// Python's resource module reports the children's peak RSS; the same probe wraps every command.
const PROBE =
  'import resource,subprocess,sys,time\n' +
  't=time.perf_counter()\n' +
  'r=subprocess.run(sys.argv[1:],stdout=subprocess.DEVNULL,stderr=subprocess.PIPE)\n' +
  'd=time.perf_counter()-t\n' +
  'sys.stderr.buffer.write(r.stderr[-2000:])\n' +
  'print(d, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, r.returncode)\n';

export function measure(command: string, args: string[], cwd?: string, env?: NodeJS.ProcessEnv): Measurement {
  const r = spawnSync('python3', ['-c', PROBE, command, ...args], { cwd, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024, env: { ...process.env, ...env } });
  const [seconds, maxrssKB, status] = (r.stdout ?? '').trim().split(/\s+/).map(Number);
  return { seconds, peakMB: maxrssKB / 1024, status: Number.isFinite(status) ? status : 1, stderr: r.stderr ?? '' };
}

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

/** Runs `fn` n times and keeps the median time and the largest peak. */
export function repeat(n: number, fn: () => Measurement): Measurement {
  const runs = Array.from({ length: n }, fn);
  return { seconds: median(runs.map((r) => r.seconds)), peakMB: Math.max(...runs.map((r) => r.peakMB)), status: Math.max(...runs.map((r) => r.status)), stderr: runs.map((r) => r.stderr).join('') };
}

export function table(rows: string[][]): string {
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return rows.map((r) => r.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ')).join('\n');
}
