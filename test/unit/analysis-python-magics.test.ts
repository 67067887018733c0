/** Python cell analysis: IPython syntax rewritten to plain Python, with lines mapped back. */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { before, describe, it } from 'node:test';
import { createPythonAnalyzer } from '../../src/core/analysis/python/index';
import type { CellAnalysis, CellAnalyzer } from '../../src/core/analysis/types';

let analyzer: CellAnalyzer;
before(async () => {
  analyzer = await createPythonAnalyzer();
});

function analyze(code: string): CellAnalysis {
  return analyzer.analyzeCell(code, 3);
}

function messages(result: CellAnalysis, severity: string): string[] {
  return result.diagnostics.filter((d) => d.severity === severity).map((d) => `${d.line}: ${d.message}`);
}

/** The generated code must be valid Python: CPython compiles it. */
function assertCompiles(code: string): void {
  const run = spawnSync('python3', ['-c', 'import sys; compile(sys.stdin.read(), "<body>", "exec")'], { input: code, encoding: 'utf8' });
  if (run.error) return; // no python3: the parse by tree-sitter already passed
  assert.equal(run.status, 0, `${run.stderr}\n---\n${code}`);
}

/** A shell line's output is printed through Python, so it stays in order with the cell's prints. */
function shown(command: string, indent = ''): string {
  return `${indent}print(subprocess.run(${command}, shell=True, check=True, stdout=subprocess.PIPE, text=True).stdout, end="")`;
}

describe('Python analysis: package installs', () => {
  const installs: Array<[string, string, string[]]> = [
    ['%pip install', '%pip install pandas==2.1 scikit-learn', ['pandas==2.1', 'scikit-learn']],
    ['!pip install with flags', '!pip install -q -U --no-cache-dir "transformers[torch]>=4.30" datasets', ['transformers[torch]>=4.30', 'datasets']],
    ['!pip3 and python -m pip', '!pip3 install numpy\n!python -m pip install --upgrade scipy', ['numpy', 'scipy']],
    ['{sys.executable} -m pip', '!{sys.executable} -m pip install torch --index-url https://download.pytorch.org/whl/cpu', ['torch']],
    ['%conda install with a channel and a pin', '%conda install -c conda-forge -y lightgbm=4.1', ['lightgbm==4.1']],
    ['chained installs', '!pip install a && pip install b', ['a', 'b']],
    ['indented inside an if', 'if need:\n    !pip install rich', ['rich']],
  ];
  for (const [name, code, requirements] of installs) {
    it(`${name} → requirements, line removed`, () => {
      const result = analyze(code);
      assert.deepEqual(result.requirements, requirements);
      assert.doesNotMatch(result.body, /pip|conda/);
      assert.deepEqual(messages(result, 'error'), []);
      assertCompiles(result.body);
    });
  }

  it('a requirements file is not followed: warned, named, line kept', () => {
    const result = analyze('x = 1\n!pip install -r requirements.txt');
    assert.deepEqual(result.requirements, []);
    assert.deepEqual(messages(result, 'warning').map((m) => m.slice(0, 2)), ['2:']);
    assert.match(messages(result, 'warning')[0], /-r requirements\.txt/);
  });
});

