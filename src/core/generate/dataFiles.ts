/**
 * Files the notebook reads by a literal relative path (`pd.read_csv("data/train.csv")`), by a
 * literal glob pattern (`glob.glob("data/*.csv")`) or by listing a literal directory
 * (`os.listdir("data")`), and local modules it imports (`import utils` with utils.py beside it).
 * They are copied into the package at the same relative path, so the pipeline runs from its own
 * directory and its image.
 */
import { type Dirent, promises as fs, type Stats } from 'fs';
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

/**
 * The literals, and the words of those that hold spaces: a shell line (`!wc -l data/x.csv`) or a
 * command built as one string names its files among other words.
 */
export function stringLiterals(code: string): string[] {
  const found = new Set<string>();
  for (const m of code.matchAll(STRING_LITERAL)) {
    found.add(m[2]);
    if (/\s/.test(m[2])) for (const word of m[2].split(/\s+/)) if (word) found.add(word);
  }
  // A directory the code lists, or a pattern it matches at any depth, is named as the glob
  // pattern of what it reads.
  for (const m of code.matchAll(LISTED_DIRECTORY)) found.add(`${m[3]}/${m[1] === 'walk' ? '**/*' : '*'}`);
  for (const m of code.matchAll(ITERDIR)) found.add(`${m[2]}/*`);
  for (const m of code.matchAll(RGLOB)) found.add(`**/${m[2]}`);
  return [...found];
}

