/** Which steps touch process state that flows in notebook order (pipeline.json `state: true`). */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { buildManifest } from '../../src/core/generate/manifest';
import type { Plan } from '../../src/core/plan/model';
import { touchesState } from '../../src/core/plan/state';
import { notebookFromCells, planNotebook } from '../../src/core/pipeline';

type Cell = { source: string; tags: string[] };

function plan(language: 'python' | 'typescript', cells: Cell[]): Promise<Plan> {
  return planNotebook(notebookFromCells(`test.${language === 'python' ? 'ipynb' : 'ts.ipynb'}`, language, cells.map((c, i) => ({ kind: 'code' as const, ...c, id: `c${i}` }))));
}

/** Step name -> touches state, for every step of the plan. */
function stateOf(p: Plan): Record<string, boolean> {
  assert.deepEqual(p.diagnostics.filter((d) => d.severity === 'error'), []);
  return Object.fromEntries(p.steps.map((s) => [s.name, touchesState(s, p)]));
}

describe('state analysis', () => {
  it('Python: seeding and drawing from random or numpy, directly or through an import of one function', async () => {
    const p = await plan('python', [
      { source: 'import random\nimport numpy as np\nfrom random import choice', tags: ['imports'] },
      { source: 'random.seed(1)', tags: ['step:seed'] },
      { source: 'rows = [1, 2, 3]', tags: ['step:load'] },
      { source: 'pick = choice(rows)', tags: ['step:pick'] },
      { source: 'noise = np.random.normal(size=3)', tags: ['step:noise'] },
      { source: 'total = sum(rows) + pick', tags: ['step:total'] },
    ]);
    assert.deepEqual(stateOf(p), { seed: true, load: false, pick: true, noise: true, total: false });
  });

  it('Python: through shared functions (also one calling another), a shared generator, a library drawing from numpy, settings', async () => {
    const p = await plan('python', [
      { source: 'import logging\nimport numpy as np\nfrom sklearn.model_selection import train_test_split\nrng = np.random.default_rng(0)', tags: ['imports'] },
      { source: 'def jitter(x):\n    return x + rng.normal()\n\ndef prepare(x):\n    return jitter(x) * 2\n\ndef double(x):\n    return x * 2', tags: ['functions'] },
      { source: 'a = prepare(1.0)', tags: ['step:nested'] },
      { source: 'b = double(a)', tags: ['step:plain'] },
      { source: 'train, test = train_test_split([1, 2, 3, 4])', tags: ['step:split'] },
      { source: 'logging.basicConfig(level=logging.INFO)\nprint(b, train, test)', tags: ['step:configure'] },
    ]);
    assert.deepEqual(stateOf(p), { nested: true, plain: false, split: true, configure: true });
  });

  it('TypeScript: Math.random and seedrandom', async () => {
    const p = await plan('typescript', [
      { source: "import seedrandom from 'seedrandom';", tags: ['imports'] },
      { source: 'const xs = [1, 2, 3];', tags: ['step:load'] },
      { source: 'const r = Math.random();', tags: ['step:draw'] },
      { source: "const rng = seedrandom('x');\nconst s = rng();", tags: ['step:seeded'] },
      { source: 'console.log(xs.length, r, s);', tags: ['step:report'] },
    ]);
    assert.deepEqual(stateOf(p), { load: false, draw: true, seeded: true, report: false });
  });

  it("pipeline.json steps carry state: true and the image: tag, and nothing when neither applies", async () => {
    const p = await plan('python', [
      { source: 'import random\nx = random.random()', tags: ['step:draw', 'image:python:3.11-slim'] },
      { source: 'print(x)', tags: ['step:show'] },
    ]);
    const manifest = buildManifest(p, { slug: 't', packageName: 't', notebookPath: 't.ipynb', planHash: 'h', baseImage: 'b', files: [], copies: {} });
    const [draw, show] = manifest.steps;
    assert.equal(draw.state, true);
    assert.equal(draw.image, 'python:3.11-slim');
    assert.ok(!('state' in show) && !('image' in show), JSON.stringify(show));
  });
});
