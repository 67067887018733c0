/**
 * Where the upstream format specifications live: `../shared/specs/` beside the repository (see its
 * README). A git worktree's neighbours are not the main checkout's, so the main checkout's parent
 * is tried too. Tests skip with a notice when neither has them (a user's clone).
 */
import { spawnSync } from 'child_process';
import { existsSync } from 'fs';
import * as path from 'path';
import type { TestContext } from 'node:test';
import { REPO_ROOT } from './notebooks';

function locate(): string | undefined {
  const candidates = [path.resolve(REPO_ROOT, '..', 'shared', 'specs')];
  const common = spawnSync('git', ['rev-parse', '--path-format=absolute', '--git-common-dir'], { cwd: REPO_ROOT, encoding: 'utf8' });
  if (common.status === 0) candidates.push(path.resolve(path.dirname(common.stdout.trim()), '..', 'shared', 'specs'));
  return candidates.find((dir) => existsSync(path.join(dir, 'README.md')));
}

export const SPECS_DIR = locate();

/** The specs folder, or undefined after skipping the test with a notice. */
export function requireSpecs(t: TestContext): string | undefined {
  if (SPECS_DIR) return SPECS_DIR;
  process.stderr.write(`\n!!! SKIPPING "${t.name}": no upstream specifications in ../shared/specs beside the repository\n\n`);
  t.skip('no ../shared/specs');
  return undefined;
}
