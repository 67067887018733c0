import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { execFileSync } from 'child_process';
import { createHash } from 'crypto';
import { artifactsFromRunJson, collectDataFiles, collectDataFilesFromCode, extractStringLiterals, gitInfo, hashFile } from '../../src/core/lineage';

const sha = (s: string) => createHash('sha256').update(s).digest('hex');

function temp(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'nb2prod-lineage-hash-'));
}

function write(root: string, rel: string, content: string): void {
  fs.mkdirSync(path.dirname(path.join(root, rel)), { recursive: true });
  fs.writeFileSync(path.join(root, rel), content);
}

test('string literals from Python and JS code', () => {
  const code = [
    `df = pd.read_csv("data/a.csv")`,
    `x = open('data/b.txt').read()  # it's a comment with an apostrophe`,
    `p = r"data\\raw.bin"; q = b'bytes'; s = f"{name}.csv"`,
    `doc = """multi\nline"""`,
    `esc = "quote \\" inside"`,
    "const js = `template`;",
  ].join('\n');
  const lits = extractStringLiterals(code);
  assert.ok(lits.includes('data/a.csv'));
  assert.ok(lits.includes('data/b.txt'));
  assert.ok(lits.includes('data\\raw.bin'), 'raw strings keep backslashes');
  assert.ok(lits.includes('bytes'));
  assert.ok(lits.includes('{name}.csv'));
  assert.ok(lits.includes('multi\nline'));
  assert.ok(lits.includes('quote " inside'));
  assert.ok(lits.includes('template'));
  assert.deepEqual(extractStringLiterals(''), []);
  assert.deepEqual(extractStringLiterals('"unterminated\nx = 1'), []);
});

test('data files: existing workspace files only, relative to the notebook or the workspace, never outside', async () => {
  const ws = temp();
  write(ws, 'data/train.csv', 'a\n1\n');
  write(ws, 'nb/local.csv', 'b\n2\n');
  write(ws, '.nb2prod/lineage.jsonl', '');
  const outside = temp();
  write(outside, 'secret.csv', 'x');
  const found = await collectDataFiles(ws, path.join(ws, 'nb'), [
    'data/train.csv',
    'local.csv',
    'data/train.csv', // duplicate
    'data', // a directory
    'missing.csv',
    '',
    'https://example.com/data/train.csv',
    path.join(outside, 'secret.csv'),
    '../' + path.relative(ws, outside) + '/secret.csv',
    '.nb2prod/lineage.jsonl',
    'x'.repeat(5000),
    'line\nbreak',
  ]);
  assert.deepEqual(found, [
    { path: 'data/train.csv', sha256: sha('a\n1\n'), bytes: 4 },
    { path: 'nb/local.csv', sha256: sha('b\n2\n'), bytes: 4 },
  ]);
  const fromCode = await collectDataFilesFromCode(ws, 'nb', ['pd.read_csv("data/train.csv")', "open('local.csv')"]);
  assert.deepEqual(
    fromCode.map((f) => f.path),
    ['data/train.csv', 'nb/local.csv'],
  );
  assert.deepEqual(await hashFile(path.join(ws, 'data/train.csv')), { sha256: sha('a\n1\n'), bytes: 4 });
});

test('run.json artifacts: workspace-relative, re-hashed on disk, mismatches and escapes reported', async () => {
  const ws = temp();
  const runDir = 'pipes/p/runs/r1';
  write(ws, `${runDir}/out/model.pkl`, 'model');
  write(ws, `${runDir}/out/changed.pkl`, 'changed after the run');
  write(
    ws,
    `${runDir}/run.json`,
    JSON.stringify({
      run_id: 'r1',
      params: {},
      status: 'succeeded',
      steps: [],
      metrics: {},
      artifacts: [
        { path: 'out/model.pkl', sha256: sha('model'), bytes: 5, step: 'train', name: 'model' },
        { path: 'out/changed.pkl', sha256: sha('original'), bytes: 8, step: 'train', name: 'changed' },
        { path: 'out/gone.pkl', sha256: sha('gone'), bytes: 4, step: 'train', name: 'gone' },
        { path: '../../../../../etc/passwd', sha256: 'x', bytes: 1 },
        { path: '/abs/path', sha256: 'x', bytes: 1 },
      ],
    }),
  );
  const r = await artifactsFromRunJson(path.join(ws, runDir), ws);
  assert.equal(r.run?.run_id, 'r1');
  assert.deepEqual(
    r.artifacts.map((a) => [a.path, a.sha256 === sha(fs.existsSync(path.join(ws, a.path)) ? fs.readFileSync(path.join(ws, a.path), 'utf8') : 'gone'), a.step]),
    [
      [`${runDir}/out/model.pkl`, true, 'train'],
      [`${runDir}/out/changed.pkl`, true, 'train'],
      [`${runDir}/out/gone.pkl`, true, 'train'],
    ],
  );
  assert.equal(r.problems.length, 4);
  assert.match(r.problems.join('\n'), /changed\.pkl: sha256 on disk .* differs from run\.json/);
  assert.match(r.problems.join('\n'), /gone\.pkl is listed in run\.json but missing/);
  assert.match(r.problems.join('\n'), /outside the run directory/);

  const none = await artifactsFromRunJson('nowhere', ws);
  assert.equal(none.run, undefined);
  assert.match(none.problems[0], /no run\.json/);
  write(ws, 'bad/run.json', '{not json');
  assert.match((await artifactsFromRunJson('bad', ws)).problems[0], /unreadable/);
});

test('gitInfo: commit and dirty flag in a repo, undefined elsewhere, never throws', async (t) => {
  const dir = temp();
  assert.equal(await gitInfo(dir), undefined);
  assert.equal(await gitInfo(path.join(dir, 'does-not-exist')), undefined);
  try {
    execFileSync('git', ['--version'], { stdio: 'ignore' });
  } catch {
    t.skip('git is not installed');
    return;
  }
  const git = (...args: string[]) =>
    execFileSync('git', ['-C', dir, '-c', 'user.name=t', '-c', 'user.email=t@example.com', '-c', 'commit.gpgsign=false', ...args], { stdio: 'pipe' });
  git('init', '-q');
  assert.equal(await gitInfo(dir), undefined, 'no commit yet');
  write(dir, 'a.txt', '1');
  git('add', 'a.txt');
  git('commit', '-q', '-m', 'first');
  const head = execFileSync('git', ['-C', dir, 'rev-parse', 'HEAD'], { encoding: 'utf8' }).trim();
  assert.deepEqual(await gitInfo(dir), { commit: head, dirty: false });
  write(dir, 'untracked.txt', 'u');
  assert.deepEqual(await gitInfo(dir), { commit: head, dirty: false }, 'untracked files do not count');
  write(dir, 'notebooks/nb.ipynb', '{}');
  assert.deepEqual(await gitInfo(path.join(dir, 'notebooks')), { commit: head, dirty: false }, 'found from a folder inside the repository');
  write(dir, 'a.txt', '2');
  assert.deepEqual(await gitInfo(dir), { commit: head, dirty: true });
  git('add', 'a.txt');
  assert.deepEqual(await gitInfo(dir), { commit: head, dirty: true }, 'a staged change is a change too');
});