const LISTED_DIRECTORY = /\b(listdir|scandir|walk)\(\s*(['"])([\w.\/-]{1,300})\2/g;
const ITERDIR = /\bPath\(\s*(['"])([\w.\/-]{1,300})\1\s*\)\.iterdir\(/g;
const RGLOB = /\.rglob\(\s*(['"])([\w.*?\[\]!-]{1,300})\1/g;

/**
 * Existing files inside the notebook's directory named by the literals; never outside it.
 * Notebooks build paths from pieces (`os.path.join("data", name)`, `Path(DATA) / "x.csv"`,
 * `f"{DATA_DIR}/{NAME}.csv"`), so a literal is also tried inside every directory other literals
 * lead to, and an f-string's fields are filled with the literals that make an existing path.
 */
export async function findDataFiles(notebookDir: string, literals: string[]): Promise<LocalFile[]> {
  const tree = new DirectoryProbe(notebookDir);
  const plain = literals.filter(isRelativePath);
  const templates = literals.filter((l) => l.includes('{')).map(templateParts).filter((t): t is TemplatePart[] => t !== undefined);
  const directories = await joinedDirectories(tree, plain);
  const candidates = new Set<string>();
  for (const dir of directories) for (const literal of plain) candidates.add(dir ? `${dir}/${literal}` : literal);
  const filledPatterns: string[] = [];
  for (const template of templates) {
    for (const filled of await fillTemplate(tree, template, plain)) {
      if (isGlobPattern(filled)) filledPatterns.push(filled);
      else candidates.add(filled);
    }
  }
  for (const pattern of filledPatterns) for (const match of await expandGlob(tree, '', pattern)) candidates.add(match);
  for (const pattern of literals.filter(isGlobPattern)) {
    for (const dir of directories) {
      // `**` from the notebook's own folder would sweep whatever else lives there.
      if (!dir && pattern.startsWith('**')) continue;
      for (const match of await expandGlob(tree, dir, pattern)) candidates.add(match);
    }
  }

  const files = new Map<string, LocalFile>();
  for (const candidate of candidates) {
    if (!/[./]/.test(candidate)) continue;
    const abs = path.resolve(notebookDir, candidate);
    const rel = path.relative(notebookDir, abs);
    if (!rel || rel.startsWith('..') || path.isAbsolute(rel) || rel.split(path.sep).some((p) => p.startsWith('.'))) continue;
    const stat = await tree.stat(rel);
    if (!stat?.isFile()) continue;
    files.set(rel, { relPath: rel.split(path.sep).join('/'), absPath: abs, bytes: stat.size });
  }
  return [...files.values()].sort((a, b) => a.relPath.localeCompare(b.relPath));
}

/** Bounds on the guessing, so a notebook with thousands of strings stays quick to plan. */
const MAX_JOINED_DIRECTORIES = 32;
const MAX_TEMPLATE_EXPANSIONS = 2000;

/**
 * Bounds on one glob pattern: past them it is not copied at all, since a partial set of files
 * would make the pipeline see less than the notebook did without saying so.
 */
export const MAX_GLOB_FILES = 500;
export const MAX_GLOB_BYTES = MAX_COPIED_DATA_BYTES;
const MAX_GLOB_DEPTH = 8;

/** A relative path pattern with a wildcard and something literal to match (`"*"` alone is usually `"*" * 40`). */
function isGlobPattern(literal: string): boolean {
  return /[*?[]/.test(literal) && /^[\w.*?[\]!/-]+$/.test(literal) && /[A-Za-z0-9]/.test(literal) && !literal.startsWith('/') && !literal.split('/').includes('..');
}

/** What Python's glob.glob finds for `pattern` under `dir`: hidden names match only a pattern that starts with a dot. */
async function expandGlob(tree: DirectoryProbe, dir: string, pattern: string): Promise<string[]> {
  let paths = [dir];
  for (const segment of pattern.split('/').filter(Boolean)) {
    const next: string[] = [];
    for (const base of paths) {
      if (segment === '**') next.push(...(await tree.subdirectories(base, MAX_GLOB_DEPTH)));
      else if (!/[*?[]/.test(segment)) next.push(base ? `${base}/${segment}` : segment);
      else {
        const matches = segmentMatcher(segment);
        for (const name of await tree.names(base)) if (matches(name)) next.push(base ? `${base}/${name}` : name);
      }
      if (next.length > MAX_GLOB_FILES) return [];
    }
    paths = [...new Set(next)];
  }
  let bytes = 0;
  const files: string[] = [];
  for (const candidate of paths) {
    const stat = await tree.stat(candidate);
    if (!stat?.isFile()) continue;
    bytes += stat.size;
    if (bytes > MAX_GLOB_BYTES) return [];
    files.push(candidate);
  }
  return files;
}

/** fnmatch for one path segment: `*`, `?`, `[abc]`, `[!abc]`. */
function segmentMatcher(segment: string): (name: string) => boolean {
  const source = segment.replace(/\[(!?)([^\]]*)\]|[*?]|[^*?[]+|\[/g, (part, negate: string | undefined, chars: string | undefined) => {
    if (part === '*') return '.*';
    if (part === '?') return '.';
    if (chars !== undefined) return `[${negate ? '^' : ''}${chars.replace(/[\\\]^]/g, '\\$&')}]`;
    return part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  });
  const regex = new RegExp(`^${source}$`);
  const hiddenToo = segment.startsWith('.');
  return (name) => (hiddenToo || !name.startsWith('.')) && regex.test(name);
}

function isRelativePath(literal: string): boolean {
  return /^[\w.-]+(\/[\w.-]+)*$/.test(literal) && !path.isAbsolute(literal);
}

/**
 * Answers "what is at this relative path" from one directory listing per directory: a notebook
 * has hundreds of string literals, and a stat per guess made planning wait on the disk.
 */
class DirectoryProbe {
  private readonly listings = new Map<string, Promise<Map<string, Dirent> | undefined>>();

  constructor(private readonly root: string) {}

  /** Size and kind of what is at `rel`, read only for paths the listings show exist. */
  async stat(rel: string): Promise<Stats | undefined> {
    return (await this.entry(rel)) ? fs.stat(path.resolve(this.root, rel)).catch(() => undefined) : undefined;
  }

  async isDirectory(rel: string): Promise<boolean> {
    const entry = await this.entry(rel);
    if (!entry) return false;
    return entry.isDirectory() || (entry.isSymbolicLink() && !!(await this.stat(rel))?.isDirectory());
  }

  /** The names in the directory at `rel` ('' is the root). */
  async names(rel: string): Promise<string[]> {
    if (rel && !(await this.isDirectory(rel))) return [];
    return [...((await this.list(rel)) ?? new Map()).keys()].sort();
  }

  /** `rel` and the directories below it, `**` style: hidden ones left out, at most `depth` levels. */
  async subdirectories(rel: string, depth: number): Promise<string[]> {
    const found = [rel];
    for (let i = 0; i < found.length && found.length <= MAX_GLOB_FILES; i++) {
      if (found[i].split('/').length - rel.split('/').length >= depth) continue;
      for (const name of await this.names(found[i])) {
        const child = found[i] ? `${found[i]}/${name}` : name;
        if (!name.startsWith('.') && (await this.isDirectory(child))) found.push(child);
      }
    }
    return found;
  }

  /** The directory entry at `rel`; undefined when absent, the root itself, or outside the root. */
  private async entry(rel: string): Promise<Dirent | undefined> {
    const inside = path.relative(this.root, path.resolve(this.root, rel));
    if (!inside || inside.startsWith('..') || path.isAbsolute(inside)) return undefined;
    let dir = '';
    let entry: Dirent | undefined;
    for (const name of inside.split(path.sep)) {
      if (entry && !entry.isDirectory() && !entry.isSymbolicLink()) return undefined;
      entry = (await this.list(dir))?.get(name);
      if (!entry) return undefined;
      dir = path.join(dir, name);
    }
    return entry;
  }

  private list(dir: string): Promise<Map<string, Dirent> | undefined> {
    let listing = this.listings.get(dir);
    if (!listing) {
      listing = fs
        .readdir(path.join(this.root, dir), { withFileTypes: true })
        .then((entries) => new Map(entries.map((e) => [e.name, e])))
        .catch(() => undefined);
      this.listings.set(dir, listing);
    }
    return listing;
  }
}

/** The notebook directory and the directories reached by joining literals onto it (`"data"`, then `"raw"`). */
async function joinedDirectories(tree: DirectoryProbe, literals: string[]): Promise<string[]> {
  const found = [''];
  for (let i = 0; i < found.length && found.length < MAX_JOINED_DIRECTORIES; i++) {
    for (const literal of literals) {
      const joined = found[i] ? `${found[i]}/${literal}` : literal;
      if (!found.includes(joined) && (await tree.isDirectory(joined))) found.push(joined);
      if (found.length >= MAX_JOINED_DIRECTORIES) break;
    }
  }
  return found;
}

type TemplatePart = { text: string } | { field: string };

/** `{data_dir}/{name}.csv` -> text and field parts; undefined unless every field is a plain name. */
function templateParts(literal: string): TemplatePart[] | undefined {
  const parts: TemplatePart[] = [];
  let last = 0;
  for (const m of literal.matchAll(/\{([^{}]*)\}/g)) {
    if (!/^\s*[A-Za-z_][\w.]*\s*$/.test(m[1])) return undefined;
    if (m.index! > last) parts.push({ text: literal.slice(last, m.index) });
    parts.push({ field: m[1].trim() });
    last = m.index! + m[0].length;
  }
  if (last < literal.length) parts.push({ text: literal.slice(last) });
  return parts.some((p) => 'field' in p) && !/[{}]/.test(parts.map((p) => ('text' in p ? p.text : '')).join('')) ? parts : undefined;
}

/** Fills the fields left to right, keeping only prefixes whose directories exist. */
async function fillTemplate(tree: DirectoryProbe, template: TemplatePart[], values: string[]): Promise<string[]> {
  let partial = [''];
  for (const part of template) {
    const next = 'text' in part ? partial.map((p) => p + part.text) : partial.flatMap((p) => values.map((v) => p + v));
    if (next.length > MAX_TEMPLATE_EXPANSIONS) return [];
    const kept: string[] = [];
    for (const candidate of next) {
      const dir = candidate.slice(0, candidate.lastIndexOf('/') + 1).replace(/\/$/, '');
      if (!dir || (await tree.isDirectory(dir))) kept.push(candidate);
    }
    partial = kept;
  }
  return partial.filter((p) => isRelativePath(p) || isGlobPattern(p));
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
