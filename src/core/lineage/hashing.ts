/** File hashes for lineage: generated files, data files a notebook reads, run artifacts. */
import { createHash } from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import type { FileHash } from './records';

/** Files up to this size are read in one call: a stream per small file costs more than its hashing. */
const READ_WHOLE_BYTES = 4 * 1024 * 1024;

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

/** Hash files and name them relative to the workspace (forward slashes, as records store them). */
export async function hashFiles(workspaceDir: string, files: string[]): Promise<FileHash[]> {
  return Promise.all(
    files.map(async (file) => {
      const abs = path.resolve(workspaceDir, file);
      return { path: workspaceRelative(workspaceDir, abs), ...(await hashFile(abs)) };
    }),
  );
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
  const found = new Map<string, FileHash>();
  for (const raw of new Set(stringLiterals)) {
    const literal = raw.trim();
    if (literal === '' || literal.length > MAX_PATH_LENGTH || NOT_A_PATH.test(literal)) continue;
    for (const base of path.isAbsolute(literal) ? [root] : [nbDir, root]) {
      const abs = path.resolve(base, literal);
      if (!isInside(root, abs) || abs === storeDir || isInside(storeDir, abs)) continue;
      const rel = workspaceRelative(root, abs);
      if (found.has(rel)) break;
      let st: fs.Stats;
      try {
        st = await fs.promises.stat(abs);
      } catch {
        continue;
      }
      if (!st.isFile()) continue;
      try {
        found.set(rel, { path: rel, ...(await hashFile(abs)) });
      } catch {
        continue; // unreadable: not something the notebook can read either
      }
      break;
    }
  }
  return [...found.values()].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

/** `collectDataFiles` over raw code (cell sources): extracts the string literals first. */
export function collectDataFilesFromCode(workspaceDir: string, notebookDir: string, code: string[]): Promise<FileHash[]> {
  return collectDataFiles(workspaceDir, notebookDir, code.flatMap(extractStringLiterals));
}
