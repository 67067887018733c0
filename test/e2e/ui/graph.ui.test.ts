/**
 * The Pipeline Graph in the real workbench: opened on the diamond fixture (two branches after
 * one load, joined again, and a report ordered by an `after:` tag), it draws exactly the plan,
 * follows clicks and the cell selection both ways, redraws on a retag, shows a run step by
 * step, and takes screenshots in a light and a dark theme.
 */
import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import type { Frame } from 'playwright-core';
import { contextMenu, restoredWebview, runFromPalette, saveAs, screenshot, showSideBar, waitForFile, webviewFrame, uiSessionPerSuite } from './session';

/** Debian's Python starts in 50 ms (the pyenv shim in 500): the runs here are about the graph, not Python. */
const PYTHON = fs.existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';

interface Drawn {
  nodes: string[];
  edges: string[];
}

async function drawn(frame: Frame): Promise<Drawn> {
  return frame.evaluate(() => ({
    nodes: [...document.querySelectorAll('g.node')].map((n) => (n as SVGGElement).dataset.step ?? '').sort(),
    edges: [...document.querySelectorAll('path.edge')]
      .map((e) => {
        const d = (e as SVGPathElement).dataset;
        return `${d.from} ${e.classList.contains('order') ? '-.->' : '-->'} ${d.to}: ${d.label}`;
      })
      .sort(),
  }));
}

async function nodeClasses(frame: Frame, step: string): Promise<string[]> {
  return frame.evaluate((s) => [...(document.querySelector(`g.node[data-step="${s}"]`)?.classList ?? [])], step);
}

