/**
 * Playwright drives the real workbench, as a user would: right-click the notebook in the
 * Explorer, "Productionize Notebook", then the Lineage view shows the version.
 */
import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import { contextMenu, screenshot, showSideBar, waitForFile, uiSessionPerSuite } from './session';

describe('UI: productionize from the Explorer (installed .vsix)', function () {
  const session = uiSessionPerSuite();

  it('installs the packaged extension with --install-extension', () => {
    assert.match(session.installLog, /notebook-to-production\.vsix' was successfully installed/);
    console.log(`      .vsix: ${(fs.statSync(session.vsix).size / 1024).toFixed(0)} KB`);
  });

  it('right-click → Productionize Notebook writes the pipeline and the Lineage view shows the version', async () => {
    const { page, workspace } = session;
    // The activity-bar icon appears once the extension's contributions are in; acting earlier
    // finds no command and opens the .ipynb as JSON.
    const icon = page.locator('.activitybar .action-item a[aria-label^="Notebook to Production"]');
    await icon.waitFor({ state: 'visible', timeout: 90_000 });

    const row = page.locator('.explorer-folders-view .monaco-list-row', { hasText: 'wordstats.ipynb' });
    await row.waitFor({ state: 'visible', timeout: 30_000 });
    await contextMenu(page, row, 'Productionize Notebook');

    const pipeline = path.join(workspace, 'pipelines', 'wordstats');
    await waitForFile(path.join(pipeline, 'pipeline.json'), 60_000);
    assert.ok(fs.existsSync(path.join(pipeline, 'wordstats', 'steps', 'summarize.py')));
    await page.locator('.notifications-toasts', { hasText: 'Pipeline written to pipelines/wordstats' }).waitFor({ timeout: 30_000 });

    await showSideBar(page, 'Notebook to Production');
    const view = page.locator('.pane', { has: page.locator('.pane-header', { hasText: 'Lineage' }) });
    await view.locator('.monaco-list-row', { hasText: 'wordstats.ipynb' }).waitFor({ timeout: 30_000 });
    const version = view.locator('.monaco-list-row', { hasText: 'Version 1' });
    await version.waitFor({ timeout: 30_000 });
    assert.match((await version.textContent()) ?? '', /just now/);
    await page.mouse.move(700, 450); // no hover tooltip over the view in the screenshot
    console.log(`      screenshot: ${await screenshot(page, 'ui-productionize-lineage')}`);
  });

  it('the notebook editor shows each cell\'s step in its status bar', async () => {
    const { page } = session;
    await showSideBar(page, 'Explorer');
    const row = page.locator('.explorer-folders-view .monaco-list-row', { hasText: 'wordstats.ipynb' });
    await row.dblclick();
    const status = page.locator('.cell-statusbar-container', { hasText: 'step: load' });
    await status.first().waitFor({ timeout: 60_000 });
    await page.locator('.cell-statusbar-container', { hasText: 'parameters' }).first().waitFor({ timeout: 10_000 });
    await page.mouse.move(700, 450);
    console.log(`      screenshot: ${await screenshot(page, 'ui-notebook-steps')}`);
    await page.keyboard.press('Control+K');
    await page.keyboard.press('W'); // close the editors again
  });

  it('Cancel on the progress notification stops a local run and records it as cancelled', async () => {
    const { page, workspace } = session;
    const started = Date.now();
    await showSideBar(page, 'Explorer');
    await contextMenu(page, page.locator('.explorer-folders-view .monaco-list-row', { hasText: 'slow.ipynb' }), 'Run Pipeline Locally');
    const toast = page.locator('.notification-toast', { hasText: 'Running slow.ipynb locally' });
    // Cancel only once Python is running, so the abort has a process to stop.
    await toast.filter({ hasText: 'running locally' }).waitFor({ timeout: 60_000 });
    await toast.locator('.monaco-button', { hasText: 'Cancel' }).click();
    const store = path.join(workspace, '.nb2prod', 'lineage.jsonl');
    let run: { status?: string } | undefined;
    const deadline = Date.now() + 30_000;
    while (!run && Date.now() < deadline) {
      const lines = fs.existsSync(store) ? fs.readFileSync(store, 'utf8').split('\n').filter(Boolean) : [];
      run = lines.map((l) => JSON.parse(l)).find((r) => r.type === 'run' && r.notebook === 'slow.ipynb');
      if (!run) await new Promise((r) => setTimeout(r, 250));
    }
    assert.ok(run, 'the cancelled run is recorded');
    assert.strictEqual(run.status, 'cancelled');
    assert.ok(Date.now() - started < 55_000, 'stopped well before the pipeline would have finished');
    await showSideBar(page, 'Notebook to Production');
    await page.locator('.monaco-list-row', { hasText: 'slow.ipynb' }).waitFor({ timeout: 30_000 });
  });

  it('clicking a cell\'s step opens "Set Step Tag…" and the pick retags the cell', async () => {
    const { page } = session;
    await showSideBar(page, 'Explorer');
    await page.locator('.explorer-folders-view .monaco-list-row', { hasText: 'broken.ipynb' }).dblclick();
    const item = page.locator('.cell-statusbar-container .cell-status-item', { hasText: 'step: report' });
    await item.waitFor({ timeout: 60_000 });
    await item.click();
    const input = page.locator('.quick-input-widget .quick-input-box input');
    await input.waitFor({ timeout: 10_000 });
    await input.fill('load');
    await page.locator('.quick-input-widget .monaco-list-row', { hasText: 'existing step' }).first().waitFor();
    await input.press('Enter');
    const load = page.locator('.cell-statusbar-container .cell-status-item', { hasText: 'step: load' });
    const deadline = Date.now() + 15_000;
    while ((await load.count()) !== 2) {
      if (Date.now() > deadline) assert.fail(`expected both cells in step 'load', found ${await load.count()}`);
      await page.waitForTimeout(200);
    }
    await page.mouse.move(700, 450);
    console.log(`      screenshot: ${await screenshot(page, 'ui-set-step-tag')}`);
  });
});
