/** The CLI's usage: every command answers --help, bad usage exits 2, and the README shows what --help prints. */
import assert from 'assert/strict';
import { readFileSync } from 'fs';
import * as path from 'path';
import { test } from 'node:test';
import { COMMANDS } from '../../src/cli';
import type { CommandSpec } from '../../src/cli/args';
import { nb2prod } from '../helpers/cli';
import { REPO_ROOT, tempDir } from '../helpers/notebooks';

function commandLines(specs: CommandSpec[], prefix: string[] = []): string[][] {
  return specs.flatMap((s) => [[...prefix, s.name], ...commandLines(s.subcommands ?? [], [...prefix, s.name])]);
}

test("the README's CLI section is exactly what nb2prod --help prints", () => {
  const r = nb2prod(['--help'], tempDir());
  assert.equal(r.status, 0, r.stderr);
  const readme = readFileSync(path.join(REPO_ROOT, 'README.md'), 'utf8');
  const section = readme.split(/^## CLI$/m)[1];
  assert.ok(section, 'README has a "## CLI" section');
  const block = /```\n([\s\S]*?)```/.exec(section)?.[1];
  assert.equal(block, r.stdout, 'paste the output of `node dist/cli.js --help` into the README\'s CLI block');
});

test('every command and subcommand answers --help with its usage', () => {
  const cwd = tempDir();
  for (const words of commandLines(COMMANDS)) {
    const r = nb2prod([...words, '--help'], cwd);
    assert.equal(r.status, 0, `${words.join(' ')} --help: ${r.stderr}`);
    assert.match(r.stdout, new RegExp(`^Usage: nb2prod ${words.join(' ')} `, 'm'));
    assert.match(r.stdout, /--help/);
  }
});

test('unknown options, commands and missing arguments are usage errors (exit 2)', () => {
  const cwd = tempDir();
  for (const argv of [['run', 'x.ipynb', '--no-such-option'], ['frobnicate'], ['plan'], ['lineage', 'diff', 'only-one'], ['plan', 'a.ipynb', 'b.ipynb'], []]) {
    const r = nb2prod(argv, cwd);
    assert.equal(r.status, 2, `${argv.join(' ')}: ${r.stdout}${r.stderr}`);
    assert.match(r.stderr, /error|Usage/);
  }
  const unknown = nb2prod(['run', 'x.ipynb', '--no-such-option'], cwd);
  assert.match(unknown.stderr, /unknown option '--no-such-option'/);
});
