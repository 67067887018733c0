/**
 * A UI-test session: the packaged .vsix installed into a fresh code-server with
 * `--install-extension`, the workbench open on a copy of the fixture workspace in headless
 * chromium. This is what a user gets: no extensionDevelopmentPath, the real package.
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import type { Frame, Locator, Page } from 'playwright-core';
import { CodeServer, findCodeServer, installExtension, startCodeServer } from '../harness/codeServer';
import { openWorkbench, Workbench } from '../harness/workbench';

export const ROOT = path.resolve(__dirname, '..', '..', '..', '..');
export const RESULTS = path.join(ROOT, 'test-results');

export interface UiSession {
  page: Page;
  workspace: string;
  vsix: string;
  installLog: string;
  close(): Promise<void>;
}

/** `vsce package` into a temp dir: the same command as `npm run package`, without touching dist/. */
export function packageVsix(dir: string): string {
  const out = path.join(dir, 'notebook-to-production.vsix');
  const vsce = path.join(ROOT, 'node_modules', '.bin', 'vsce');
  const r = spawnSync(vsce, ['package', '--no-dependencies', '--out', out], { cwd: ROOT, encoding: 'utf8', timeout: 120_000 });
  if (r.status !== 0) throw new Error(`vsce package failed:\n${r.stdout}\n${r.stderr}`);
  return out;
}

export async function startUiSession(options: { settings?: Record<string, unknown> } = {}): Promise<UiSession> {
  const binary = findCodeServer();
  if (!binary) throw new Error('code-server is not installed (bash test/setup/vscode.sh)');
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'nb2prod-ui-'));
  const userDataDir = path.join(scratch, 'user-data');
  const extensionsDir = path.join(scratch, 'extensions');
  const workspace = path.join(scratch, 'workspace');
  fs.cpSync(path.join(ROOT, 'test', 'fixtures', 'workspace'), workspace, { recursive: true });
  let server: CodeServer | undefined;
  let workbench: Workbench | undefined;
  const close = async () => {
    await workbench?.close();
    await server?.stop();
    fs.rmSync(scratch, { recursive: true, force: true });
  };
  try {
    const vsix = packageVsix(scratch);
    const installLog = installExtension(binary, vsix, userDataDir, extensionsDir);
    server = await startCodeServer({ binary, userDataDir, extensionsDir, settings: options.settings, log: process.env.NB2PROD_E2E_DEBUG ? console.log : undefined });
    workbench = await openWorkbench({ server, folder: workspace, onLog: process.env.NB2PROD_E2E_DEBUG ? console.log : undefined });
    return { page: workbench.page, workspace, vsix, installLog, close };
  } catch (e) {
    await close();
    throw e;
  }
}

/**
 * One session for the tests of a `describe` block: started before them, closed after them, and a
 * screenshot of the workbench saved for each test that fails. Call it in the block's body.
 */
export function uiSessionPerSuite(options: { settings?: Record<string, unknown> } = {}): UiSession {
  let session: UiSession | undefined;
  const current = (): UiSession => {
    if (!session) throw new Error('the UI session did not start');
    return session;
  };
  before(async function () {
    this.timeout(240_000);
    session = await startUiSession(options);
  });
  after(async () => {
    await session?.close();
  });
  afterEach(async function () {
    if (this.currentTest?.state === 'failed' && session) {
      console.log(`      screenshot: ${await screenshot(session.page, `ui-failed-${this.currentTest.title.replace(/\W+/g, '-')}`)}`);
    }
  });
  return {
    get page() {
      return current().page;
    },
    get workspace() {
      return current().workspace;
    },
    get vsix() {
      return current().vsix;
    },
    get installLog() {
      return current().installLog;
    },
    close: () => current().close(),
  };
}

export async function screenshot(page: Page, name: string): Promise<string> {
  fs.mkdirSync(RESULTS, { recursive: true });
  const file = path.join(RESULTS, `${name}.png`);
  await page.screenshot({ path: file });
  return file;
}

