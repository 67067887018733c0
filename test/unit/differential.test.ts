/**
 * The promise, checked on every notebook in test/fixtures/differential: the generated package
 * prints exactly what the notebook prints when its code cells run top to bottom.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, readdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { nb2prod, productionizeTwice, SCIENTIFIC_PYTHON } from '../helpers/cli';
import { FIXTURES, tempDir } from '../helpers/notebooks';

const NOTEBOOKS = path.join(FIXTURES, 'differential');

/**
 * What a user means by "run the notebook as a script", modelled on what Jupyter shows: cells in
 * order in one namespace; `!cmd` output printed in place and `x = !cmd` its lines; `%time stmt`
 * and `x = %time expr` still run; `%env`, `%run` and `%%writefile` (with its "Writing f" line)
 * do what IPython does; a cell with top-level `await` runs on an event loop; `display(x)` prints x's text/plain form (its repr); a `%%capture [var]`
 * cell silent, its output kept in `var`; other magics and help lines (`obj?`) left out; a cell tagged
 * `skip`/`skip-execution` not run, one tagged `raises-exception` shows its traceback on stderr and the next cell runs.
 */
const RUN_AS_SCRIPT = String.raw`
import ast, asyncio, contextlib, importlib, inspect, io, json, os, re, runpy, subprocess, sys, traceback, types
nb = json.load(open(sys.argv[1]))


def display(*objects, **_options):
    # Jupyter shows an object's text/plain form, which is its repr.
    for obj in objects:
        print(repr(obj))


def shell(command):
    # Jupyter shows a shell command's output in the cell, in order with print().
    return subprocess.run(command, shell=True, capture_output=True, text=True).stdout


def run_script(args):
    # %run executes the script as __main__, then its names join the notebook's.
    path, *argv = args.split()
    sys.argv = [path, *argv]
    return {k: v for k, v in runpy.run_path(path, run_name="__main__").items() if not k.startswith("__")}


class Shell:
    """What nbconvert's script export calls instead of magics and shell lines."""

    def run_line_magic(self, name, args):
        exec(python_line(f"%{name} {args}"), namespace)

    def system(self, command):
        print(shell(command), end="")

    def getoutput(self, command):
        return shell(command).splitlines()


namespace = {"__name__": "__main__", "display": display, "shell": shell, "run_script": run_script, "os": os, "get_ipython": Shell}


def python_line(line):
    indent, text = re.match(r"(\s*)(.*)", line).groups()
    assigned = re.match(r"(\w+)\s*=\s*([!%])(?!=)\s*(.*)", text)
    if assigned:
        name, escape, rest = assigned.groups()
        if escape == "!":
            return f"{indent}{name} = shell({rest!r}).splitlines()"
        magic, _, statement = rest.partition(" ")
        return f"{indent}{name} = {statement}" if magic == "time" else f"{indent}pass"
    if re.fullmatch(r"\?{0,2}[\w.]+\?{0,2}", text) and "?" in text:
        return f"{indent}pass"
    if text.startswith("!"):
        return f"{indent}print(shell({text.lstrip('!')!r}), end='')"
    magic = re.match(r"%(\w+)\s*(.*)", text)
    if not magic:
        return line
    name, args = magic.groups()
    if name == "time":
        return indent + args
    if name == "env" and "=" in args:
        key, value = (part.strip() for part in args.split("=", 1))
        return f"{indent}os.environ[{key!r}] = {value!r}"
    if name == "run":
        return f"{indent}globals().update(run_script({args!r}))"
    return f"{indent}pass"


def write_file(args, body):
    words = args.split()
    target = [w for w in words if not w.startswith("-")][0]
    append = "-a" in words or "--append" in words
    if os.path.exists(target):
        print(("Appending to %s" if append else "Overwriting %s") % target)
    else:
        print("Writing %s" % target)
    with open(target, "a" if append else "w") as f:
        f.write(body)
    # Cells run seconds apart in Jupyter: the import system has long noticed the new file.
    importlib.invalidate_caches()


def run_cell(code):
    # IPython runs a cell with top-level await on an event loop; without one it is plain exec.
    result = eval(code, namespace)
    if inspect.iscoroutine(result):
        asyncio.run(result)


for cell in nb["cells"]:
    tags = cell.get("metadata", {}).get("tags", [])
    if cell["cell_type"] != "code" or {"skip", "skip-execution"} & set(tags):
        continue
    source = cell["source"] if isinstance(cell["source"], str) else "".join(cell["source"])
    writefile = re.match(r"\s*%%writefile\s+(.*)\n", source)
    if writefile:
        write_file(writefile.group(1), source[writefile.end():])
        continue
    capture = re.match(r"\s*%%capture\b[^\S\n]*(\w*)", source)
    lines = [line if not line.lstrip().startswith("%%") else "" for line in source.split("\n")]
    code = compile("\n".join(python_line(line) for line in lines), sys.argv[1], "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT)
    if capture:
        with contextlib.redirect_stdout(io.StringIO()) as captured:
            run_cell(code)
        if capture.group(1):
            text = captured.getvalue()
            namespace[capture.group(1)] = types.SimpleNamespace(stdout=text, stderr="", outputs=[], show=lambda text=text: print(text, end=""))
    elif "raises-exception" in tags:
        # nbclient shows the expected error and runs the next cell.
        try:
            run_cell(code)
        except Exception:
            traceback.print_exc()
    else:
        run_cell(code)
`;

