/**
 * IPython syntax → plain Python, before parsing. Every output line remembers the original
 * cell line it came from, so names and diagnostics point at what the user sees.
 */
import type { Diagnostic } from '../../../errors';
import { LogicalLineTracker } from './logical-lines';
import { parseStringLiterals, pythonString, pythonStringLines } from './python-literal';
import { parseInstall, shellCommandLiteral, shellWords } from './shell';

export interface LineOrigin {
  /** 1-based line in the original cell. */
  line: number;
  /** Original column = column in the rewritten line + shift (for unwrapped `%time stmt`). */
  shift: number;
  /** The line was generated (`subprocess.run(...)` for `!cmd`): its columns mean nothing to the user. */
  generated?: boolean;
}

/** Standard-library modules the rewritten code calls. */
export type HelperModule = 'subprocess' | 'os' | 'pathlib' | 'contextlib' | 'io' | 'types' | 'importlib';

export interface Preprocessed {
  code: string;
  /** One entry per line of `code`. */
  origins: LineOrigin[];
  requirements: string[];
  helperModules: Set<HelperModule>;
  /** Names bound only by generated code (not the user's values). */
  hiddenNames: Set<string>;
  /** Diagnostics without `cell`; lines are original lines. */
  diagnostics: Diagnostic[];
}

/** Cell magics whose body is Python that runs once, unchanged. */
const UNWRAPPED_CELL_MAGICS = new Set(['time', 'capture', 'prun', 'python', 'python3', 'debug']);
/** Line magics that only affect the interactive session (display, reloading, history). */
const SESSION_LINE_MAGICS = new Set([
  'matplotlib', 'load_ext', 'reload_ext', 'unload_ext', 'autoreload', 'aimport', 'config',
  'precision', 'xmode', 'who', 'whos', 'who_ls', 'history', 'hist', 'lsmagic', 'pwd', 'pdb',
  'colors', 'pprint', 'magic', 'notebook', 'connect_info', 'automagic', 'autocall', 'doctest_mode',
  'page', 'pinfo', 'pinfo2', 'psearch', 'quickref', 'clear', 'dhist', 'bookmark', 'alias',
  'unalias', 'rehashx', 'logstart', 'logstop', 'logon', 'logoff', 'logstate', 'tb', 'watermark',
  'killbgscripts', 'recall', 'dirs', 'env', 'qtconsole', 'gui', 'pycat', 'tensorboard',
]);
/** IPython's default aliases: `%ls x` is `!ls x`. */
const SHELL_ALIASES = new Set(['ls', 'mkdir', 'cp', 'mv', 'rm', 'rmdir', 'cat', 'ldir', 'lf', 'lk', 'lx', 'll']);
const INSTALLERS = new Set(['pip', 'conda', 'mamba', 'micromamba']);

interface OutLine {
  text: string;
  origin: LineOrigin;
}

export function preprocessCell(source: string): Preprocessed {
  if (!MAYBE_IPYTHON.test(source)) return plainPython(source);
  return new Preprocessor(source).run();
}

/**
 * Matches every line `ipythonLine` or `cellMagics` could rewrite (and some it would not): a
 * `%`, `!` or `?` after the indentation, `name = %magic` / `name = !cmd`, a trailing `?`, and
 * any carriage return, and nbconvert's `get_ipython().` calls. `[^\S\n]` is `\s` within one line,
 * as the per-line patterns use it.
 */
const MAYBE_IPYTHON = /^[^\S\n]*[%!?]|^[^\S\n]*[A-Za-z_](?:[\w,]|[^\S\n])*=[^\S\n]*[!%]|\?[^\S\n]*$|\r|get_ipython\(\)\./m;

function plainPython(code: string): Preprocessed {
  const origins: LineOrigin[] = [{ line: 1, shift: 0 }];
  for (let i = code.indexOf('\n'); i !== -1; i = code.indexOf('\n', i + 1)) origins.push({ line: origins.length + 1, shift: 0 });
  return { code, origins, requirements: [], helperModules: new Set(), hiddenNames: new Set(), diagnostics: [] };
}

