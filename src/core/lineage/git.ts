/** Git facts for a version record, from the `git` executable. Never throws: no git means no facts. */
import { execFile } from 'child_process';

export interface GitInfo {
  commit: string;
  dirty: boolean;
}

export async function gitInfo(dir: string, timeoutMs = 5_000): Promise<GitInfo | undefined> {
  const commit = await git(dir, ['rev-parse', '--verify', 'HEAD'], timeoutMs);
  if (!commit || !/^[0-9a-f]{40,64}$/.test(commit.trim())) return undefined;
  // Untracked files are left out: the generated package and the store itself would always count.
  const status = await git(dir, ['status', '--porcelain', '--untracked-files=no'], timeoutMs);
  if (status === undefined) return undefined;
  return { commit: commit.trim(), dirty: status.trim() !== '' };
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
