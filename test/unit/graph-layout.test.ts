/**
 * The Pipeline Graph's layout across re-plans: an edit that changes nothing drawn keeps every
 * position; an edit that changes the shape keeps each rank's order, and is as good a picture
 * (no overlaps, about as short arrows) as laying it out from scratch.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { PipelineGraph } from '../../src/core/plan/graph';
import { layoutGraph, type GraphLayout } from '../../src/webview/graph/layout';
import { bigGraph } from '../bench/graph';

function lay(graph: PipelineGraph, previous?: GraphLayout): GraphLayout {
  return layoutGraph(graph, () => ({ width: 160, height: 76 }), (text) => ({ width: 7 * text.length + 8, height: 16 }), previous);
}

function arrowLength(l: GraphLayout): number {
  return l.edges.reduce((sum, e) => sum + e.points.slice(1).reduce((s, p, i) => s + Math.hypot(p.x - e.points[i].x, p.y - e.points[i].y), 0), 0);
}

function assertNoOverlap(l: GraphLayout): void {
  for (const a of l.nodes) {
    for (const b of l.nodes) {
      if (a === b) continue;
      const apart = Math.abs(a.x - b.x) >= (a.width + b.width) / 2 || Math.abs(a.y - b.y) >= (a.height + b.height) / 2;
      assert.ok(apart, `${a.id} overlaps ${b.id}`);
    }
  }
}

/** Left-to-right order of the steps in each rank. */
function rows(l: GraphLayout): string[] {
  const byY = new Map<number, { id: string; x: number }[]>();
  for (const n of l.nodes) byY.set(n.y, [...(byY.get(n.y) ?? []), n]);
  return [...byY.values()].map((r) => r.sort((a, b) => a.x - b.x).map((n) => n.id).join(' '));
}

describe('Pipeline Graph layout on re-plans', () => {
  const shown = lay(bigGraph(50));

  it('renaming a value keeps every step and arrow where it was, with the new label', () => {
    const next = lay(bigGraph(50, 'rename'), shown);
    assert.deepStrictEqual(next.nodes, shown.nodes);
    assert.deepStrictEqual(next.edges.map((e) => e.points), shown.edges.map((e) => e.points));
    assert.ok(next.edges.some((e) => e.label?.text === 'renamed24'));
  });

  it('a node that grows is laid out again', () => {
    const wider = layoutGraph(bigGraph(50), (id) => ({ width: id === 's10' ? 400 : 160, height: 76 }), () => ({ width: 20, height: 16 }), shown);
    assert.strictEqual(wider.nodes.find((n) => n.id === 's10')?.width, 400);
    assertNoOverlap(wider);
  });

  for (const edit of ['edge', 'step'] as const) {
    it(`a new ${edit === 'edge' ? 'arrow' : 'step'}: ranks keep their order, no overlaps, arrows about as short as from scratch`, () => {
      const next = lay(bigGraph(50, edit), shown);
      const fresh = lay(bigGraph(50, edit));
      assertNoOverlap(next);
      assert.ok(arrowLength(next) <= arrowLength(fresh) * 1.15, `${arrowLength(next)} vs ${arrowLength(fresh)}`);
      const before = new Set(rows(shown));
      const kept = rows(next).filter((r) => before.has(r.split(' ').filter((id) => id !== 'extra').join(' ')) || !r.includes(' '));
      assert.ok(kept.length >= rows(next).length - 1, rows(next).join('\n'));
    });
  }
});
