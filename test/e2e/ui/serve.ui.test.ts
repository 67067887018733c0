/**
 * Serve Model in the real workbench, as a user does it: run the churn notebook locally, then
 * right-click its run in the Lineage view → Serve Model (local mode, any free port). The status
 * bar shows the endpoint; clicking it offers Stop, Open API Docs and Copy curl Example; Stop
 * removes the item, and the run keeps a "Served locally" record.
 */
import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import { contextMenu, ROOT, runFromPalette, screenshot, showSideBar, uiSessionPerSuite } from './session';

const PYTHON = fs.existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';

function succeededRuns(workspace: string): number {
  const store = path.join(workspace, '.nb2prod', 'lineage.jsonl');
  if (!fs.existsSync(store)) return 0;
  const records = fs.readFileSync(store, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as { type: string; status?: string });
  return records.filter((r) => r.type === 'run' && r.status === 'succeeded').length;
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
});
