/**
 * The build context: ONLY the pipeline directory, filtered by its .dockerignore (the engine,
 * not the daemon, applies it), packed as a deterministic tar (sorted, fixed owner and mtime)
 * so the daemon's layer cache sees identical files as identical. The context hash covers
 * every file sent, Dockerfile included.
 */
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import { PassThrough, Readable } from 'stream';
import { requireBeside } from '../beside';
import { isObjectStore } from '../store/objects';

export interface ContextFile {
  /** POSIX path relative to the context root. */
  rel: string;
  abs: string;
  size: number;
  executable: boolean;
  /** Set for symbolic links, which are sent as links and never followed. */
  linkTarget?: string;
  /** Content given in memory instead of read from `abs`. */
  content?: Buffer;
}

export interface BuildContext {
  dir: string;
  files: ContextFile[];
  /** Sum of the file sizes sent. */
  bytes: number;
  /** sha256 over paths, modes and contents. */
  hash: string;
}

interface IgnorePattern {
  regex: RegExp;
  exclude: boolean;
}

/** Parses .dockerignore text with Docker's rules: `#` comments, `!` exceptions, `**`, last match wins. */
export function parseDockerignore(text: string): IgnorePattern[] {
  const patterns: IgnorePattern[] = [];
  for (const raw of text.split(/\r?\n/)) {
    let line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const exclude = !line.startsWith('!');
    if (!exclude) line = line.slice(1).trim();
    line = path.posix.normalize(line).replace(/^\/+/, '').replace(/\/+$/, '');
    if (!line || line === '.') continue;
    patterns.push({ regex: patternRegex(line), exclude });
  }
  return patterns;
}

/** Whether `rel` (POSIX, relative) is excluded: a pattern matching a parent directory counts too. */
export function isIgnored(rel: string, patterns: IgnorePattern[]): boolean {
  const parts = rel.split('/');
  const candidates = parts.map((_, i) => parts.slice(0, i + 1).join('/'));
  let ignored = false;
  for (const p of patterns) {
    if (candidates.some((c) => p.regex.test(c))) ignored = p.exclude;
  }
  return ignored;
}

function patternRegex(pattern: string): RegExp {
  let re = '^';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i];
    if (c === '*') {
      if (pattern[i + 1] === '*') {
        i++;
        if (pattern[i + 1] === '/') {
          i++;
          re += '(?:.*/)?';
        } else {
          re += '.*';
        }
      } else {
        re += '[^/]*';
      }
    } else if (c === '?') {
      re += '[^/]';
    } else if (c === '[') {
      const end = pattern.indexOf(']', i + 1);
      if (end === -1) {
        re += '\\[';
      } else {
        re += '[' + pattern.slice(i + 1, end).replace(/^!/, '^').replace(/\\/g, '\\\\') + ']';
        i = end;
      }
    } else if (c === '\\' && i + 1 < pattern.length) {
      re += escapeRegex(pattern[++i]);
    } else {
      re += escapeRegex(c);
    }
  }
  return new RegExp(re + '$');
}

function escapeRegex(c: string): string {
  return c.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}

