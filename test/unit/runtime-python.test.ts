/** `_runtime.py` and `_serve.py` as Python sources in their own right: what generated packages carry. */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { SCIENTIFIC_PYTHON } from '../helpers/cli';
import { REPO_ROOT } from '../helpers/notebooks';

const SOURCES = ['_runtime.py', '_serve.py'].map((file) => path.join(REPO_ROOT, 'src', 'core', 'generate', 'python', file));

describe('_runtime.py and _serve.py', () => {
  it('pass pyflakes (no unused imports, undefined names or redefinitions)', (t) => {
    // Debian's python3-pyflakes; the interpreter on PATH may not have it.
    const available = spawnSync(SCIENTIFIC_PYTHON, ['-m', 'pyflakes', '--version'], { encoding: 'utf8' });
    if (available.status !== 0) {
      if (process.env.CI === 'true') assert.fail(`${SCIENTIFIC_PYTHON} lacks pyflakes: install python3-pyflakes`);
      return void t.skip(`${SCIENTIFIC_PYTHON} has no pyflakes (Debian: python3-pyflakes)`);
    }
    const lint = spawnSync(SCIENTIFIC_PYTHON, ['-m', 'pyflakes', ...SOURCES], { encoding: 'utf8' });
    assert.equal(lint.status, 0, lint.stdout + lint.stderr);
  });
});