describe('Python analysis: shell commands', () => {
  it('!cmd becomes subprocess.run with a properly escaped string', () => {
    const result = analyze('!echo "it\'s" \\\\ done > out.txt');
    assert.equal(result.body, shown('"echo \\"it\'s\\" \\\\\\\\ done > out.txt"'));
    assert.deepEqual(result.extraImports.map((i) => i.code), ['import subprocess']);
    assertCompiles(result.body);
  });

  it('x = !cmd captures the output lines', () => {
    const result = analyze('files = !ls data');
    assert.equal(result.body, 'files = subprocess.run("ls data", shell=True, check=True, capture_output=True, text=True).stdout.splitlines()');
    assert.deepEqual(result.defines, ['files']);
  });

  it('{var} becomes an f-string field (and a use); other braces are escaped', () => {
    const result = analyze("!wget {url} -O out && awk '{print $1}' out");
    assert.equal(result.body, shown('f"wget {url} -O out && awk \'{{print $1}}\' out"'));
    assert.deepEqual(result.uses.map((u) => u.name), ['url']);
    assertCompiles(result.body);
  });

  it('$name is left for the shell, with a warning', () => {
    const result = analyze('!echo $HOME');
    assert.equal(result.body, shown('"echo $HOME"'));
    assert.match(messages(result, 'warning')[0], /\$HOME/);
  });

  it('a cell that imports subprocess itself needs no extra import, and subprocess is no use', () => {
    const result = analyze('import subprocess\n!make');
    assert.deepEqual(result.extraImports, []);
    assert.deepEqual(result.uses, []);
  });

  it('subprocess used by the rewrite is not a use of the cell', () => {
    assert.deepEqual(analyze('!ls').uses, []);
  });

  it('a shell line inside a block keeps its indentation', () => {
    const result = analyze('for d in dirs:\n    !mkdir -p {d}');
    assert.equal(result.body, `for d in dirs:\n${shown('f"mkdir -p {d}"', '    ')}`);
    assert.deepEqual(result.uses.map((u) => u.name), ['dirs']);
  });

  it('%%bash runs the script with bash; %%sh with sh', () => {
    const bash = analyze('%%bash\nset -e\necho "a"');
    assert.equal(bash.body, 'print(subprocess.run(\n    "set -e\\n"\n    "echo \\"a\\"",\n    shell=True,\n    check=True,\n    executable="/bin/bash",\n    stdout=subprocess.PIPE,\n    text=True,\n).stdout, end="")');
    assertCompiles(bash.body);
    assert.doesNotMatch(analyze('%%sh\nls').body, /executable/);
  });

  it('%ls and %mkdir are shell aliases', () => {
    assert.equal(analyze('%mkdir out').body, shown('"mkdir out"'));
  });
});

