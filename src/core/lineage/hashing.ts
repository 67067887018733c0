/** File hashes for lineage: generated files, data files a notebook reads, run artifacts. */
import { createHash } from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import { mapLimited } from '../mapLimited';
import type { FileHash } from './records';

/** Files up to this size are read in one call: a stream per small file costs more than its hashing. */
const READ_WHOLE_BYTES = 4 * 1024 * 1024;

/** Files read at once: enough to hide each read's latency, well under any descriptor limit. */
export const FILES_AT_ONCE = 32;

/** sha256 and size of a file; a large data file is streamed so it does not sit in memory. */

export async function hashFile(file: string): Promise<{ sha256: string; bytes: number }> {
  const { size } = await fs.promises.stat(file);
  if (size <= READ_WHOLE_BYTES) {
    const data = await fs.promises.readFile(file);
    return { sha256: createHash('sha256').update(data).digest('hex'), bytes: data.length };
  }
  return new Promise((resolve, reject) => {
    const hash = createHash('sha256');
    let bytes = 0;
    fs.createReadStream(file)
      .on('data', (chunk) => {
        bytes += chunk.length;
        hash.update(chunk);
      })
      .on('error', reject)
      .on('end', () => resolve({ sha256: hash.digest('hex'), bytes }));
  });
}

/**
 * Hash files and name them relative to the workspace (forward slashes, as records store them).
 * With `skipMissing`, a file that is not there is left out instead of failing the whole call.
 */
export async function hashFiles(workspaceDir: string, files: string[], opts: { skipMissing?: boolean } = {}): Promise<FileHash[]> {
  const hashed = await mapLimited(files, FILES_AT_ONCE, async (file) => {
    const abs = path.resolve(workspaceDir, file);
    try {
      return { path: workspaceRelative(workspaceDir, abs), ...(await hashFile(abs)) };
    } catch (e) {
      if (opts.skipMissing && ['ENOENT', 'ENOTDIR'].includes((e as NodeJS.ErrnoException).code ?? '')) return undefined;
      throw e;
    }
  });
  return hashed.filter((f): f is FileHash => f !== undefined);
}

export function workspaceRelative(workspaceDir: string, file: string): string {
  return path.relative(path.resolve(workspaceDir), path.resolve(workspaceDir, file)).split(path.sep).join('/');
}

function isInside(dir: string, file: string): boolean {
  const rel = path.relative(dir, file);
  return rel !== '' && !rel.startsWith('..') && !path.isAbsolute(rel);
}

// Python (with r/b/u/f prefixes, triple quotes) and JS/TS ('', "", ``) string literals. Not a
// tokenizer: a quote inside a comment can pair wrongly, which only yields a candidate that names
// no file. Single-quoted forms stop at a newline so an apostrophe in a comment cannot swallow code.
const LITERAL =
  /([rRbBuUfF]{0,2})("""[\s\S]*?"""|'''[\s\S]*?'''|"(?:[^"\\\n]|\\.)*"|'(?:[^'\\\n]|\\.)*'|`(?:[^`\\]|\\[\s\S])*`)/g;

/** String literal values in Python or JS/TS source, unescaped. Prefixed raw strings keep backslashes. */
export function extractStringLiterals(code: string): string[] {
  const out: string[] = [];
  for (const m of code.matchAll(LITERAL)) {
    const prefix = m[1].toLowerCase();
    const quoted = m[2];
    const q = quoted.startsWith('"""') || quoted.startsWith("'''") ? 3 : 1;
    const body = quoted.slice(q, quoted.length - q);
    out.push(prefix.includes('r') ? body : unescape(body));
  }
  return out;
}

function unescape(s: string): string {
  if (!s.includes('\\')) return s;
  return s.replace(/\\(.)/gs, (_, c: string) => {
    switch (c) {
      case 'n':
        return '\n';
      case 't':
        return '\t';
      case '\n':
        return ''; // line continuation inside a string
      default:
        return c; // \\ \' \" and anything else: the character itself
    }
  });
}

const MAX_PATH_LENGTH = 1024;
const NOT_A_PATH = /[\n\r\t\0{}]|^[a-z][a-z0-9+.-]*:\/\//i; // multi-line text, f-string holes, URLs

/**
 * Data files a notebook reads: those string literals that name an existing regular file inside the
 * workspace, tried relative to the notebook's directory (where Jupyter runs it) and then to the
 * workspace root. Returns workspace-relative paths with sha256 and size, sorted, without duplicates.
 * Never throws for a candidate that cannot be read; it is simply not a data file.
 */
export async function collectDataFiles(workspaceDir: string, notebookDir: string, stringLiterals: string[]): Promise<FileHash[]> {
  const root = path.resolve(workspaceDir);
  const nbDir = path.resolve(root, notebookDir);
  const storeDir = path.join(root, '.nb2prod');
  const candidates = (literal: string) =>
    (path.isAbsolute(literal) ? [root] : [nbDir, root])
      .map((base) => path.resolve(base, literal))
      .filter((abs) => isInside(root, abs) && abs !== storeDir && !isInside(storeDir, abs));
  const literals = [...new Set(stringLiterals.map((raw) => raw.trim()))].filter(
    (literal) => literal !== '' && literal.length <= MAX_PATH_LENGTH && !NOT_A_PATH.test(literal),
  );
  // Literals are looked up concurrently (a notebook has hundreds); for each, the first readable file wins.
  const hashes = await mapLimited(literals, FILES_AT_ONCE, (literal) => firstReadableFile(root, candidates(literal)));
  const found = new Map<string, FileHash>();
  for (const hash of hashes) if (hash && !found.has(hash.path)) found.set(hash.path, hash);
  return [...found.values()].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

async function firstReadableFile(root: string, candidates: string[]): Promise<FileHash | undefined> {
  for (const abs of candidates) {
    try {
      if (!(await fs.promises.stat(abs)).isFile()) continue;
      return { path: workspaceRelative(root, abs), ...(await hashFile(abs)) };
    } catch {
      continue; // missing or unreadable: not something the notebook can read either
    }
  }
  return undefined;
}

/** `collectDataFiles` over raw code (cell sources): extracts the string literals first. */
export function collectDataFilesFromCode(workspaceDir: string, notebookDir: string, code: string[]): Promise<FileHash[]> {
  return collectDataFiles(workspaceDir, notebookDir, code.flatMap(extractStringLiterals));
}