/** A traceback's last lines say what went wrong; pandas' frames above them do not. */
function tail(text: string): string {
  return text.trimEnd().split('\n').slice(-12).join('\n');
}

function run(args: string[], cwd: string) {
  return spawnSync(SCIENTIFIC_PYTHON, args, { cwd, encoding: 'utf8', timeout: 120_000 });
}

/**
 * The modules a notebook imports that this interpreter lacks (a reason to skip, not to fail).
 * An indented import is conditional (`try: import ujson` with a fallback): the notebook runs without it;
 * a module the notebook writes itself (`%%writefile helpers.py`) is there when it is imported.
 */
function missingModules(notebook: string): string[] {
  const sources = JSON.parse(readFileSync(notebook, 'utf8')).cells.map((c: { source: string | string[] }) => (Array.isArray(c.source) ? c.source.join('') : c.source));
  const text = sources.join('\n');
  const written = new Set([...text.matchAll(/^%%writefile\s+(?:-a\s+)?([A-Za-z_]\w*)\.py\s*$/gm)].map((m) => m[1]));
  const modules = new Set<string>();
  for (const m of text.matchAll(/^(?:import|from)\s+([A-Za-z_]\w*)/gm)) if (!written.has(m[1])) modules.add(m[1]);
  return [...modules].filter((m) => run(['-c', `import ${m}`], NOTEBOOKS).status !== 0);
}

describe('differential: the generated package prints what the notebook prints', () => {
  const notebooks = readdirSync(NOTEBOOKS).filter((f) => f.endsWith('.ipynb')).sort();

  it('has notebooks to compare', () => assert.ok(notebooks.length >= 10, notebooks.join(', ')));

  for (const name of notebooks) {
    it(name, (t) => {
      const missing = missingModules(path.join(NOTEBOOKS, name));
      if (missing.length) return void t.skip(`${SCIENTIFIC_PYTHON} has no ${missing.join(', ')}`);
      // Each notebook runs in a fresh copy, so files one writes never reach another's run.
      const expectedDir = tempDir();
      cpSync(NOTEBOOKS, expectedDir, { recursive: true });
      const expected = run(['-c', RUN_AS_SCRIPT, name], expectedDir);
      assert.equal(expected.status, 0, `the notebook itself fails:\n${tail(expected.stderr)}`);

      const work = tempDir();
      cpSync(NOTEBOOKS, work, { recursive: true });
      const { out, pristine, manifest } = productionizeTwice(name, work);
      const actual = run(['-m', manifest.package, '--run-id', 'differential'], out);
      assert.equal(actual.status, 0, tail(actual.stderr));
      assert.equal(actual.stdout, expected.stdout);

      // A value pickle cannot save (a closure, a generator) flows in memory only: it cannot cross processes.
      if (actual.stderr.includes('cannot be saved')) return;
      // Nor can interpreter state that is no value (class attributes, the `random` module's seed);
      // a notebook that relies on it says so in its metadata, with the reason.
      const inProcessOnly = JSON.parse(readFileSync(path.join(NOTEBOOKS, name), 'utf8')).metadata?.differential?.in_process_only;
      if (inProcessOnly) return void t.diagnostic(`not compared step by step: ${inProcessOnly}`);
      // One step per process, each reading its inputs from the artifacts the earlier ones saved:
      // a value changed in place but not declared an output shows up here, not in memory.
      // A fresh copy of the package: files the whole run wrote (`%%writefile`) are not there yet.
      const stepwise = path.join(tempDir(), 'pipeline');
      cpSync(pristine, stepwise, { recursive: true });
      const steps: string[] = manifest.steps.map((s: { name: string }) => s.name);
      const artifacts = tempDir();
      const stepByStep = steps.map((step) => {
        const one = run(['-m', manifest.package, '--only', step, '--run-id', step, '--artifacts', artifacts], stepwise);
        assert.equal(one.status, 0, `--only ${step}:\n${tail(one.stderr)}`);
        return one.stdout;
      });
      assert.equal(stepByStep.join(''), expected.stdout);
    });
  }
});