describe('Python analysis: line and cell magics', () => {
  it('%%writefile says what it wrote as IPython does, writes the content, creating the parent directory', () => {
    const result = analyze('%%writefile src/app.txt\nimport os\nprint("hi")\n');
    assert.equal(
      result.body,
      'print(("Overwriting " if pathlib.Path("src/app.txt").exists() else "Writing ") + "src/app.txt")\npathlib.Path("src/app.txt").parent.mkdir(parents=True, exist_ok=True)\npathlib.Path("src/app.txt").write_text(\n    "import os\\n"\n    "print(\\"hi\\")\\n",\n    encoding="utf-8",\n)',
    );
    assert.deepEqual(result.extraImports.map((i) => i.names), [['pathlib']]);
    assert.deepEqual(result.imports, [], 'the written content is not the cell\'s code');
    assert.deepEqual(result.defines, []);
    assertCompiles(result.body);
  });

  it('%%writefile of a module lets a later step import it at once (the import caches are invalidated)', () => {
    const result = analyze('%%writefile helpers.py\ndef f():\n    return 1\n');
    assert.match(result.body, /\nimportlib\.invalidate_caches\(\)$/);
    assert.deepEqual(result.extraImports.map((i) => i.code).sort(), ['import importlib', 'import pathlib']);
    assertCompiles(result.body);
  });

  it('%%writefile -a appends', () => {
    const result = analyze('%%writefile -a log.txt\nline');
    assert.match(result.body, /open\("a", encoding="utf-8"\)/);
    assert.deepEqual(result.defines, [], 'the file handle is not a value of the notebook');
    assertCompiles(result.body);
  });

  it('%%time unwraps the cell', () => {
    const result = analyze('%%time\nx = slow()\n');
    assert.equal(result.body, 'x = slow()');
    assert.deepEqual(result.uses.map((u) => [u.name, u.line]), [['slow', 2]]);
  });

  it('%%script python3 runs the cell as Python, like %%python3; other interpreters stay dropped with a warning', () => {
    assert.equal(analyze('%%script python3\nprint(total)').body, 'print(total)');
    assert.deepEqual(analyze('%%script python\nprint(total)').uses.map((u) => [u.name, u.line]), [['total', 2]]);
    const perl = analyze('%%script perl\nprint "hi";');
    assert.equal(perl.body, '');
    assert.match(perl.diagnostics.map((d) => d.message).join('\n'), /%%script cell dropped/);
  });

  it('%%capture var silences the cell and binds var to what it printed', () => {
    const result = analyze('%%capture out\ntext = """a\nb"""\nprint(text)');
    assert.deepEqual(result.defines, ['text', 'out']);
    assert.deepEqual(result.uses.map((u) => u.name), []);
    assert.match(result.body, /^b"""$/m, 'the body is not indented: multi-line strings keep their text');
    const run = spawnSync('python3', ['-c', `import contextlib, io, types\n${result.body}\nprint(repr(out.stdout))`], { encoding: 'utf8' });
    assert.equal(run.stdout, "'a\\nb\\n'\n", run.stderr);
    assert.equal(analyze('%%capture --no-stdout\ny = 1').body, 'y = 1');
  });

  it('%%timeit drops the cell with an info', () => {
    const result = analyze('%%timeit\nf(x)');
    assert.equal(result.body, '');
    assert.deepEqual(result.uses, []);
    assert.equal(messages(result, 'info').length, 1);
  });

  it('unknown cell magics drop the cell with a warning', () => {
    for (const magic of ['%%javascript', '%%html', '%%R']) {
      const result = analyze(`${magic}\nconsole.log(x)`);
      assert.equal(result.body, '');
      assert.equal(messages(result, 'warning').length, 1, magic);
      assert.match(messages(result, 'warning')[0], new RegExp(magic));
    }
  });

  it('%time stmt keeps the statement; %timeit drops it', () => {
    const result = analyze('%time y = f(x)\n%timeit g(x)');
    assert.equal(result.body, 'y = f(x)');
    assert.deepEqual(result.uses.map((u) => [u.name, u.line, u.column]), [['f', 1, 11], ['x', 1, 13]]);
    assert.deepEqual(result.defines, ['y']);
  });

  it('x = %time expr keeps the assignment; x = %pwd becomes os.getcwd()', () => {
    assert.equal(analyze('y = %time f("a  b")').body, 'y = f("a  b")');
    assert.equal(analyze('here = %pwd').body, 'here = os.getcwd()');
  });

  it('an assignment from a magic with no equivalent is dropped with a warning', () => {
    const result = analyze('h = %history -n');
    assert.equal(result.body, '');
    assert.deepEqual(messages(result, 'warning').map((m) => m.split(':')[0]), ['1']);
  });

  it('session magics are dropped silently', () => {
    const result = analyze('%matplotlib inline\n%load_ext autoreload\n%autoreload 2\n%config InlineBackend.figure_format = "svg"\nx = 1');
    assert.equal(result.body, 'x = 1');
    assert.deepEqual(result.diagnostics, []);
  });

  it('%cd becomes os.chdir and %env NAME=value becomes os.environ', () => {
    const result = analyze('%cd data\n%env MODE=fast\n%env');
    assert.equal(result.body, 'os.chdir("data")\nos.environ["MODE"] = "fast"');
    assert.deepEqual(result.extraImports.map((i) => i.code), ['import os']);
  });

  it('%run is an error on its line: neither the script nor the names it defines reach the pipeline', () => {
    const result = analyze('x = 1\n%run make_table.py 4\nprint(table)');
    assert.deepEqual(messages(result, 'error').map((m) => m.split(':')[0]), ['2']);
    assert.match(messages(result, 'error')[0], /%run make_table\.py 4/);
  });

  it("nbconvert's get_ipython() calls become the magic or shell line they stand for", () => {
    const result = analyze([
      "get_ipython().run_line_magic('matplotlib', 'inline')",
      "get_ipython().run_line_magic('env', 'MODE=fast')",
      "get_ipython().system('echo \\'hi\\'')",
      "words = get_ipython().getoutput('cat words.txt')",
      "t = get_ipython().run_line_magic('time', 'f(1)')",
      "get_ipython().magic('load_ext autoreload')",
      'name = get_ipython().__class__.__name__',
    ].join('\n'));
    assert.equal(result.body, [
      'os.environ["MODE"] = "fast"',
      shown('"echo \'hi\'"'),
      'words = subprocess.run("cat words.txt", shell=True, check=True, capture_output=True, text=True).stdout.splitlines()',
      't = f(1)',
      '',
      'name = get_ipython().__class__.__name__',
    ].join('\n'));
    assert.deepEqual(result.defines, ['words', 't', 'name']);
    assertCompiles(result.body);
  });

  it('an unknown line magic is dropped with a warning naming its line', () => {
    const result = analyze('x = 1\n%frobnicate now\ny = 2');
    assert.equal(result.body, 'x = 1\n\ny = 2');
    assert.deepEqual(messages(result, 'warning').map((m) => m.split(':')[0]), ['2']);
    assert.match(messages(result, 'warning')[0], /%frobnicate/);
  });

  it('a dropped magic inside a block leaves a pass so the block stays valid', () => {
    const result = analyze('if debug:\n    %pdb on\nx = 1');
    assert.equal(result.body, 'if debug:\n    pass\nx = 1');
    assertCompiles(result.body);
  });

  it('help requests are dropped: obj?, obj??, ?obj', () => {
    const result = analyze('df.head?\nnp.zeros??\n?len\nx = 1');
    assert.equal(result.body, 'x = 1');
    assert.deepEqual(result.uses, []);
  });

  it('a comment or string ending with ? is code, not help', () => {
    const result = analyze('x = "why?"  # really?\ny = x');
    assert.equal(result.body, 'x = "why?"  # really?\ny = x');
  });

  it('% and ! inside strings and brackets are not magics', () => {
    const code = 'text = """\n%not a magic\n!not a command\n"""\nvalues = [\n    1,\n]\nrate = a % b\nok = a != b';
    const result = analyze(code);
    assert.equal(result.body, code);
    assert.deepEqual(result.diagnostics, []);
  });

  it('a magic continued with backslashes is one command', () => {
    const result = analyze('!pip install \\\n    numpy \\\n    pandas\nx = 1');
    assert.deepEqual(result.requirements, ['numpy', 'pandas']);
    assert.equal(result.body, 'x = 1');
  });
});

describe('Python analysis: line mapping', () => {
  it('names keep their original line after dropped lines', () => {
    const result = analyze('%matplotlib inline\n!pip install x\n\nprint(a)');
    assert.deepEqual(result.uses, [{ name: 'a', line: 4, column: 7 }]);
  });

  it('names after a %%time header keep the original line', () => {
    const result = analyze('\n%%time\nz = w');
    assert.deepEqual(result.uses, [{ name: 'w', line: 3, column: 5 }]);
  });

  it('a syntax error after magics points at the original line and column', () => {
    const result = analyze('%load_ext foo\n!ls\nx = 1\ny = (2 +\n');
    const error = result.diagnostics.find((d) => d.severity === 'error')!;
    assert.equal(error.cell, 3);
    assert.equal(error.line, 4);
  });

  it('a syntax error on a %time line has the column in the original line', () => {
    const result = analyze('x = 1\n%time y = )');
    const error = result.diagnostics.find((d) => d.severity === 'error')!;
    assert.equal(error.line, 2);
    assert.equal(error.column, 7, 'the statement starts after `%time `');
  });

  it('a name inside a %%writefile cell is nothing (the content is data)', () => {
    assert.deepEqual(analyze('%%writefile x.py\nprint(secret)').uses, []);
  });

  it('f-string fields of a shell command point at the command line', () => {
    const result = analyze('x = 1\n\n!cp {src} {dst}');
    assert.deepEqual(result.uses.map((u) => [u.name, u.line]), [['src', 3], ['dst', 3]]);
  });

  it('definitions and imports carry original lines', () => {
    const result = analyze('%matplotlib inline\n!pip install q\nimport numpy as np\n\ndef f():\n    return g');
    assert.equal(result.imports[0].line, 3);
    assert.equal(result.definitions[0].line, 5);
    assert.deepEqual(result.definitions[0].globals, [{ name: 'g', line: 6, column: 12 }]);
  });

  it('CRLF line endings are handled', () => {
    const result = analyze('%matplotlib inline\r\nprint(a)\r\n');
    assert.deepEqual(result.uses, [{ name: 'a', line: 2, column: 7 }]);
  });
});
