#!/usr/bin/env node
/**
 * A stand-in for the VS Code executable, for `@vscode/test-electron`'s `runTests`
 * (`vscodeExecutablePath`). Desktop VS Code cannot be downloaded here, so this starts a real
 * VS Code server (code-server), opens its workbench in headless chromium with the same
 * extensionDevelopmentPath / extensionTestsPath, and exits with the tests' exit code.
 *
 * Understands the arguments runTests passes: a folder, --extensionDevelopmentPath=,
 * --extensionTestsPath=, --user-data-dir=, --extensions-dir=; the rest are desktop-only.
 * NB2PROD_E2E_UNTRUSTED=1 opens the folder in Restricted Mode.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { findCodeServer, startCodeServer } from './harness/codeServer';
import { openWorkbench } from './harness/workbench';

interface LaunchArgs {
  folder?: string;
  extensionDevelopmentPath?: string;
  extensionTestsPath?: string;
  userDataDir?: string;
  extensionsDir?: string;
}

export function parseLaunchArgs(argv: string[]): LaunchArgs {
  const parsed: LaunchArgs = {};
  const keys: Record<string, keyof LaunchArgs> = {
    '--extensionDevelopmentPath': 'extensionDevelopmentPath',
    '--extensionTestsPath': 'extensionTestsPath',
    '--user-data-dir': 'userDataDir',
    '--extensions-dir': 'extensionsDir',
  };
  for (const arg of argv) {
    const eq = arg.indexOf('=');
    const key = keys[eq === -1 ? arg : arg.slice(0, eq)];
    if (key && eq !== -1) parsed[key] = path.resolve(arg.slice(eq + 1));
    else if (!arg.startsWith('-')) parsed.folder = path.resolve(arg);
  }
  return parsed;
}

async function main(): Promise<number> {
  const args = parseLaunchArgs(process.argv.slice(2));
  const binary = findCodeServer();
  if (!binary) {
    console.error('launcher: code-server not found; run test/setup/vscode.sh (or set NB2PROD_CODE_SERVER)');
    return 1;
  }
  if (!args.extensionTestsPath) {
    console.error('launcher: --extensionTestsPath= is required');
    return 1;
  }
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'nb2prod-launcher-'));
  const folder = args.folder ?? fs.mkdtempSync(path.join(scratch, 'ws-'));
  const timeoutMs = Number(process.env.NB2PROD_E2E_TIMEOUT_MS ?? 10 * 60_000);
  const verbose = !!process.env.NB2PROD_E2E_DEBUG;

  const server = await startCodeServer({
    binary,
    userDataDir: args.userDataDir ?? path.join(scratch, 'user-data'),
    extensionsDir: args.extensionsDir ?? path.join(scratch, 'extensions'),
    untrusted: process.env.NB2PROD_E2E_UNTRUSTED === '1',
    log: verbose ? (l) => console.log(l) : undefined,
  });
  let opened: Promise<{ close(): Promise<void> } | undefined> = Promise.resolve(undefined);
  try {
    return await new Promise<number>((resolve) => {
      const timer = setTimeout(() => {
        console.error(`launcher: tests did not finish within ${timeoutMs / 1000}s`);
        resolve(1);
      }, timeoutMs);
      const done = (code: number) => {
        clearTimeout(timer);
        resolve(code);
      };
      // runTests forwards Ctrl-C; stop the server and browser instead of leaving them behind.
      process.once('SIGINT', () => done(130));
      process.once('SIGTERM', () => done(143));
      opened = openWorkbench({
        server,
        folder,
        extensionDevelopmentPath: args.extensionDevelopmentPath,
        extensionTestsPath: args.extensionTestsPath,
        onLog: (line) => console.log(line),
        onExit: done,
      }).catch((e) => {
        console.error(`launcher: could not open the workbench: ${(e as Error).message}`);
        done(1);
        return undefined;
      });
    });
  } finally {
    await (await opened)?.close();
    await server.stop();
    fs.rmSync(scratch, { recursive: true, force: true });
  }
}

if (require.main === module) {
  main().then(
    (code) => process.exit(code),
    (e) => {
      console.error(`launcher: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
      process.exit(1);
    },
  );
}
