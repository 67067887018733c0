/**
 * Cell analyses kept on disk between CLI runs, one file per notebook, so re-productionizing
 * a notebook after editing a few cells parses only those cells (and, when nothing changed,
 * never loads a parser at all).
 *
 * The cache lives in the user's cache directory, never in the workspace: a cached analysis
 * carries code that ends up in generated files, and a repository must not be able to ship one.
 * Entries are keyed by the exact cell source and only valid for the analyser build that made
 * them; anything unreadable is treated as empty. Writes go to a temp file and are renamed in,
 * so concurrent runs can only lose an update, never corrupt the file.
 */
import { promises as fs } from 'fs';
import * as os from 'os';
import * as path from 'path';
import { sha256 } from '../hash';
import type { CellAnalysis, CellAnalyzer } from './types';

const FORMAT = 1;
/** Notebooks whose analyses are kept; the least recently written go first. */
export const MAX_CACHED_NOTEBOOKS = 200;

/** Replaced at bundle time by a hash of the analyser's sources and parser versions (esbuild.js). */
declare const NB2PROD_ANALYSIS_BUILD: string;

/** The bundled analyser's identity; undefined when running unbundled (tests), which disables the cache. */
export function analysisBuildId(): string | undefined {
  return typeof NB2PROD_ANALYSIS_BUILD === 'string' ? NB2PROD_ANALYSIS_BUILD : undefined;
}

/** `NB2PROD_CACHE_DIR`, else `$XDG_CACHE_HOME/nb2prod`, else `~/.cache/nb2prod`; undefined when `NB2PROD_NO_CACHE` is set. */
export function userCacheDir(env: NodeJS.ProcessEnv): string | undefined {
  if (env.NB2PROD_NO_CACHE && env.NB2PROD_NO_CACHE !== '0') return undefined;
  if (env.NB2PROD_CACHE_DIR) return env.NB2PROD_CACHE_DIR;
  return path.join(env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache'), 'nb2prod');
}

interface CacheFile {
  format: number;
  build: string;
  entries: [string, CellAnalysis][];
}

export class PersistentAnalyses {
  private readonly used = new Map<string, CellAnalysis>();
  private changed = false;

  private constructor(
    private readonly file: string,
    private readonly build: string,
    private readonly stored: Map<string, CellAnalysis>,
  ) {}

  /** The cache for one notebook (by absolute path and language). Never throws. */
  static async open(cacheDir: string, build: string, notebookFile: string, language: string): Promise<PersistentAnalyses> {
    const file = path.join(cacheDir, 'analysis', `${sha256(`${language}\0${notebookFile}`).slice(0, 32)}.json`);
    return new PersistentAnalyses(file, build, await readEntries(file, build));
  }

  has(source: string): boolean {
    return this.stored.has(source);
  }

  /** Serves stored analyses and fills the rest from `fallback` (which may be absent when every cell is stored). */
  analyzer(language: string, fallback?: CellAnalyzer): CellAnalyzer {
    return {
      language,
      analyzeCell: (source, cell) => {
        let analysis = this.stored.get(source);
        if (!analysis) {
          if (!fallback) throw new Error('analysis cache: a cell is missing and no analyser was loaded');
          analysis = fallback.analyzeCell(source, cell);
          this.changed ||= serializable(analysis);
        }
        this.used.set(source, analysis);
        return analysis;
      },
    };
  }

  /** Writes back the analyses this run used (so removed cells age out) when anything was new or removed. */
  async save(): Promise<void> {
    if (!this.changed && this.used.size === this.stored.size) return;
    const entries = [...this.used].filter(([, analysis]) => serializable(analysis));
    const data: CacheFile = { format: FORMAT, build: this.build, entries };
    const temp = `${this.file}.${process.pid}.${Date.now()}.tmp`;
    try {
      await fs.mkdir(path.dirname(this.file), { recursive: true });
      await fs.writeFile(temp, JSON.stringify(data));
      await fs.rename(temp, this.file);
      // A notebook seen for the first time adds a file: the time to bound how many there are.
      if (this.stored.size === 0) await pruneOldest(path.dirname(this.file), MAX_CACHED_NOTEBOOKS);
    } catch {
      // A read-only or full cache directory only costs speed.
      await fs.rm(temp, { force: true }).catch(() => undefined);
    }
  }
}

async function readEntries(file: string, build: string): Promise<Map<string, CellAnalysis>> {
  try {
    const data = JSON.parse(await fs.readFile(file, 'utf8')) as Partial<CacheFile>;
    if (data.format !== FORMAT || data.build !== build || !Array.isArray(data.entries)) return new Map();
    return new Map(data.entries);
  } catch {
    return new Map();
  }
}

async function pruneOldest(dir: string, keep: number): Promise<void> {
  const names = (await fs.readdir(dir)).filter((n) => n.endsWith('.json'));
  if (names.length <= keep) return;
  const aged = await Promise.all(names.map(async (n) => ({ n, t: (await fs.stat(path.join(dir, n)).catch(() => undefined))?.mtimeMs ?? 0 })));
  aged.sort((a, b) => a.t - b.t);
  await Promise.all(aged.slice(0, names.length - keep).map(({ n }) => fs.rm(path.join(dir, n), { force: true })));
}

/** JSON loses non-finite numbers (`x = 1e400`); such analyses are simply not stored. */
function serializable(analysis: CellAnalysis): boolean {
  return Object.values(analysis.literals).every(finiteJson);
}

function finiteJson(value: unknown): boolean {
  if (typeof value === 'number') return Number.isFinite(value);
  if (Array.isArray(value)) return value.every(finiteJson);
  if (value && typeof value === 'object') return Object.values(value).every(finiteJson);
  return true;
}
