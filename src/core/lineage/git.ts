/** Git facts for a version record, from the `git` executable. Never throws: no git means no facts. */
import { execFile } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';

export interface GitInfo {
  commit: string;
  dirty: boolean;
}

export async function gitInfo(dir: string, timeoutMs = 5_000): Promise<GitInfo | undefined> {
  if (!mayBeInRepository(dir)) return undefined;
  // One process for both facts. Untracked files are left out: the generated package and the store itself would always count.
  const status = await git(dir, ['status', '--porcelain=v2', '--branch', '--untracked-files=no'], timeoutMs);
  const commit = status === undefined ? undefined : /^# branch\.oid ([0-9a-f]{40,64})$/m.exec(status)?.[1];
  if (!status || !commit) return undefined; // not a repository, or no commit yet ("(initial)")
  return { commit, dirty: status.split('\n').some((line) => line !== '' && !line.startsWith('#')) };
}

/**
 * Whether git can find a repository from `dir`: a `.git` (a directory, or a file in worktrees
 * and submodules) there or above. Spawning git only to learn there is none cost every
 * productionize outside a repository about 30 ms.
 */
function mayBeInRepository(dir: string): boolean {
  if (process.env.GIT_DIR) return true;
  for (let d = path.resolve(dir); ; d = path.dirname(d)) {
    if (fs.existsSync(path.join(d, '.git'))) return true;
    if (path.dirname(d) === d) return false;
  }
}

function git(dir: string, args: string[], timeoutMs: number): Promise<string | undefined> {
  return new Promise((resolve) => {
    try {
      execFile(
        'git',
        ['-C', dir, ...args],
        {
          timeout: timeoutMs,
          windowsHide: true,
          maxBuffer: 16 * 1024 * 1024,
          // Don't take index.lock for a status refresh: other tools may be committing right now.
          env: { ...process.env, GIT_OPTIONAL_LOCKS: '0', GIT_TERMINAL_PROMPT: '0', LC_ALL: 'C' },
        },
        (error, stdout) => resolve(error ? undefined : stdout),
      );
    } catch {
      resolve(undefined); // spawn failures that throw synchronously (e.g. bad cwd)
    }
  });
}