class Preprocessor {
  private readonly lines: string[];
  private readonly out: OutLine[] = [];
  /** Lines that close what a cell magic opened, after the cell's last line. */
  private readonly trailer: OutLine[] = [];
  private readonly result: Preprocessed = {
    code: '',
    origins: [],
    requirements: [],
    helperModules: new Set(),
    hiddenNames: new Set(),
    diagnostics: [],
  };

  constructor(source: string) {
    this.lines = source.split('\n').map((line) => line.replace(/\r$/, ''));
  }

  run(): Preprocessed {
    const start = this.cellMagics(0);
    if (start !== undefined) this.pythonLines(start);
    this.out.push(...this.trailer);
    this.result.code = this.out.map((line) => line.text).join('\n');
    this.result.origins = this.out.map((line) => line.origin);
    return this.result;
  }

  /**
   * Handles `%%magic` at the top of the cell (after blank lines, as IPython allows).
   * Returns the index where plain Python lines start, or undefined when the cell is consumed.
   */
  private cellMagics(from: number): number | undefined {
    let first = from;
    while (first < this.lines.length && this.lines[first].trim() === '') first++;
    const header = this.lines[first]?.trim() ?? '';
    const match = /^%%(\S+)\s*(.*)$/.exec(header);
    if (!match) return from;
    for (let i = from; i < first; i++) this.emit('', i);
    const [, name, args] = match;
    const line = first + 1;
    const body = this.lines.slice(first + 1);
    if (name === 'capture') {
      this.capture(args, first);
      return this.cellMagics(first + 1);
    }
    if (UNWRAPPED_CELL_MAGICS.has(name) || (name === 'script' && /^python3?$/.test(args.trim().split(/\s+/)[0] ?? ''))) {
      this.emit('', first);
      return this.cellMagics(first + 1);
    }
    if (name === 'timeit') {
      this.diag('info', line, '%%timeit cell dropped: timing runs do not belong in the pipeline');
      return undefined;
    }
    if (name === 'writefile' || name === 'file') {
      this.writeFile(args, first, body);
      return undefined;
    }
    const shell = name === 'script' ? args.trim().split(/\s+/)[0] : name;
    if (shell === 'bash' || shell === 'sh') {
      this.shellScript(shell, first, body);
      return undefined;
    }
    this.diag('warning', line, `%%${name} cell dropped: cell magic %%${name} has no equivalent in a Python pipeline`);
    return undefined;
  }

  /**
   * `%%capture [--no-stdout] [var]`: the cell prints nothing and `var.stdout` holds what it
   * printed, as in IPython. No indentation: the body may hold multi-line strings.
   */
  private capture(args: string, index: number): void {
    const words = shellWords(args);
    const variable = words.find((word) => /^[A-Za-z_]\w*$/.test(word));
    if (words.includes('--no-stdout') && !variable) return this.emit('', index);
    const last = this.lines.length - 1;
    const close = (text: string) => this.trailer.push({ text, origin: { line: last + 1, shift: 0, generated: true } });
    this.result.helperModules.add('io');
    this.result.hiddenNames.add('captured_stdout');
    this.emit('captured_stdout = io.StringIO()', index, true);
    if (!words.includes('--no-stdout')) {
      this.result.helperModules.add('contextlib');
      this.result.hiddenNames.add('stdout_capture');
      this.emit('stdout_capture = contextlib.redirect_stdout(captured_stdout)', index, true);
      this.emit('stdout_capture.__enter__()', index, true);
      close('stdout_capture.__exit__(None, None, None)');
    }
    if (variable) {
      this.result.helperModules.add('types');
      close(`${variable} = types.SimpleNamespace(`);
      close('    stdout=captured_stdout.getvalue(), stderr="", outputs=[], show=lambda text=captured_stdout.getvalue(): print(text, end="")');
      close(')');
    }
  }

