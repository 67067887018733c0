/** requirements.txt from the modules the pipeline imports: stdlib filtered, import names mapped to distributions. */
const STDLIB = new Set(
  (
    'abc aifc antigravity argparse array ast asynchat asyncio asyncore atexit audioop base64 bdb binascii bisect ' +
    'builtins bz2 cProfile calendar cgi cgitb chunk cmath cmd code codecs codeop collections colorsys compileall ' +
    'concurrent configparser contextlib contextvars copy copyreg crypt csv ctypes curses dataclasses datetime dbm ' +
    'decimal difflib dis distutils doctest email encodings ensurepip enum errno faulthandler fcntl filecmp ' +
    'fileinput fnmatch fractions ftplib functools gc genericpath getopt getpass gettext glob graphlib grp gzip ' +
    'hashlib heapq hmac html http idlelib imaplib imghdr imp importlib inspect io ipaddress itertools json keyword ' +
    'lib2to3 linecache locale logging lzma mailbox mailcap marshal math mimetypes mmap modulefinder msilib msvcrt ' +
    'multiprocessing netrc nis nntplib nt ntpath nturl2path numbers opcode operator optparse os ossaudiodev ' +
    'pathlib pdb pickle pickletools pipes pkgutil platform plistlib poplib posix posixpath pprint profile pstats ' +
    'pty pwd py_compile pyclbr pydoc pydoc_data pyexpat queue quopri random re readline reprlib resource ' +
    'rlcompleter runpy sched secrets select selectors shelve shlex shutil signal site smtpd smtplib sndhdr socket ' +
    'socketserver spwd sqlite3 sre_compile sre_constants sre_parse ssl stat statistics string stringprep struct ' +
    'subprocess sunau symtable sys sysconfig syslog tabnanny tarfile telnetlib tempfile termios textwrap this ' +
    'threading time timeit tkinter token tokenize tomllib trace traceback tracemalloc tty turtle turtledemo types ' +
    'typing unicodedata unittest urllib uu uuid venv warnings wave weakref webbrowser winreg winsound wsgiref ' +
    'xdrlib xml xmlrpc zipapp zipfile zipimport zlib zoneinfo __future__'
  ).split(' '),
);

/** Import name -> distribution, where they differ. */
const DISTRIBUTIONS: Record<string, string> = {
  sklearn: 'scikit-learn',
  cv2: 'opencv-python',
  PIL: 'Pillow',
  yaml: 'PyYAML',
  bs4: 'beautifulsoup4',
  skimage: 'scikit-image',
  dateutil: 'python-dateutil',
  dotenv: 'python-dotenv',
  attr: 'attrs',
  Crypto: 'pycryptodome',
  jwt: 'PyJWT',
  google: 'google-api-core',
  docx: 'python-docx',
  pptx: 'python-pptx',
  magic: 'python-magic',
  serial: 'pyserial',
  usb: 'pyusb',
  OpenSSL: 'pyOpenSSL',
  Bio: 'biopython',
  sqlalchemy: 'SQLAlchemy',
  psycopg2: 'psycopg2-binary',
  MySQLdb: 'mysqlclient',
  zmq: 'pyzmq',
  git: 'GitPython',
  lightgbm: 'lightgbm',
  tensorflow: 'tensorflow',
  torchvision: 'torchvision',
  IPython: 'ipython',
  ipywidgets: 'ipywidgets',
  fitz: 'PyMuPDF',
  Levenshtein: 'python-Levenshtein',
  kaggle: 'kaggle',
  umap: 'umap-learn',
  hdbscan: 'hdbscan',
  xgboost: 'xgboost',
  mpl_toolkits: 'matplotlib',
  pylab: 'matplotlib',
  gi: 'PyGObject',
  wx: 'wxPython',
  win32api: 'pywin32',
  tables: 'tables',
  haiku: 'dm-haiku',
  absl: 'absl-py',
  jose: 'python-jose',
  multipart: 'python-multipart',
  slugify: 'python-slugify',
  telegram: 'python-telegram-bot',
  fastai: 'fastai',
  nbdev: 'nbdev',
};

export function isStdlib(module: string): boolean {
  return STDLIB.has(module);
}

export function distributionFor(module: string): string {
  return DISTRIBUTIONS[module] ?? module;
}

/** PEP 503 normalisation, so `scikit_learn==1.3` pins `scikit-learn`. */
export function normalizeDistribution(name: string): string {
  return name.toLowerCase().replace(/[-_.]+/g, '-');
}

const SPECIFIER = /^([A-Za-z0-9][A-Za-z0-9._-]*)(\[[^\]]*\])?\s*((?:[<>=!~]=?|===)\s*[^;\s]+(?:\s*,\s*(?:[<>=!~]=?)\s*[^;\s,]+)*)?\s*$/;

/** Only plain `name[extras] op version` lines pass: a requirement never smuggles in pip options or URLs. */
export function parseRequirement(line: string): { name: string; text: string } | undefined {
  const clean = line.replace(/\s+#.*$/, '').trim();
  const m = SPECIFIER.exec(clean);
  if (!m) return undefined;
  return { name: normalizeDistribution(m[1]), text: clean.replace(/\s+/g, '') };
}

export interface RequirementsInput {
  modules: string[];
  /** Modules the code falls back from when missing: listed as a comment, not installed. */
  optional?: string[];
  /** From %pip lines: always installed, they were asked for explicitly. */
  explicit: string[];
  /** From a requirements.txt next to the notebook: used to pin what the code imports. */
  pins: string[];
  /** Modules that are local files shipped with the package. */
  localModules: Set<string>;
}

export function renderRequirements(input: RequirementsInput): { text: string; skipped: string[] } {
  const lines = new Map<string, string>();
  const skipped: string[] = [];
  const pinByName = new Map<string, string>();
  for (const raw of input.pins) {
    const req = parseRequirement(raw);
    if (req) pinByName.set(req.name, req.text);
  }
  for (const raw of input.explicit) {
    const req = parseRequirement(raw);
    if (!req) skipped.push(raw);
    else lines.set(req.name, req.text);
  }
  const optional = new Set(input.optional ?? []);
  const extras: string[] = [];
  for (const module of input.modules) {
    if (isStdlib(module) || input.localModules.has(module)) continue;
    const dist = distributionFor(module);
    const key = normalizeDistribution(dist);
    // A pin next to the notebook says the user wants it even where the code has a fallback.
    if (optional.has(module) && !pinByName.has(key) && !lines.has(key)) {
      extras.push(dist);
      continue;
    }
    if (!lines.has(key)) lines.set(key, pinByName.get(key) ?? dist);
  }
  const body = [...lines.values()].sort((a, b) => a.toLowerCase().localeCompare(b.toLowerCase()));
  const note = extras.length ? ['# Optional: the code falls back when these are missing (uncomment to install).', ...[...new Set(extras)].sort().map((d) => `# ${d}`)] : [];
  return { text: ['# Generated by nb2prod from the notebook\'s imports and %pip lines.', ...body, ...note].join('\n') + '\n', skipped };
}
