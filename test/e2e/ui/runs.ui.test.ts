/**
 * Compare Runs in the real workbench: two local runs of the diamond fixture with a different
 * parameter (edited in the parameters cell between them, so they are two versions too), then
 * the table lists both with their metrics, the chart has a point for each, and ticking both
 * shows which parameter and metrics changed.
 */
import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import type { Frame, Page } from 'playwright-core';
import { restoredWebview, runFromPalette, saveAs, screenshot, showSideBar, waitForFile, webviewFrame, uiSessionPerSuite } from './session';

const PYTHON = fs.existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';

async function runsRecorded(workspace: string): Promise<number> {
  const store = path.join(workspace, '.nb2prod', 'lineage.jsonl');
  if (!fs.existsSync(store)) return 0;
  return fs.readFileSync(store, 'utf8').split('\n').filter((l) => l.includes('"type":"run"') && l.includes('"status":"succeeded"')).length;
}

async function runLocally(page: Page, workspace: string, expected: number): Promise<void> {
  await page.locator('.notebook-editor .monaco-list-row', { hasText: /numbers\s=\slist/ }).locator('.view-lines').click();
  await runFromPalette(page, 'nb2prod: Run Pipeline Locally (Python)');
  const deadline = Date.now() + 90_000;
  while ((await runsRecorded(workspace)) < expected) {
    if (Date.now() > deadline) assert.fail(`run ${expected} was not recorded`);
    await page.waitForTimeout(200);
  }
}

describe('UI: Compare Runs', function () {
  const session = uiSessionPerSuite({ settings: { 'nb2prod.pythonPath': PYTHON } });
  let runs: Frame;

  it('two runs with different parameters: the table shows both with their metrics, the chart two points', async () => {
    const { page, workspace } = session;
    await page.locator('.activitybar .action-item a[aria-label^="Notebook to Production"]').waitFor({ state: 'visible', timeout: 90_000 });
    await showSideBar(page, 'Explorer');
    await page.locator('.explorer-folders-view .monaco-list-row', { hasText: 'diamond.ipynb' }).dblclick();
    await page.locator('.cell-statusbar-container', { hasText: 'step: load' }).first().waitFor({ timeout: 60_000 });
    await runLocally(page, workspace, 1);

    // A different parameter: scale 2 -> 5 in the parameters cell, and a text that a spreadsheet
    // would take for a formula (for the CSV export below).
    await page.locator('.notebook-editor .monaco-list-row', { hasText: /scale\s=\s2/ }).locator('.view-lines').click();
    await page.keyboard.press('Control+A');
    await page.keyboard.type('scale = 5\nlimit = 10\nnote = "=1+2"');
    await page.keyboard.press('Escape');
    await runLocally(page, workspace, 2);

    await runFromPalette(page, 'nb2prod: Compare Runs');
    runs = await webviewFrame(page, 'table#runs tbody tr');
    await runs.locator('table#runs tbody tr').nth(1).waitFor({ timeout: 15_000 });
    const table = await runs.evaluate(() => {
      const headers = [...document.querySelectorAll('table#runs th')].map((th) => th.textContent ?? '');
      const rows = [...document.querySelectorAll('table#runs tbody tr')].map((tr) => Object.fromEntries([...tr.querySelectorAll('td')].map((td, i) => [headers[i], td.textContent ?? ''])));
      return { headers, rows };
    });
    console.log(`      columns: ${table.headers.filter(Boolean).join(', ')}`);
    assert.strictEqual(table.rows.length, 2);
    assert.deepStrictEqual(table.rows.map((r) => r.scale), ['2', '5']);
    assert.deepStrictEqual(table.rows.map((r) => r.total), ['85', '175']);
    assert.deepStrictEqual(table.rows.map((r) => r.status), ['succeeded', 'succeeded']);
    assert.deepStrictEqual(table.rows.map((r) => r.version), ['1', '2']);
    assert.strictEqual(await runs.evaluate(() => document.getElementById('chart')?.dataset.points), '2');
  });

  it('ticking both runs names the changed parameter and metrics', async () => {
    const boxes = runs.locator('table#runs tbody input[type=checkbox]');
    await boxes.nth(0).check();
    await boxes.nth(1).check();
    const changes = await runs.evaluate(() => [...document.querySelectorAll('#diff tr[data-kind]')].map((tr) => `${(tr as HTMLElement).dataset.kind} ${(tr as HTMLElement).dataset.name}`));
    console.log(`      differences: ${changes.join('; ')}`);
    assert.ok(changes.includes('param scale'), changes.join('\n'));
    assert.ok(changes.includes('metric total'), changes.join('\n'));
    assert.ok(!changes.includes('param limit'), 'an unchanged parameter is not a difference');
  });

  it('sorts, filters and hides columns', async () => {
    await runs.locator('th[data-column="metric:total"]').click();
    await runs.locator('th[data-column="metric:total"]').click();
    const totals = async () => runs.evaluate(() => [...document.querySelectorAll('table#runs tbody tr')].map((tr) => tr.getAttribute('data-run')));
    const descending = await totals();
    await runs.locator('th[data-column="metric:total"]').click();
    assert.deepStrictEqual(await totals(), [...descending].reverse());
    await runs.locator('#filter').fill('175');
    assert.strictEqual(await runs.locator('table#runs tbody tr').count(), 1);
    await runs.locator('#filter').fill('');
    await runs.locator('#choose-columns').click();
    await runs.locator('#columns input[data-column="where"]').uncheck();
    assert.strictEqual(await runs.locator('th[data-column="where"]').count(), 0);
    await runs.locator('#choose-columns').click();
    await runFromPalette(session.page, 'View: Hide Panel'); // the run log would cover the chart
    await session.page.mouse.move(5, 450);
    console.log(`      screenshot: ${await screenshot(session.page, 'runs-compare')}`);
  });

  it('Export CSV saves the table: a header row, a row per run, formula-looking cells guarded', async () => {
    const { page, workspace } = session;
    const file = path.join(workspace, 'diamond-runs.csv');
    await runs.locator('#export').click();
    // code-server's save dialog is VS Code's own path input, so the test answers it like a user.
    await saveAs(page, file);
    await waitForFile(file, 10_000);
    const lines = fs.readFileSync(file, 'utf8').split('\r\n');
    assert.strictEqual(lines.pop(), '', 'ends with a line break');
    const [header, ...rows] = lines.map((l) => l.split(','));
    console.log(`      CSV header: ${header.join(',')}`);
    assert.ok(['status', 'scale', 'total'].every((c) => header.includes(c)), header.join(','));
    assert.strictEqual(rows.length, 2);
    const column = (name: string) => rows.map((r) => r[header.indexOf(name)]);
    assert.deepStrictEqual(column('scale'), ['2', '5']);
    assert.deepStrictEqual(column('total'), ['85', '175']);
    assert.deepStrictEqual(column('note'), ['', "'=1+2"], 'a leading = is quoted away from spreadsheet formulas');
  });

  it('after a window reload the Compare Runs panel comes back with its runs', async () => {
    const { page } = session;
    // The command, not page.reload(): it lets the workbench save which editors were open.
    await runFromPalette(page, 'Developer: Reload Window');
    const restored = await restoredWebview(page, 'Runs: diamond.ipynb', 'table#runs tbody tr');
    assert.strictEqual(await restored.locator('table#runs tbody tr').count(), 2);
    assert.strictEqual(await restored.locator('th[data-column="where"]').count(), 0, 'the hidden column stays hidden (webview state)');
  });
});