  private writeFile(args: string, index: number, body: string[]): void {
    const words = shellWords(args);
    const append = words.some((word) => word === '-a' || word === '--append');
    const target = words.filter((word) => !word.startsWith('-')).join(' ');
    if (target === '') {
      this.diag('error', index + 1, '%%writefile without a file name');
      return;
    }
    if (/[{}$]/.test(target)) {
      this.diag('warning', index + 1, `%%writefile ${target}: variables in the path are not expanded`);
    }
    const path = `pathlib.Path(${pythonString(target)})`;
    this.result.helperModules.add('pathlib');
    // IPython says what it did, and that line is part of what the notebook printed.
    const existing = pythonString(append ? 'Appending to ' : 'Overwriting ');
    this.emit(`print((${existing} if ${path}.exists() else "Writing ") + ${pythonString(target)})`, index, true);
    this.emit(`${path}.parent.mkdir(parents=True, exist_ok=True)`, index, true);
    const content = argumentLines(body.join('\n'));
    const last = index + body.length;
    if (append) {
      this.result.hiddenNames.add('writefile');
      this.emit(`with ${path}.open("a", encoding="utf-8") as writefile:`, index, true);
      this.emit('    writefile.write(', index, true);
      content.forEach((literal, i) => this.emit(`        ${literal}`, Math.min(index + 1 + i, last), true));
      this.emit('    )', last, true);
    } else {
      this.emit(`${path}.write_text(`, index, true);
      content.forEach((literal, i) => this.emit(`    ${literal}`, Math.min(index + 1 + i, last), true));
      this.emit('    encoding="utf-8",', last, true);
      this.emit(')', last, true);
    }
    if (target.endsWith('.py')) {
      // A later step may import the module at once; the import system's view of the directory
      // can predate the file when both happen within the file system's timestamp granularity.
      this.result.helperModules.add('importlib');
      this.emit('importlib.invalidate_caches()', last, true);
    }
  }

  private shellScript(shell: string, index: number, body: string[]): void {
    this.result.helperModules.add('subprocess');
    const last = index + body.length;
    this.emit('print(subprocess.run(', index, true);
    argumentLines(body.join('\n')).forEach((literal, i) => this.emit(`    ${literal}`, Math.min(index + 1 + i, last), true));
    this.emit('    shell=True,', last, true);
    this.emit('    check=True,', last, true);
    if (shell === 'bash') this.emit('    executable="/bin/bash",', last, true);
    this.emit('    stdout=subprocess.PIPE,', last, true);
    this.emit('    text=True,', last, true);
    this.emit(').stdout, end="")', last, true);
  }

  private pythonLines(from: number): void {
    const tracker = new LogicalLineTracker();
    for (let i = from; i < this.lines.length; i++) {
      const line = this.lines[i];
      if (!tracker.atLogicalStart) {
        tracker.feed(line);
        this.emit(line, i);
        continue;
      }
      const consumed = this.ipythonLine(i);
      if (consumed > 0) {
        i += consumed - 1;
        continue;
      }
      tracker.feed(line);
      this.emit(line, i);
    }
  }

  /** Rewrites IPython syntax starting at line `index`; returns how many lines it consumed (0 = plain Python). */
  private ipythonLine(index: number): number {
    const line = this.lines[index];
    const indent = /^\s*/.exec(line)![0];
    const text = line.slice(indent.length);
    if (isHelpRequest(text)) {
      this.drop(indent, index);
      return 1;
    }
    const call = shellCall(text);
    if (call) {
      if (call.target) this.assignedEscape(indent, call.target, call.escape, call.rest, index, 1);
      else if (call.escape === '!') this.shellLine(indent, call.rest, index, 1);
      else this.lineMagic(indent, call.rest, index, 1);
      return 1;
    }
    const escaped = /^(!|%(?!%))/.exec(text);
    const assigned = /^([A-Za-z_]\w*(?:\s*,\s*[A-Za-z_]\w*)*)\s*=\s*(!|%(?!%))(?!=)/.exec(text);
    if (!escaped && !assigned) return 0;
    const { joined, count } = this.joinContinuations(index);
    const statement = joined.slice(indent.length);
    if (assigned) {
      this.assignedEscape(indent, assigned[1], assigned[2], statement.slice(assigned[0].length), index, count);
    } else if (escaped![1] === '!') {
      this.shellLine(indent, statement.replace(/^!!?/, ''), index, count);
    } else {
      this.lineMagic(indent, statement.slice(1), index, count);
    }
    return count;
  }

  /** A magic or shell line continues while it ends with a backslash. */
  private joinContinuations(index: number): { joined: string; count: number } {
    let joined = this.lines[index];
    let count = 1;
    while (joined.endsWith('\\') && index + count < this.lines.length) {
      joined = `${joined.slice(0, -1)} ${this.lines[index + count].trim()}`;
      count++;
    }
    return { joined, count };
  }

