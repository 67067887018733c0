/**
 * Opens a code-server workbench in headless Debian chromium through playwright-core.
 * `payload` carries extensionDevelopmentPath / extensionTestsPath the way desktop VS Code
 * takes them on its command line; the workbench reports test output through
 * `codeAutomationLog` and the mocha result through `codeAutomationExit`.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { format } from 'util';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import type { CodeServer } from './codeServer';

export const CHROMIUM = process.env.NB2PROD_CHROMIUM ?? '/usr/bin/chromium';

const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** Connection and offline-gallery chatter the workbench logs on every start; shown with NB2PROD_E2E_DEBUG. */
const WORKBENCH_CHATTER =
  /^(Resolving connection token|Resolved connection token|Creating a socket|Ignoring fetching additional builtin|Updating additional builtin|\[Service Worker\]|ChatSessionStore)/;

export interface WorkbenchOptions {
  server: CodeServer;
  folder: string;
  /** Local absolute paths; turned into vscode-remote URIs for this server. */
  extensionDevelopmentPath?: string;
  extensionTestsPath?: string;
  onLog?: (line: string) => void;
  onExit?: (code: number) => void;
  viewport?: { width: number; height: number };
}

export interface Workbench {
  page: Page;
  context: BrowserContext;
  close(): Promise<void>;
}

export function remoteUri(server: CodeServer, absPath: string): string {
  return `vscode-remote://${server.authority}${absPath.split(path.sep).map(encodeURIComponent).join('/')}`;
}

export function workbenchUrl(opts: WorkbenchOptions): string {
  const payload: [string, string][] = [['skipWelcome', 'true']];
  if (opts.extensionDevelopmentPath) {
    payload.unshift(['extensionDevelopmentPath', remoteUri(opts.server, opts.extensionDevelopmentPath)]);
  }
  if (opts.extensionTestsPath) {
    payload.splice(1, 0, ['extensionTestsPath', remoteUri(opts.server, opts.extensionTestsPath)]);
  }
  return `${opts.server.url}/?folder=${encodeURIComponent(opts.folder)}&payload=${encodeURIComponent(JSON.stringify(payload))}`;
}

export async function openWorkbench(opts: WorkbenchOptions): Promise<Workbench> {
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'nb2prod-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: CHROMIUM_ARGS,
    viewport: opts.viewport ?? { width: 1400, height: 900 },
  });
  const close = async () => {
    await context.close().catch(() => undefined);
    fs.rmSync(profile, { recursive: true, force: true });
  };
  try {
    const page = context.pages()[0] ?? (await context.newPage());
    const sink = opts.onLog ?? (() => undefined);
    const log = (line: string) => {
      if (process.env.NB2PROD_E2E_DEBUG || !WORKBENCH_CHATTER.test(line)) sink(line);
    };
    await page.exposeFunction('codeAutomationLog', (type: unknown, args: unknown) => {
      log(formatAutomationLog(type, args));
    });
    await page.exposeFunction('codeAutomationExit', (code: unknown) => {
      opts.onExit?.(typeof code === 'number' ? code : Number(code) || 0);
    });
    if (process.env.NB2PROD_E2E_DEBUG) {
      page.on('console', (m) => log(`[page ${m.type()}] ${m.text()}`));
      page.on('pageerror', (e) => log(`[page error] ${e.message}`));
    }
    await page.goto(workbenchUrl(opts), { waitUntil: 'domcontentloaded' });
    return { page, context, close };
  } catch (e) {
    await close();
    throw e;
  }
}

/** The workbench forwards console calls as (type, args[]) with printf-style args (mocha's reporter uses them). */
function formatAutomationLog(type: unknown, args: unknown): string {
  const text = format(...(Array.isArray(args) ? args : [args]));
  return type === 'error' || type === 'warn' ? `[${type}] ${text}` : text;
}