export async function waitForFile(file: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!fs.existsSync(file)) {
    if (Date.now() > deadline) throw new Error(`${file} did not appear within ${timeoutMs / 1000}s`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** Opens a view container from the activity bar; clicking the icon of the open one would close the side bar. */
export async function showSideBar(page: Page, label: string): Promise<void> {
  const item = page.locator('.activitybar .action-item', { has: page.locator(`a[aria-label^="${label}"]`) });
  const open = (await item.getAttribute('class'))?.split(/\s+/).includes('checked');
  const sideBarVisible = await page.locator('.part.sidebar').isVisible();
  if (!open || !sideBarVisible) await item.locator('a').click();
}

/**
 * Right-click `target` and choose `label` from the context menu. A click that lands while the
 * menu is still animating in only highlights the item, so fall back to Enter on it.
 */
export async function contextMenu(page: Page, target: Locator, label: string): Promise<void> {
  await target.click({ button: 'right' });
  const menu = page.locator('.context-view .monaco-menu');
  const item = menu.locator('.action-item', { hasText: label });
  await item.waitFor({ state: 'visible', timeout: 10_000 });
  await item.hover();
  await item.click();
  try {
    await menu.waitFor({ state: 'hidden', timeout: 3_000 });
  } catch {
    await item.hover();
    await page.keyboard.press('Enter');
    await menu.waitFor({ state: 'hidden', timeout: 5_000 });
  }
}

/**
 * The frame of a webview panel restored by a window reload. code-server sometimes loads a
 * restored webview's page before its new service worker is in control, and the page stays blank
 * (the toolbar too, so not our script); showing the tab again loads it afresh. That cannot hide
 * a panel our serializer failed to adopt: its page would have no HTML either time.
 */
export async function restoredWebview(page: Page, tab: string, selector: string): Promise<Frame> {
  const tabLocator = page.locator('.tabs-container .tab', { hasText: tab });
  await tabLocator.waitFor({ timeout: 90_000 });
  try {
    return await webviewFrame(page, selector, 20_000);
  } catch {
    // Another tab of the same group hides the webview (which drops its page), this one shows it again.
    const others = tabLocator.locator('xpath=..').locator('.tab').filter({ hasNotText: tab });
    if (await others.count()) await others.first().click();
    await tabLocator.click();
    return webviewFrame(page, selector, 40_000);
  }
}

/**
 * Answers a save dialog by accepting the file it offers, which must be `file`. In code-server the
 * dialog is VS Code's own path input (no native dialog); typing into it races its completion.
 */
export async function saveAs(page: Page, file: string): Promise<void> {
  const input = page.locator('.quick-input-widget .quick-input-box input');
  await input.waitFor({ timeout: 10_000 });
  const deadline = Date.now() + 10_000;
  let offered = '';
  while (!(offered = await input.inputValue()).endsWith(path.basename(file))) {
    if (Date.now() > deadline) throw new Error(`the save dialog offers ${offered}, not ${file}`);
    await page.waitForTimeout(100);
  }
  await input.press('Enter');
}

/** Runs a command from the palette by its title, as a user types it. */
export async function runFromPalette(page: Page, title: string): Promise<void> {
  await page.keyboard.press('F1');
  const input = page.locator('.quick-input-widget .quick-input-box input');
  await input.waitFor({ timeout: 10_000 });
  await input.fill(`>${title}`);
  await page.locator('.quick-input-widget .monaco-list-row', { hasText: title }).first().waitFor({ timeout: 10_000 });
  await input.press('Enter');
}

/**
 * The frame of the webview whose page has `selector`. A webview is an iframe holding another
 * iframe (the page); hidden webviews keep theirs, so the first match that is visible wins.
 */
export async function webviewFrame(page: Page, selector: string, timeoutMs = 30_000): Promise<Frame> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    for (const frame of page.frames()) {
      const found = await frame.$(selector).catch(() => null);
      if (found && (await found.isVisible().catch(() => false))) return frame;
    }
    if (Date.now() > deadline) throw new Error(`no webview shows ${selector} within ${timeoutMs / 1000}s`);
    await page.waitForTimeout(200);
  }
}