/** Lists, filters and hashes the context of `dir`; `overrides` replace files' contents in memory. */
export async function collectContext(dir: string, overrides: Record<string, string> = {}): Promise<BuildContext> {
  const ignoreFile = path.join(dir, '.dockerignore');
  const patterns = fs.existsSync(ignoreFile) ? parseDockerignore(await fs.promises.readFile(ignoreFile, 'utf8')) : [];
  const hasExceptions = patterns.some((p) => !p.exclude);
  // The daemon needs these two even when the ignore file lists them.
  const alwaysSent = new Set(['Dockerfile', '.dockerignore']);
  const files: ContextFile[] = [];

  async function walk(relDir: string): Promise<void> {
    const entries = await fs.promises.readdir(path.join(dir, relDir), { withFileTypes: true });
    for (const entry of entries) {
      const rel = relDir ? `${relDir}/${entry.name}` : entry.name;
      const abs = path.join(dir, rel);
      const ignored = isIgnored(rel, patterns) && !alwaysSent.has(rel);
      if (entry.isDirectory()) {
        // A store moved inside the pipeline directory (NB2PROD_OBJECTS) is never sent, whatever the ignore file says.
        if (isObjectStore(abs)) continue;
        // An excluded directory is only walked when an exception could re-include something in it.
        if (!ignored || hasExceptions) await walk(rel);
        continue;
      }
      if (ignored) continue;
      if (entry.isSymbolicLink()) {
        files.push({ rel, abs, size: 0, executable: false, linkTarget: await fs.promises.readlink(abs) });
      } else if (entry.isFile()) {
        const stat = await fs.promises.stat(abs);
        files.push({ rel, abs, size: stat.size, executable: (stat.mode & 0o111) !== 0 });
      }
      // Sockets, fifos and devices have no place in an image.
    }
  }
  await walk('');
  for (const [rel, text] of Object.entries(overrides)) {
    const content = Buffer.from(text);
    const existing = files.findIndex((f) => f.rel === rel);
    const file: ContextFile = { rel, abs: path.join(dir, rel), size: content.length, executable: false, content };
    if (existing === -1) files.push(file);
    else files[existing] = file;
  }
  files.sort((a, b) => (a.rel < b.rel ? -1 : a.rel > b.rel ? 1 : 0));

  const hash = crypto.createHash('sha256');
  for (const f of files) {
    const content =
      f.linkTarget !== undefined
        ? `link:${f.linkTarget}`
        : f.content
          ? crypto.createHash('sha256').update(f.content).digest('hex')
          : await sha256File(f.abs);
    hash.update(`${f.rel}\0${f.executable ? 'x' : '-'}\0${content}\n`);
  }
  return { dir, files, bytes: files.reduce((n, f) => n + f.size, 0), hash: hash.digest('hex') };
}

async function sha256File(file: string): Promise<string> {
  const hash = crypto.createHash('sha256');
  for await (const chunk of fs.createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

interface TarPack extends Readable {
  entry(header: Record<string, unknown>, callback: (err?: Error) => void): NodeJS.WritableStream;
  entry(header: Record<string, unknown>, content: string, callback: (err?: Error) => void): void;
  finalize(): void;
  destroy(err?: Error): this;
}

// A fixed mtime: the classic builder hashes file headers for COPY, so real mtimes would make
// an unchanged file look changed after every regeneration.
const EPOCH = new Date(0);

/** A tar stream of the context; `onBytes` counts what is actually sent. */
export function packContext(context: BuildContext, onBytes?: (n: number) => void): Readable {
  const tar = requireBeside<{ pack(): TarPack }>('tar-stream.js', 'tar-stream');
  const pack = tar.pack();
  const out = new PassThrough();
  pack.on('data', (chunk: Buffer) => onBytes?.(chunk.length));
  pack.on('error', (err) => out.destroy(err));
  pack.pipe(out);
  out.on('close', () => pack.destroy());

  (async () => {
    for (const f of context.files) {
      if (out.destroyed) return;
      const header = { name: f.rel, mtime: EPOCH, uid: 0, gid: 0, uname: '', gname: '' };
      if (f.linkTarget !== undefined) {
        await new Promise<void>((resolve, reject) =>
          pack.entry({ ...header, type: 'symlink', linkname: f.linkTarget, mode: 0o777 }, '', (e) => (e ? reject(e) : resolve())),
        );
        continue;
      }
      if (f.content) {
        const content = f.content;
        await new Promise<void>((resolve, reject) =>
          pack.entry({ ...header, type: 'file', mode: 0o644 }, content.toString('utf8'), (e) => (e ? reject(e) : resolve())),
        );
        continue;
      }
      await new Promise<void>((resolve, reject) => {
        const sink = pack.entry({ ...header, type: 'file', size: f.size, mode: f.executable ? 0o755 : 0o644 }, (e) =>
          e ? reject(e) : resolve(),
        );
        const source = fs.createReadStream(f.abs);
        source.on('error', reject);
        source.pipe(sink as NodeJS.WritableStream);
      });
    }
    pack.finalize();
  })().catch((err: Error) => out.destroy(err));
  return out;
}
