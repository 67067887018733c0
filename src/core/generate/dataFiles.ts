/**
 * Files the notebook reads by a literal relative path (`pd.read_csv("data/train.csv")`) and
 * local modules it imports (`import utils` with utils.py beside it). They are copied into the
 * package at the same relative path, so the pipeline runs from its own directory and its image.
 */
import { promises as fs } from 'fs';
import * as path from 'path';

const STRING_LITERAL = /(['"])((?:(?!\1)[^\\\n]){1,300})\1/g;
export const MAX_COPIED_DATA_BYTES = 100 * 1024 * 1024;
/** Files that look like credentials are never copied into a package (and so never into an image). */
const SECRET_NAME = /(^|\/)(\.env|.*\.(pem|key|p12|pfx|kdbx)|id_(rsa|dsa|ecdsa|ed25519).*|.*(secret|credential|password|token).*)$/i;

export function looksLikeSecret(relPath: string): boolean {
  return SECRET_NAME.test(relPath);
}

export interface LocalFile {
  /** POSIX path relative to the notebook's directory (and to the package root). */
  relPath: string;
  absPath: string;
  bytes: number;
}

export function stringLiterals(code: string): string[] {
  const found = new Set<string>();
  for (const m of code.matchAll(STRING_LITERAL)) found.add(m[2]);
  return [...found];
}

/** Existing files inside the notebook's directory named by the literals; never outside it. */
export async function findDataFiles(notebookDir: string, literals: string[]): Promise<LocalFile[]> {
  const files = new Map<string, LocalFile>();
  for (const literal of literals) {
    if (!/^[\w.-]+(\/[\w.-]+)*$/.test(literal) || path.isAbsolute(literal) || !/[./]/.test(literal)) continue;
    const abs = path.resolve(notebookDir, literal);
    const rel = path.relative(notebookDir, abs);
    if (!rel || rel.startsWith('..') || path.isAbsolute(rel) || rel.split(path.sep).some((p) => p.startsWith('.'))) continue;
    const stat = await fs.stat(abs).catch(() => undefined);
    if (!stat?.isFile()) continue;
    files.set(rel, { relPath: rel.split(path.sep).join('/'), absPath: abs, bytes: stat.size });
  }
  return [...files.values()].sort((a, b) => a.relPath.localeCompare(b.relPath));
}

export async function findLocalModules(notebookDir: string, modules: string[]): Promise<LocalFile[]> {
  const found: LocalFile[] = [];
  for (const module of modules) {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(module)) continue;
    const file = path.join(notebookDir, `${module}.py`);
    const stat = await fs.stat(file).catch(() => undefined);
    if (stat?.isFile()) found.push({ relPath: `${module}.py`, absPath: file, bytes: stat.size });
  }
  return found;
}
