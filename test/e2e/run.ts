/**
 * The real-VS-Code tests: `node out/test/e2e/run.js [integration|untrusted|ui]...`.
 *  - integration: mocha inside the extension host of a real VS Code (test/e2e/suite).
 *  - untrusted:   the same host with the folder in Restricted Mode (suite/untrusted.test.ts).
 *  - ui:          Playwright drives the workbench with the packaged .vsix installed (test/e2e/ui).
 * Runs through `@vscode/test-electron`'s runTests with our launcher as the "executable":
 * here it is a code-server (test/setup/vscode.sh installs it). With internet,
 * NB2PROD_VSCODE_VERSION=stable (or 1.100.0, ...) runs the integration suite in downloaded
 * desktop VS Code instead (runTests always disables workspace trust there, and the UI suite
 * needs the server, so those two stay code-server only).
 * Without code-server the run fails under CI and is skipped (with a notice) elsewhere.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { runTests } from '@vscode/test-electron';
import Mocha from 'mocha';
import { findCodeServer } from './harness/codeServer';

const root = path.resolve(__dirname, '..', '..', '..');
const fixtureWorkspace = path.join(root, 'test', 'fixtures', 'workspace');

/** A throwaway copy of the fixture workspace, so tests may write into it. */
export function copyWorkspace(prefix: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `nb2prod-${prefix}-`));
  fs.cpSync(fixtureWorkspace, dir, { recursive: true });
  return dir;
}

const desktopVersion = process.env.NB2PROD_VSCODE_VERSION;

async function runHostSuite(untrusted: boolean): Promise<number> {
  const launcher = path.join(__dirname, 'launcher.js');
  if (!desktopVersion) fs.chmodSync(launcher, 0o755); // tsc does not keep the executable bit
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'nb2prod-host-'));
  const workspace = copyWorkspace('ws');
  try {
    return await runTests({
      ...(desktopVersion ? { version: desktopVersion } : { vscodeExecutablePath: launcher }),
      extensionDevelopmentPath: root,
      extensionTestsPath: path.join(__dirname, 'suite', 'index'),
      launchArgs: [
        workspace,
        `--user-data-dir=${path.join(scratch, 'user-data')}`,
        `--extensions-dir=${path.join(scratch, 'extensions')}`,
      ],
      extensionTestsEnv: { NB2PROD_E2E_UNTRUSTED: untrusted ? '1' : '0' },
    });
  } catch (e) {
    console.error(String((e as Error).message ?? e));
    return 1;
  } finally {
    fs.rmSync(scratch, { recursive: true, force: true });
    fs.rmSync(workspace, { recursive: true, force: true });
  }
}

async function runUiSuite(): Promise<number> {
  const dir = path.join(__dirname, 'ui');
  const mocha = new Mocha({ ui: 'bdd', color: false, timeout: 180_000, reporter: 'spec' });
  for (const f of fs.readdirSync(dir).filter((f) => f.endsWith('.test.js')).sort()) {
    mocha.addFile(path.join(dir, f));
  }
  if (process.env.NB2PROD_E2E_GREP) mocha.grep(process.env.NB2PROD_E2E_GREP);
  await mocha.loadFilesAsync();
  return new Promise((resolve) => mocha.run((failures) => resolve(failures ? 1 : 0)));
}

const SUITES: Record<string, () => Promise<number>> = {
  integration: () => runHostSuite(false),
  untrusted: () => runHostSuite(true),
  ui: runUiSuite,
};

async function main(): Promise<number> {
  const all = desktopVersion ? ['integration'] : Object.keys(SUITES);
  const wanted = process.argv.slice(2).length ? process.argv.slice(2) : all;
  const unknown = wanted.filter((w) => !SUITES[w]);
  if (unknown.length) {
    console.error(`unknown suite(s): ${unknown.join(', ')}; choose from ${Object.keys(SUITES).join(', ')}`);
    return 2;
  }
  if (!desktopVersion && !findCodeServer()) {
    const msg = 'code-server is not installed (bash test/setup/vscode.sh installs it)';
    if (process.env.CI) {
      console.error(`vscode tests: ${msg}`);
      return 1;
    }
    console.log(`vscode tests skipped: ${msg}`);
    return 0;
  }
  if (!fs.existsSync(path.join(root, 'dist', 'extension.js'))) {
    console.error('vscode tests: dist/extension.js is missing; run `npm run build` first');
    return 1;
  }
  let worst = 0;
  for (const name of wanted) {
    const started = Date.now();
    console.log(`\n--- vscode ${name} ---`);
    const code = await SUITES[name]();
    console.log(`--- vscode ${name}: ${code === 0 ? 'passed' : 'FAILED'} in ${((Date.now() - started) / 1000).toFixed(1)}s ---`);
    worst = Math.max(worst, code);
  }
  return worst;
}

if (require.main === module) {
  main().then(
    (code) => process.exit(code),
    (e) => {
      console.error(e);
      process.exit(1);
    },
  );
}
