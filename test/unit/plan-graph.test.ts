/**
 * The plan as a picture for reviewers: `plan --format mermaid|dot` and the generated README.
 * The Mermaid text is checked by Mermaid's own parser (the one GitHub's renderer runs), the DOT
 * text by Graphviz's `dot`.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { before, describe, it } from 'node:test';
import { graphDot, graphMermaid, pipelineGraph } from '../../src/core/plan/graph';
import { notebookFromCells, planNotebook } from '../../src/core/pipeline';
import { nb2prod } from '../helpers/cli';
import { FIXTURES, tempDir, writeNotebook } from '../helpers/notebooks';

const DIAMOND = path.join(FIXTURES, 'workspace', 'diamond.ipynb');
const WORKSPACE = path.join(FIXTURES, 'workspace');

interface MermaidFlowchart {
  vertices: string[];
  edges: { start: string; end: string; text: string; stroke: string }[];
}

/**
 * Mermaid sanitizes labels with DOMPurify, which binds to `window` when the module loads: a
 * jsdom window goes in first. Then the flowchart's own parser reads the text into its model.
 */
let parseMermaid: (text: string) => Promise<MermaidFlowchart>;
before(async () => {
  const { JSDOM } = await import('jsdom');
  const { window } = new JSDOM('<!doctype html><html><body></body></html>');
  Object.assign(globalThis, { window, document: window.document });
  const mermaid = (await import('mermaid')).default;
  parseMermaid = async (text) => {
    await mermaid.parse(text); // throws on a syntax error
    const diagram = await mermaid.mermaidAPI.getDiagramFromText(text);
    const db = diagram.db as unknown as { getVertices(): Map<string, unknown>; getEdges(): MermaidFlowchart['edges'] };
    return { vertices: [...db.getVertices().keys()], edges: db.getEdges() };
  };
});

function cli(args: string[]) {
  return nb2prod(args, WORKSPACE);
}

describe('plan --format mermaid', () => {
  it('parses with Mermaid: one node per step, data edges labelled with their values, the after: edge dotted', async () => {
    const r = cli(['plan', 'diamond.ipynb', '--format', 'mermaid']);
    assert.equal(r.status, 0, r.stderr);
    const chart = await parseMermaid(r.stdout);
    assert.deepEqual(chart.vertices.sort(), ['step_join', 'step_left', 'step_load', 'step_report', 'step_right']);
    const edges = chart.edges.map((e) => `${e.start} ${e.stroke === 'dotted' ? '-.->' : '-->'} ${e.end}: ${e.text}`).sort();
    assert.deepEqual(edges, [
      'step_join -.-> step_report: after',
      'step_left --> step_join: evens',
      'step_load --> step_left: numbers',
      'step_load --> step_right: numbers',
      'step_right --> step_join: odds',
    ]);
  });

  it('survives step names Mermaid reserves and labels with its special characters', async () => {
    const plan = await planNotebook(
      notebookFromCells('odd.ipynb', 'python', [
        { kind: 'code', source: 'x = 1', tags: ['step:end'], id: 'a' },
        { kind: 'code', source: 'y = x + 1', tags: ['step:o'], id: 'b' },
        { kind: 'code', source: 'z = y', tags: ['step:class', 'after:end'], id: 'c' },
        { kind: 'code', source: 'w = z', tags: ['step:Say "hi" #1 <b>'], id: 'd' },
      ]),
    );
    const chart = await parseMermaid(graphMermaid(pipelineGraph(plan)));
    assert.equal(chart.vertices.length, plan.steps.length);
    assert.equal(chart.edges.length, pipelineGraph(plan).edges.length);
  });
});