async function until<T>(what: string, probe: () => Promise<T | undefined | false>, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('UI: Pipeline Graph', function () {
  const session = uiSessionPerSuite({ settings: { 'nb2prod.pythonPath': PYTHON } });
  let graph: Frame;

  it('draws exactly the plan of the diamond: its steps, data edges labelled with the values, the after: edge dashed', async () => {
    const { page } = session;
    await page.locator('.activitybar .action-item a[aria-label^="Notebook to Production"]').waitFor({ state: 'visible', timeout: 90_000 });
    await showSideBar(page, 'Explorer');
    await page.locator('.explorer-folders-view .monaco-list-row', { hasText: 'diamond.ipynb' }).dblclick();
    await page.locator('.cell-statusbar-container', { hasText: 'step: load' }).first().waitFor({ timeout: 60_000 });
    await runFromPalette(page, 'nb2prod: Show Pipeline Graph');
    graph = await webviewFrame(page, 'svg.pipeline g.node');
    const shown = await drawn(graph);
    assert.deepStrictEqual(shown.nodes, ['join', 'left', 'load', 'report', 'right']);
    assert.deepStrictEqual(shown.edges, [
      'join -.-> report: after',
      'left --> join: evens',
      'load --> left: numbers',
      'load --> right: numbers',
      'right --> join: odds',
    ]);
    const labels = await graph.evaluate(() => [...document.querySelectorAll('.edge-label text')].map((t) => t.textContent).sort());
    assert.deepStrictEqual(labels, ['after', 'evens', 'numbers', 'numbers', 'odds']);
    const csp = await graph.evaluate(() => document.querySelector('meta[http-equiv="Content-Security-Policy"]')?.getAttribute('content') ?? '');
    assert.match(csp, /default-src 'none'/);
    assert.doesNotMatch(csp, /unsafe-(eval|inline)/);
  });

  it('clicking a node selects its first cell; selecting a cell highlights its node', async () => {
    const { page } = session;
    await graph.locator('g.node[data-step="right"]').click();
    const focused = page.locator('.notebook-editor .monaco-list-row.focused');
    await until('the right step\'s cell to be selected', async () => /odds\s=\s\[/.test((await focused.textContent().catch(() => '')) ?? ''));
    await page.locator('.notebook-editor .monaco-list-row', { hasText: /evens\s=\s\[/ }).locator('.view-lines').click();
    await until('the left node to be highlighted', async () => (await nodeClasses(graph, 'left')).includes('selected'));
    assert.ok(!(await nodeClasses(graph, 'right')).includes('selected'));
  });

  it('arrow keys move the selection between nodes; Enter opens the selected step\'s cell', async () => {
    const { page } = session;
    const selected = async () => graph.evaluate(() => (document.querySelector('g.node.selected') as SVGGElement | null)?.dataset.step);
    // Focus lands on a node as Tab or a click would put it there; Enter selects it (and opens its cell).
    await graph.locator('g.node[data-step="load"]').focus();
    await graph.locator('g.node[data-step="load"]').press('Enter');
    await until('load to be selected', async () => (await selected()) === 'load');
    // Enter also revealed load's cell, and the notebook's new selection comes back to the graph
    // as "select load": let that echo arrive first, or it undoes the arrow key that follows.
    const focused = page.locator('.notebook-editor .monaco-list-row.focused');
    await until("load's cell to be revealed", async () => /numbers\s=\slist/.test((await focused.textContent().catch(() => '')) ?? ''));
    await page.waitForTimeout(500);
    await graph.locator('g.node.selected').press('ArrowDown');
    const below = await until('a node below load', async () => ((await selected()) !== 'load' ? selected() : undefined));
    assert.ok(below === 'left' || below === 'right', `ArrowDown from load chose ${below}`);
    const across = below === 'left' ? 'right' : 'left';
    const x = (step: string) => graph.evaluate((s) => document.querySelector(`g.node[data-step="${s}"]`)!.getBoundingClientRect().x, step);
    await graph.locator('g.node.selected').press((await x(across)) > (await x(below)) ? 'ArrowRight' : 'ArrowLeft');
    await until(`the selection to move across to ${across}`, async () => (await selected()) === across);
    await graph.locator('g.node.selected').press('ArrowDown');
    await until('join to be selected', async () => (await selected()) === 'join');
    assert.strictEqual(await graph.evaluate(() => (document.activeElement as SVGGElement | null)?.dataset?.step), 'join', 'focus follows the selection');
    await graph.locator('g.node.selected').press('Enter');
    await until('the join step\'s cell to be revealed', async () => /total\s=\ssum\(evens\)/.test((await focused.textContent().catch(() => '')) ?? ''));
  });

  it('screenshots in the light and the dark theme', async () => {
    const { page } = session;
    const shots: string[] = [];
    for (const [workbenchClass, pageClass] of [
      ['vs', 'vscode-light'],
      ['vs-dark', 'vscode-dark'],
    ]) {
      if ((await page.locator(`.monaco-workbench.${workbenchClass}`).count()) === 0) {
        await runFromPalette(page, 'Preferences: Toggle between Light/Dark Themes');
        await until(pageClass, async () => (await page.locator(`.monaco-workbench.${workbenchClass}`).count()) > 0, 20_000);
      }
      await until(`the graph in ${pageClass}`, async () => graph.evaluate((c) => document.body.classList.contains(c), pageClass));
      await page.mouse.move(5, 450);
      await page.waitForTimeout(300);
      shots.push(await screenshot(page, `graph-${pageClass.replace('vscode-', '')}`));
    }
    console.log(`      screenshots: ${shots.join(', ')}`);
  });

  it('Export SVG saves a standalone SVG of the graph with every node', async () => {
    const { page, workspace } = session;
    const file = path.join(workspace, 'diamond-pipeline.svg');
    await graph.locator('#export').click();
    // code-server's save dialog is VS Code's own path input, so the test answers it like a user.
    await saveAs(page, file);
    await waitForFile(file, 10_000);
    const { JSDOM } = await import('jsdom');
    const svg = new JSDOM(fs.readFileSync(file, 'utf8'), { contentType: 'image/svg+xml' }).window.document; // throws if not well-formed XML
    assert.strictEqual(svg.documentElement.localName, 'svg');
    assert.strictEqual(svg.documentElement.namespaceURI, 'http://www.w3.org/2000/svg');
    assert.match(svg.documentElement.getAttribute('viewBox') ?? '', /^0 0 \d+ \d+$/);
    assert.deepStrictEqual([...svg.querySelectorAll('g.node')].map((n) => n.getAttribute('data-step')).sort(), ['join', 'left', 'load', 'report', 'right']);
    assert.strictEqual(svg.querySelectorAll('path.edge').length, 5);
    assert.match(svg.querySelector('style')?.textContent ?? '', /--nb-bg: (?!initial)/, 'the theme colours are written in');
    assert.strictEqual(svg.querySelectorAll('script, foreignObject').length, 0);
  });

  it('a retag re-plans and redraws within 2 s, keeping zoom and position', async () => {
    const { page } = session;
    const before = await graph.evaluate(() => document.getElementById('viewport')?.getAttribute('transform'));
    const item = page.locator('.cell-statusbar-container .cell-status-item', { hasText: 'step: right' });
    await item.click();
    const input = page.locator('.quick-input-widget .quick-input-box input');
    await input.waitFor({ timeout: 10_000 });
    await input.fill('left');
    await page.locator('.quick-input-widget .monaco-list-row', { hasText: 'existing step' }).first().waitFor();
    const started = Date.now();
    await input.press('Enter');
    await until('the graph without the right step', async () => !(await drawn(graph)).nodes.includes('right'), 2_000);
    const latency = Date.now() - started;
    console.log(`      retag → graph redrawn in ${latency} ms (250 ms of it is the debounce)`);
    const after = await drawn(graph);
    assert.deepStrictEqual(after.nodes, ['join', 'left', 'load', 'report']);
    assert.ok(after.edges.includes('left --> join: evens, odds'), after.edges.join('\n'));
    assert.strictEqual(await graph.evaluate(() => document.getElementById('viewport')?.getAttribute('transform')), before, 'zoom and position kept');
  });

  it('a run moves the nodes through running to done, with durations', async () => {
    const { page } = session;
    // Every class a node takes, recorded in the page: a step of this notebook runs in milliseconds.
    await graph.evaluate(() => {
      const seen: Record<string, string[]> = {};
      (window as unknown as { seenStates: typeof seen }).seenStates = seen;
      new MutationObserver((records) => {
        for (const r of records) {
          const g = r.target as SVGGElement;
          const state = [...g.classList].find((c) => c.startsWith('state-'));
          if (g.dataset.step && state && seen[g.dataset.step]?.at(-1) !== state) (seen[g.dataset.step] ??= []).push(state);
        }
      }).observe(document.getElementById('viewport')!, { subtree: true, attributes: true, attributeFilter: ['class'] });
    });
    await page.locator('.notebook-editor .monaco-list-row', { hasText: /numbers\s=\slist/ }).locator('.view-lines').click();
    await runFromPalette(page, 'nb2prod: Run Pipeline Locally (Python)');
    await until(
      'every node done',
      async () => {
        const states = await Promise.all(['load', 'left', 'join', 'report'].map((s) => nodeClasses(graph, s)));
        return states.every((c) => c.includes('state-done'));
      },
      90_000,
    );
    const seen = await graph.evaluate(() => (window as unknown as { seenStates: Record<string, string[]> }).seenStates);
    console.log(`      states seen: ${JSON.stringify(seen)}`);
    for (const step of ['load', 'left', 'join', 'report']) {
      assert.strictEqual(seen[step]?.at(-1), 'state-done', step);
      assert.ok(seen[step].includes('state-running') || seen[step].includes('state-queued'), `${step} was shown before it was done: ${seen[step]}`);
    }
    assert.ok(Object.values(seen).some((s) => s.includes('state-running')), 'some node was shown running');
    const status = await graph.evaluate(() => document.querySelector('g.node[data-step="join"] .status')?.textContent ?? '');
    assert.match(status, /^✓ done · \d+\.\d+ s/);
    await page.mouse.move(5, 450);
    console.log(`      screenshot: ${await screenshot(page, 'graph-run-done')}`);
  });

  it('a 200-step notebook lays out and renders in under 300 ms', async () => {
    const { page, workspace } = session;
    const cells = [{ cell_type: 'code', id: 'p', metadata: { tags: ['parameters'] }, source: 'n = 1', outputs: [], execution_count: null }];
    for (let i = 0; i < 200; i++) {
      // A chain with side branches: each step reads the one before and, every third, one further back.
      const reads = i === 0 ? 'n' : i % 3 === 0 && i > 3 ? `v${i - 1} + v${i - 3}` : `v${i - 1}`;
      cells.push({ cell_type: 'code', id: `s${i}`, metadata: { tags: [`step:s${i}`] }, source: `v${i} = ${reads} + 1`, outputs: [], execution_count: null });
    }
    const nb = { nbformat: 4, nbformat_minor: 5, metadata: { kernelspec: { name: 'python3', language: 'python', display_name: 'Python 3' }, language_info: { name: 'python' } }, cells };
    fs.writeFileSync(path.join(workspace, 'big.ipynb'), JSON.stringify(nb));
    await showSideBar(page, 'Explorer');
    const row = page.locator('.explorer-folders-view .monaco-list-row', { hasText: 'big.ipynb' });
    await row.waitFor({ timeout: 30_000 });
    await contextMenu(page, row, 'Show Pipeline Graph');
    const big = await until('the big graph', async () => {
      for (const frame of page.frames()) {
        const count = await frame.evaluate(() => document.querySelectorAll('g.node').length).catch(() => 0);
        if (count === 200) return frame;
      }
      return undefined;
    }, 60_000);
    const timing = () => big.evaluate(() => {
      const data = document.getElementById('canvas')!.dataset;
      return { revision: Number(data.revision), layout: Number(data.layoutMs), render: Number(data.renderMs) };
    });
    const first = await timing();
    console.log(`      200 steps: layout ${first.layout} ms + drawing ${first.render} ms`);
    assert.ok(first.layout + first.render < 300, JSON.stringify(first));

    // One cell edit at a time, each re-planned: s2 also reads v0 (a new arrow), then not, then again.
    await showSideBar(page, 'Explorer');
    await row.dblclick();
    const cell = page.locator('.notebook-editor .monaco-list-row', { hasText: /v2\s=\sv1\s\+\s1/ }).locator('.view-lines');
    await cell.waitFor({ timeout: 60_000 });
    await cell.click();
    await page.keyboard.press('End');
    const edits: { layout: number; render: number }[] = [];
    let last = first;
    for (const arrow of [true, false, true]) {
      if (arrow) await page.keyboard.type(' + v0');
      else for (let i = 0; i < 5; i++) await page.keyboard.press('Backspace');
      await until(`the s0 → s2 arrow to ${arrow ? 'appear' : 'go'}`, async () => arrow === (await big.evaluate(() => !!document.querySelector('path.edge[data-from="s0"][data-to="s2"]'))), 10_000);
      last = await until('the timing of the re-plan', async () => {
        const t = await timing();
        return t.revision > last.revision ? t : undefined;
      });
      edits.push(last);
    }
    console.log(`      200 steps, one edit (three times): ${edits.map((t) => `layout ${t.layout} ms + drawing ${t.render} ms`).join('; ')}`);
    // The machine running the tests is shared: the best of three is what the code costs.
    const edited = edits.reduce((a, b) => (a.layout + a.render <= b.layout + b.render ? a : b));
    assert.ok(edited.layout + edited.render < 100, JSON.stringify(edited));
  });

  it('a plan error shows on its node, and the toolbar links to the Problems view', async () => {
    const { page } = session;
    await showSideBar(page, 'Explorer');
    await contextMenu(page, page.locator('.explorer-folders-view .monaco-list-row', { hasText: 'broken.ipynb' }), 'Show Pipeline Graph');
    const broken = await webviewFrame(page, 'g.node.has-error[data-step="report"]', 30_000);
    const problem = await broken.evaluate(() => document.querySelector('g.node[data-step="report"] .problem')?.textContent ?? '');
    assert.match(problem, /factor/);
    assert.strictEqual(await broken.evaluate(() => document.querySelectorAll('g.node.has-error').length), 1, 'only the step with the error is marked');
    const button = broken.locator('#problems');
    assert.match((await button.textContent()) ?? '', /^⚠ [1-9]\d* problems?$/);
    await button.click();
    await page.locator('.markers-panel .monaco-list-row', { hasText: /factor/ }).first().waitFor({ timeout: 15_000 });
  });

  it('after a window reload the graph panels come back and draw again', async () => {
    const { page } = session;
    // The 200-step graph has done its part; on two shared cores its restore only slows this one down.
    await page.locator('.tabs-container .tab', { hasText: 'Graph: big.ipynb' }).locator('.codicon-close').click({ force: true });
    // The command, not page.reload(): it lets the workbench save which editors were open.
    await runFromPalette(page, 'Developer: Reload Window');
    await page.locator('.tabs-container .tab', { hasText: 'Graph: diamond.ipynb' }).waitFor({ timeout: 90_000 });
    // The visible one is restored by the serializer from its saved state: it plans its notebook again.
    const restored = await restoredWebview(page, 'Graph: broken.ipynb', 'svg.pipeline g.node');
    assert.deepStrictEqual((await drawn(restored)).nodes, ['load', 'report']);
    assert.strictEqual(await restored.evaluate(() => document.querySelectorAll('g.node.has-error').length), 1);
  });
});