  private shellLine(indent: string, command: string, index: number, count: number): void {
    const install = parseInstall(command);
    if (install) {
      this.install(install, indent, index, count);
      return;
    }
    // Printed, not left to the child: it then lands in order with the cell's prints (whose
    // buffer the child would overtake) and inside a %%capture, as in Jupyter.
    const call = `subprocess.run(${this.commandLiteral(command, index)}, shell=True, check=True, stdout=subprocess.PIPE, text=True)`;
    this.emitSpan(`${indent}print(${call}.stdout, end="")`, index, count);
    this.result.helperModules.add('subprocess');
  }

  private assignedEscape(indent: string, target: string, escape: string, rest: string, index: number, count: number): void {
    let command: string | undefined = rest;
    if (escape === '%') {
      const [name, ...args] = rest.trim().split(/\s+/);
      if (name === 'pwd') {
        this.result.helperModules.add('os');
        this.emitSpan(`${indent}${target} = os.getcwd()`, index, count);
        return;
      }
      const statement = rest.trim().slice(name.length).trim();
      if (name === 'time' && statement !== '') {
        this.emitSpan(`${indent}${target} = ${statement}`, index, count);
        return;
      }
      command = name === 'sx' || name === 'system' ? args.join(' ') : undefined;
    }
    if (command === undefined) {
      this.diag('warning', index + 1, `\`${rest.trim()}\` dropped: the value of this line magic cannot be reproduced, so \`${target}\` is not assigned`);
      this.dropSpan(indent, index, count);
      return;
    }
    this.result.helperModules.add('subprocess');
    const call = `subprocess.run(${this.commandLiteral(command.trim(), index)}, shell=True, check=True, capture_output=True, text=True)`;
    this.emitSpan(`${indent}${target} = ${call}.stdout.splitlines()`, index, count);
  }

  private lineMagic(indent: string, magic: string, index: number, count: number): void {
    const match = /^(\w+)\s*(.*)$/.exec(magic);
    const name = match?.[1] ?? magic;
    const args = (match?.[2] ?? '').trim();
    const line = index + 1;
    if (INSTALLERS.has(name)) {
      const install = parseInstall(`${name} ${args}`);
      if (install) this.install(install, indent, index, count);
      else {
        this.diag('info', line, `%${name} ${args}: dropped (only installs are carried into requirements)`);
        this.dropSpan(indent, index, count);
      }
      return;
    }
    if (name === 'time') {
      // `%time stmt` runs stmt; keep it where the user wrote it.
      const shift = this.lines[index].indexOf(args, indent.length) - indent.length;
      this.out.push({ text: `${indent}${args}`, origin: { line, shift: Math.max(shift, 0) } });
      for (let i = 1; i < count; i++) this.emit('', index + i);
      return;
    }
    if (name === 'run') {
      this.diag('error', line, `%run ${args}: a script run inside the notebook is not carried into the pipeline, nor the names it defines; import it as a module or paste its code into a cell`);
      this.dropSpan(indent, index, count);
      return;
    }
    if (name === 'timeit') {
      this.diag('info', line, '%timeit dropped: timing runs do not belong in the pipeline');
      this.dropSpan(indent, index, count);
      return;
    }
    if (name === 'cd') {
      this.chdir(indent, args, index, count);
      return;
    }
    if ((name === 'env' || name === 'set_env') && this.setEnv(indent, args, index, count)) return;
    if (name === 'sx' || name === 'system' || SHELL_ALIASES.has(name)) {
      this.shellLine(indent, name === 'sx' || name === 'system' ? args : `${name} ${args}`, index, count);
      return;
    }
    if (SESSION_LINE_MAGICS.has(name)) {
      this.dropSpan(indent, index, count);
      return;
    }
    this.diag('warning', line, `%${name} dropped: line magic %${name} has no equivalent in a Python pipeline`);
    this.dropSpan(indent, index, count);
  }

  private chdir(indent: string, args: string, index: number, count: number): void {
    const target = shellWords(args).filter((word) => !word.startsWith('-')).join(' ');
    this.result.helperModules.add('os');
    const path = target === '' || target === '~' ? 'os.path.expanduser("~")' : pythonString(target);
    if (/[{}$]/.test(target)) this.diag('warning', index + 1, `%cd ${target}: variables in the path are not expanded`);
    this.emitSpan(`${indent}os.chdir(${path})`, index, count);
  }

