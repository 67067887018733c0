/**
 * Shell command lines (`!cmd`, `%pip install ...`): package installs become requirement
 * specifiers, everything else becomes a `subprocess.run` call.
 */
import { pythonString } from './python-literal';

/** Splits a command line into words the way a POSIX shell would for simple cases (quotes, no expansion). */
export function shellWords(command: string): string[] {
  const words: string[] = [];
  const pattern = /"((?:[^"\\]|\\.)*)"|'([^']*)'|(\S+)/g;
  for (const match of command.matchAll(pattern)) {
    words.push(match[1] !== undefined ? match[1].replace(/\\(.)/g, '$1') : (match[2] ?? match[3]));
  }
  return words;
}

/** pip/conda options that take a value; the value is not a package. */
const OPTIONS_WITH_VALUE = new Set([
  '-r', '--requirement', '-c', '--constraint', '-i', '--index-url', '--extra-index-url',
  '-f', '--find-links', '-t', '--target', '--prefix', '--root', '--src', '-e', '--editable',
  '--platform', '--python-version', '--implementation', '--abi', '--trusted-host',
  '--progress-bar', '--cache-dir', '--log', '--proxy', '--timeout', '--retries',
  '--channel', '-n', '--name', '-p', '--upgrade-strategy', '--only-binary', '--no-binary',
]);

export interface InstallCommand {
  specifiers: string[];
  /** Things in the command we could not turn into specifiers (requirement files, paths, variables). */
  skipped: string[];
}

/**
 * Recognises `pip install`, `python -m pip install`, `{sys.executable} -m pip install`,
 * `conda|mamba install` (several may be chained with `&&` or `;`). Returns undefined when the
 * command is not purely installs.
 */
export function parseInstall(command: string): InstallCommand | undefined {
  const parts = command.split(/&&|;/).map((part) => part.trim()).filter((part) => part !== '');
  if (parts.length === 0) return undefined;
  const result: InstallCommand = { specifiers: [], skipped: [] };
  for (const part of parts) {
    const words = shellWords(part);
    const installAt = installArgumentsStart(words);
    if (installAt === undefined) return undefined;
    const conda = words.includes('conda') || words.includes('mamba');
    collectSpecifiers(words.slice(installAt), conda, result);
  }
  return result;
}

function installArgumentsStart(words: string[]): number | undefined {
  let i = 0;
  const first = words[0] ?? '';
  if (/^(python3?(\.\d+)?|\{sys\.executable\}|\$\{?sys\.executable\}?)$/.test(first) && words[1] === '-m') i = 2;
  const tool = words[i] ?? '';
  if (!/^(pip3?(\.\d+)?|conda|mamba|micromamba)$/.test(tool)) return undefined;
  if (words[i + 1] !== 'install') return undefined;
  return i + 2;
}

function collectSpecifiers(args: string[], conda: boolean, into: InstallCommand): void {
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (OPTIONS_WITH_VALUE.has(arg)) {
      const value = args[i + 1];
      if (value !== undefined && (arg === '-r' || arg === '--requirement' || arg === '-e' || arg === '--editable')) {
        into.skipped.push(`${arg} ${value}`);
      }
      i += 1;
      continue;
    }
    if (arg.startsWith('-')) continue;
    if (/[{}$]/.test(arg) || arg === '.' || arg.startsWith('./') || arg.startsWith('/') || arg.startsWith('../')) {
      into.skipped.push(arg);
      continue;
    }
    // conda pins with a single `=`; pip needs `==`.
    into.specifiers.push(conda ? arg.replace(/^([A-Za-z0-9_.\-[\]]+)=(?!=)/, '$1==') : arg);
  }
}

export interface ShellCall {
  /** Python expression (a `str` or f-string literal) for the command. */
  command: string;
  /** `$name` references left for the shell to expand. */
  dollarNames: string[];
}

/**
 * IPython expands `{expr}` and `$name` in shell commands from the user namespace. `{name}` and
 * `{name.attr}` become f-string fields (so the analysis sees the read); `$name` is most often a
 * shell variable (`$HOME`), so it stays for the shell to expand, and the caller warns.
 */
export function shellCommandLiteral(command: string): ShellCall {
  const dollarNames = [...command.matchAll(/\$\{?([A-Za-z_]\w*)/g)].map((m) => m[1]);
  const field = /\{([A-Za-z_][\w.]*)\}/g;
  if (!command.match(field)) return { command: pythonString(command), dollarNames };
  let literal = '';
  let last = 0;
  for (const match of command.matchAll(field)) {
    literal += escapeBraces(command.slice(last, match.index)) + `{${match[1]}}`;
    last = match.index + match[0].length;
  }
  literal += escapeBraces(command.slice(last));
  return { command: `f${pythonString(literal)}`, dollarNames };
}

function escapeBraces(text: string): string {
  return text.replace(/[{}]/g, (brace) => brace + brace);
}