describe('plan --format dot', () => {
  it('has the same nodes and edges, order-only edges dashed', async () => {
    const r = cli(['plan', 'diamond.ipynb', '--format', 'dot']);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /^digraph pipeline \{/);
    const edges = [...r.stdout.matchAll(/^ {2}"(\w+)" -> "(\w+)"(?: \[(.*)\])?;$/gm)].map((m) => `${m[1]}->${m[2]} ${m[3] ?? ''}`).sort();
    assert.deepEqual(edges, [
      'join->report style=dashed, label="after"',
      'left->join label="evens"',
      'load->left label="numbers"',
      'load->right label="numbers"',
      'right->join label="odds"',
    ]);
  });

  it('Graphviz draws it', (t) => {
    const probe = spawnSync('dot', ['-V'], { encoding: 'utf8' });
    if (probe.error) {
      if (process.env.CI) assert.fail('Graphviz `dot` is not installed (.ci/run installs it)');
      t.skip('Graphviz `dot` is not installed');
      return;
    }
    const plan = cli(['plan', 'diamond.ipynb', '--format', 'dot']);
    const svg = spawnSync('dot', ['-Tsvg'], { input: plan.stdout, encoding: 'utf8' });
    assert.equal(svg.status, 0, svg.stderr);
    assert.equal(svg.stderr, '', 'no warnings from dot');
    const titles = [...svg.stdout.matchAll(/<title>([^<]*)<\/title>/g)].map((m) => m[1].replace(/&#45;&gt;/g, '->'));
    for (const step of ['load', 'left', 'right', 'join', 'report']) assert.ok(titles.includes(step), `${step} is drawn: ${titles}`);
    assert.ok(titles.includes('join->report'));
  });
});

describe('plan formats on the command line', () => {
  it('--json is --format json; two formats or an unknown one are usage errors', () => {
    const json = cli(['plan', 'diamond.ipynb', '--json']);
    const format = cli(['plan', 'diamond.ipynb', '--format', 'json']);
    assert.equal(json.status, 0, json.stderr);
    assert.equal(json.stdout, format.stdout);
    assert.equal(JSON.parse(json.stdout).steps.length, 5);
    assert.equal(cli(['plan', 'diamond.ipynb', '--json', '--format', 'dot']).status, 2);
    const bad = cli(['plan', 'diamond.ipynb', '--format', 'svg']);
    assert.equal(bad.status, 2);
    assert.match(bad.stderr, /Allowed choices are text, json, mermaid, dot/);
  });

  it('the graph has exactly the plan: an edge per predecessor in after, data edges carry the inputs', async () => {
    const cells = JSON.parse(readFileSync(DIAMOND, 'utf8')).cells.map((c: { cell_type: string; source: string[]; metadata: { tags?: string[] }; id: string }) => ({
      kind: c.cell_type === 'markdown' ? 'markdown' : 'code',
      source: c.source.join(''),
      tags: c.metadata.tags ?? [],
      id: c.id,
    }));
    const plan = await planNotebook(notebookFromCells('diamond.ipynb', 'python', cells));
    const graph = pipelineGraph(plan);
    assert.deepEqual(graph.nodes.map((n) => n.id), plan.steps.map((s) => s.name));
    for (const s of plan.steps) {
      const into = graph.edges.filter((e) => e.to === s.name);
      assert.deepEqual(into.map((e) => e.from).sort(), [...s.after].sort());
      for (const e of into.filter((e) => e.kind === 'data')) assert.deepEqual(e.values, s.inputs.filter((i) => i.from === e.from).map((i) => i.name));
    }
    assert.deepEqual(graph.nodes.find((n) => n.id === 'join')?.metrics, ['total', 'ratio']);
    assert.match(graphDot(graph), /"join" \[label="join\\ncell 6\\nmetrics: total, ratio"\]/);
  });
});

describe('the generated README.md', () => {
  it('draws the graph, lists the steps and parameters, and says how to run, build, push and export', async () => {
    const dir = tempDir();
    writeFileSync(path.join(dir, 'diamond.ipynb'), readFileSync(DIAMOND));
    const r = nb2prod(['productionize', 'diamond.ipynb'], dir);
    assert.equal(r.status, 0, r.stderr);
    const out = path.join(dir, 'pipelines', 'diamond');
    const readme = readFileSync(path.join(out, 'README.md'), 'utf8');
    const block = /```mermaid\n([\s\S]*?)```/.exec(readme)?.[1];
    assert.ok(block, readme);
    assert.equal((await parseMermaid(block)).vertices.length, 5);
    assert.match(readme, /^\| `join` \| cell 6 \| `evens` from `left`, `odds` from `right` \| `total`, `ratio` \| {3}\| `total`, `ratio` \|$/m);
    assert.match(readme, /^\| `scale` \| `2` \|$/m);
    for (const command of ['python -m diamond', 'nb2prod build diamond.ipynb', 'nb2prod push diamond.ipynb --registry', 'nb2prod export kfp diamond.ipynb', 'nb2prod export argo diamond.ipynb', 'docker build -t']) {
      assert.ok(readme.includes(command), command);
    }
    const manifest = JSON.parse(readFileSync(path.join(out, 'pipeline.json'), 'utf8'));
    assert.ok(manifest.files['README.md'], 'the manifest hashes it like every generated file');
  });

  it('is regenerated like the other files: your edits are kept unless --force', () => {
    const dir = tempDir();
    writeNotebook(dir, 'nb.ipynb', [
      { source: 'a = 1', tags: ['step:one'] },
      { source: 'b = a + 1', tags: ['step:two'] },
    ]);
    assert.equal(nb2prod(['productionize', 'nb.ipynb'], dir).status, 0);
    const readme = path.join(dir, 'pipelines', 'nb', 'README.md');
    writeFileSync(readme, '# my notes\n');
    const again = nb2prod(['productionize', 'nb.ipynb'], dir);
    assert.equal(again.status, 0, again.stderr);
    assert.match(again.stderr, /README\.md/, 'the kept file is reported');
    assert.equal(readFileSync(readme, 'utf8'), '# my notes\n');
    assert.equal(nb2prod(['productionize', 'nb.ipynb', '--force'], dir).status, 0);
    assert.match(readFileSync(readme, 'utf8'), /```mermaid/);
  });
});