  /** `%env NAME=value` / `%env NAME value` set a variable; reading forms are dropped. */
  private setEnv(indent: string, args: string, index: number, count: number): boolean {
    const match = /^([A-Za-z_]\w*)\s*(?:=\s*|\s+)(.+)$/.exec(args);
    if (!match) return false;
    this.result.helperModules.add('os');
    this.emitSpan(`${indent}os.environ[${pythonString(match[1])}] = ${pythonString(match[2].trim())}`, index, count);
    return true;
  }

  private install(install: { specifiers: string[]; skipped: string[] }, indent: string, index: number, count: number): void {
    for (const specifier of install.specifiers) {
      if (!this.result.requirements.includes(specifier)) this.result.requirements.push(specifier);
    }
    for (const skipped of install.skipped) {
      this.diag('warning', index + 1, `install of \`${skipped}\` not carried into requirements; add it to requirements.txt by hand`);
    }
    this.dropSpan(indent, index, count);
  }

  private commandLiteral(command: string, index: number): string {
    const literal = shellCommandLiteral(command);
    if (literal.dollarNames.length > 0) {
      const names = literal.dollarNames.map((name) => `$${name}`).join(', ');
      this.diag('warning', index + 1, `shell command: ${names} is left for the shell to expand; IPython would have used a Python variable of that name if one existed`);
    }
    return literal.command;
  }

  private emit(text: string, index: number, generated = false): void {
    this.out.push({ text, origin: { line: index + 1, shift: 0, ...(generated ? { generated } : {}) } });
  }

  /** One rewritten statement standing for `count` original lines; the extra lines stay blank. */
  private emitSpan(text: string, index: number, count: number): void {
    this.emit(text, index, true);
    for (let i = 1; i < count; i++) this.emit('', index + i);
  }

  /** Inside a block a removed line must still leave a statement behind. */
  private drop(indent: string, index: number): void {
    this.emit(indent === '' ? '' : `${indent}pass`, index);
  }

  private dropSpan(indent: string, index: number, count: number): void {
    this.drop(indent, index);
    for (let i = 1; i < count; i++) this.emit('', index + i);
  }

  private diag(severity: Diagnostic['severity'], line: number, message: string): void {
    this.result.diagnostics.push({ severity, message, line });
  }
}

/** A text as the first argument of a multi-line call: one literal per line, then the comma. */
function argumentLines(text: string): string[] {
  const literals = pythonStringLines(text);
  literals[literals.length - 1] += ',';
  return literals;
}

/**
 * What nbconvert's script export writes for a magic or shell line (`get_ipython().run_line_magic(
 * 'matplotlib', 'inline')`, `files = get_ipython().getoutput('ls')`), as the line it stood for: a
 * pipeline has no IPython to call. Only whole statements with literal arguments are recognised.
 */
function shellCall(text: string): { target?: string; escape: '!' | '%'; rest: string } | undefined {
  const match = /^(?:([A-Za-z_]\w*)\s*=\s*)?get_ipython\(\)\.(run_line_magic|magic|system|getoutput)\((.*)\)\s*(?:#.*)?$/.exec(text);
  const args = match ? parseStringLiterals(match[3]) : undefined;
  if (!match || !args) return undefined;
  const [, target, method] = match;
  if (method === 'run_line_magic' && args.length === 2) return { target, escape: '%', rest: `${args[0]} ${args[1]}`.trim() };
  if (method === 'magic' && args.length === 1) return { target, escape: '%', rest: args[0] };
  if (method === 'system' && args.length === 1 && !target) return { escape: '!', rest: args[0] };
  if (method === 'getoutput' && args.length === 1 && target) return { target, escape: '!', rest: args[0] };
  return undefined;
}

/** `obj?`, `obj??`, `?obj`, `??obj`: IPython's help, never code. */
function isHelpRequest(text: string): boolean {
  const trimmed = text.trimEnd();
  return /^\?{1,2}\s*[A-Za-z_][\w.]*\*?$/.test(trimmed) || /^[A-Za-z_][\w.]*(\(\))?\*?\?{1,2}$/.test(trimmed);
}
