/**
 * The promise, checked on every notebook in test/fixtures/differential: the generated package
 * prints exactly what the notebook prints when its code cells run top to bottom.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, readdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { nb2prod } from '../helpers/cli';
import { FIXTURES, tempDir } from '../helpers/notebooks';

/** Debian's interpreter carries the scientific packages; the one on PATH may not. */
const SCIENTIFIC_PYTHON = process.env.NB2PROD_ML_PYTHON ?? '/usr/bin/python3';
const NOTEBOOKS = path.join(FIXTURES, 'differential');

/**
 * What a user means by "run the notebook as a script": cells in order in one namespace,
 * IPython-only lines (`%matplotlib`, `!pip`) left out, and a `%%capture [var]` cell silent,
 * its output kept in `var`.
 */
const RUN_AS_SCRIPT = `
import contextlib, io, json, re, sys, types
nb = json.load(open(sys.argv[1]))
namespace = {"__name__": "__main__"}
for cell in nb["cells"]:
    if cell["cell_type"] != "code" or "skip" in cell.get("metadata", {}).get("tags", []):
        continue
    source = cell["source"] if isinstance(cell["source"], str) else "".join(cell["source"])
    capture = re.match(r"\\s*%%capture\\b[^\\S\\n]*(\\w*)", source)
    lines = [re.sub(r"^(\\s*)[%!].*", r"\\1pass", line) for line in source.split("\\n")]
    code = compile("\\n".join(lines), sys.argv[1], "exec")
    if capture:
        with contextlib.redirect_stdout(io.StringIO()) as captured:
            exec(code, namespace)
        if capture.group(1):
            text = captured.getvalue()
            namespace[capture.group(1)] = types.SimpleNamespace(stdout=text, stderr="", outputs=[], show=lambda text=text: print(text, end=""))
    else:
        exec(code, namespace)
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
 * An indented import is conditional (`try: import ujson` with a fallback): the notebook runs without it.
 */
function missingModules(notebook: string): string[] {
  const sources = JSON.parse(readFileSync(notebook, 'utf8')).cells.map((c: { source: string | string[] }) => (Array.isArray(c.source) ? c.source.join('') : c.source));
  const modules = new Set<string>();
  for (const m of sources.join('\n').matchAll(/^(?:import|from)\s+([A-Za-z_]\w*)/gm)) modules.add(m[1]);
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
      const out = path.join(tempDir(), 'pipeline');
      const generated = nb2prod(['productionize', name, '--out', out, '--force'], work);
      assert.equal(generated.status, 0, generated.stderr);
      const manifest = JSON.parse(readFileSync(path.join(out, 'pipeline.json'), 'utf8'));
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
      const steps: string[] = manifest.steps.map((s: { name: string }) => s.name);
      const artifacts = tempDir();
      const stepByStep = steps.map((step) => {
        const one = run(['-m', manifest.package, '--only', step, '--run-id', step, '--artifacts', artifacts], out);
        assert.equal(one.status, 0, `--only ${step}:\n${tail(one.stderr)}`);
        return one.stdout;
      });
      assert.equal(stepByStep.join(''), expected.stdout);
    });
  }
});
