/**
 * Serve Model in the real workbench, as a user does it: run the churn notebook locally, then
 * right-click its run in the Lineage view → Serve Model (local mode, any free port). The status
 * bar shows the endpoint; clicking it offers Stop, Open API Docs and Copy curl Example; Stop
 * removes the item, and the run keeps a "Served locally" record. Cancel while it starts leaves
 * nothing running. Served again from the palette, the endpoint ends when the window reloads (the extension deactivates).
 */
import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import { contextMenu, ROOT, runFromPalette, screenshot, showSideBar, uiSessionPerSuite } from './session';

const PYTHON = fs.existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';

function records(workspace: string): { type: string; status?: string }[] {
  const store = path.join(workspace, '.nb2prod', 'lineage.jsonl');
  if (!fs.existsSync(store)) return [];
  return fs.readFileSync(store, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as { type: string; status?: string });
}

function succeededRuns(workspace: string): number {
  return records(workspace).filter((r) => r.type === 'run' && r.status === 'succeeded').length;
}

describe('UI: Serve Model', function () {
  const session = uiSessionPerSuite({ settings: { 'nb2prod.pythonPath': PYTHON, 'nb2prod.serveLocal': true, 'nb2prod.servePort': 0 } });

  it('run → right-click → Serve Model: a status bar item whose menu stops the endpoint', async () => {
    const { page, workspace } = session;
    fs.copyFileSync(path.join(ROOT, 'test', 'fixtures', 'serve', 'churn.ipynb'), path.join(workspace, 'churn.ipynb'));
    await page.locator('.activitybar .action-item a[aria-label^="Notebook to Production"]').waitFor({ state: 'visible', timeout: 90_000 });
    await showSideBar(page, 'Explorer');
    await page.locator('.explorer-folders-view .monaco-list-row', { hasText: 'churn.ipynb' }).dblclick();
    await page.locator('.cell-statusbar-container', { hasText: 'step: load' }).first().waitFor({ timeout: 60_000 });
    await runFromPalette(page, 'nb2prod: Run Pipeline Locally (Python)');
    const deadline = Date.now() + 120_000;
    while (succeededRuns(workspace) === 0) {
      if (Date.now() > deadline) assert.fail('the run was not recorded');
      await page.waitForTimeout(200);
    }

    await showSideBar(page, 'Notebook to Production');
    const view = page.locator('.pane', { has: page.locator('.pane-header', { hasText: 'Lineage' }) });
    const run = view.locator('.monaco-list-row', { hasText: /Run \S+\s*succeeded · local/ });
    await run.waitFor({ timeout: 30_000 });
    await contextMenu(page, run, 'Serve Model');

    const item = page.locator('.statusbar-item', { hasText: /churn :\d+/ });
    await item.waitFor({ timeout: 120_000 });
    const text = (await item.textContent()) ?? '';
    console.log(`      status bar: ${text.trim()}`);
    await view.locator('.monaco-list-row', { hasText: /http:\/\/127\.0\.0\.1:\d+/ }).waitFor({ timeout: 10_000 });

    await item.click();
    const picker = page.locator('.quick-input-widget');
    for (const label of ['Stop', 'Open API Docs', 'Copy curl Example']) {
      await picker.locator('.monaco-list-row', { hasText: label }).waitFor({ timeout: 10_000 });
    }
    await page.mouse.move(700, 450);
    console.log(`      screenshot: ${await screenshot(page, 'ui-serve-endpoint')}`);
    await picker.locator('.monaco-list-row', { hasText: 'Stop' }).click();
    await item.waitFor({ state: 'detached', timeout: 30_000 });
    await view.locator('.monaco-list-row', { hasText: 'Served locally' }).waitFor({ timeout: 30_000 });
  });

  it('Cancel on the progress notification: no endpoint starts and nothing is recorded', async () => {
    const { page, workspace } = session;
    const served = records(workspace).filter((r) => r.type === 'serve').length;
    await runFromPalette(page, 'nb2prod: Serve Model');
    const toast = page.locator('.notification-toast', { hasText: 'Serving churn.ipynb' });
    await toast.locator('.monaco-button', { hasText: 'Cancel' }).click({ timeout: 30_000 });
    await toast.waitFor({ state: 'detached', timeout: 30_000 });
    // Longer than the skew guard and the start take: a start the cancel missed would show by now.
    await page.waitForTimeout(8_000);
    assert.strictEqual(await page.locator('.statusbar-item', { hasText: /churn :\d+/ }).count(), 0, 'no status bar item');
    assert.strictEqual(records(workspace).filter((r) => r.type === 'serve').length, served, 'no serve recorded');
  });

  it('from the palette (the only run needs no question); a window reload stops the endpoint', async () => {
    const { page } = session;
    await runFromPalette(page, 'nb2prod: Serve Model');
    const item = page.locator('.statusbar-item', { hasText: /churn :\d+/ });
    await item.waitFor({ timeout: 120_000 });
    const port = /:(\d+)/.exec((await item.textContent()) ?? '')![1];
    const url = `http://127.0.0.1:${port}/v2/health/live`;
    assert.strictEqual((await fetch(url)).status, 200);
    await runFromPalette(page, 'Developer: Reload Window');
    const deadline = Date.now() + 30_000;
    for (;;) {
      const answered = await fetch(url).then(
        () => true,
        () => false,
      );
      if (!answered) break;
      if (Date.now() > deadline) assert.fail('the endpoint still answers after the window reloaded');
      await new Promise((r) => setTimeout(r, 250));
    }
  });
});
