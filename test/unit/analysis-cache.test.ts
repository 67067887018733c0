import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync, utimesSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { MAX_CACHED_NOTEBOOKS, PersistentAnalyses } from '../../src/core/analysis/persistent';
import { createPythonAnalyzer } from '../../src/core/analysis/python/index';
import type { CellAnalysis, CellAnalyzer } from '../../src/core/analysis/types';
import { nb2prod } from '../helpers/cli';
import { notebookJson, tempDir } from '../helpers/notebooks';
import { pythonCorpusCells } from '../bench/parser';

/** An analyser that records which sources it was asked about. */
function countingAnalyzer(): CellAnalyzer & { seen: string[] } {
  const seen: string[] = [];
  return {
    language: 'python',
    seen,
    analyzeCell(source: string): CellAnalysis {
      seen.push(source);
      const name = source.split('=')[0].trim();
      return { body: source, uses: [], defines: [name], deletes: [], mutates: [], imports: [], definitions: [], globalWrites: [], requirements: [], extraImports: [], literals: { [name]: source.includes('1e400') ? Infinity : 1 }, diagnostics: [] };
    },
  };
}

async function analyse(dir: string, build: string, sources: string[], fallback?: CellAnalyzer): Promise<CellAnalysis[]> {
  const stored = await PersistentAnalyses.open(dir, build, '/nb/a.ipynb', 'python');
  const analyzer = stored.analyzer('python', fallback);
  const result = sources.map((s, i) => analyzer.analyzeCell(s, i));
  await stored.save();
  return result;
}

describe('analyses kept between runs', () => {
  it('a second run analyses only the cells that changed, with the same results', async () => {
    const dir = tempDir();
    const first = countingAnalyzer();
    const before = await analyse(dir, 'b1', ['a = 1', 'b = 2'], first);
    assert.deepEqual(first.seen, ['a = 1', 'b = 2']);
    const second = countingAnalyzer();
    const after = await analyse(dir, 'b1', ['a = 1', 'b = 3'], second);
    assert.deepEqual(second.seen, ['b = 3']);
    assert.deepEqual(after[0], before[0]);
  });

  it('needs no analyser at all when every cell is known', async () => {
    const dir = tempDir();
    await analyse(dir, 'b1', ['a = 1'], countingAnalyzer());
    const stored = await PersistentAnalyses.open(dir, 'b1', '/nb/a.ipynb', 'python');
    assert.equal(stored.has('a = 1'), true);
    assert.equal(stored.has('a = 2'), false);
    assert.equal(stored.analyzer('python').analyzeCell('a = 1', 0).defines[0], 'a');
  });

  it('ignores analyses of another analyser build, and a corrupt file', async () => {
    const dir = tempDir();
    await analyse(dir, 'b1', ['a = 1'], countingAnalyzer());
    const other = countingAnalyzer();
    await analyse(dir, 'b2', ['a = 1'], other);
    assert.deepEqual(other.seen, ['a = 1']);
    const [file] = readdirSync(path.join(dir, 'analysis'));
    writeFileSync(path.join(dir, 'analysis', file), '{"format": 1, "build": "b2", "entr');
    const afterCorruption = countingAnalyzer();
    await analyse(dir, 'b2', ['a = 1'], afterCorruption);
    assert.deepEqual(afterCorruption.seen, ['a = 1']);
  });

  it('does not store what JSON cannot carry (a literal of 1e400 is infinite)', async () => {
    const dir = tempDir();
    await analyse(dir, 'b1', ['x = 1e400'], countingAnalyzer());
    const again = countingAnalyzer();
    const [analysis] = await analyse(dir, 'b1', ['x = 1e400'], again);
    assert.deepEqual(again.seen, ['x = 1e400']);
    assert.equal(analysis.literals.x, Infinity);
  });

  it('keeps at most MAX_CACHED_NOTEBOOKS notebooks, dropping the least recently written', async () => {
    const dir = tempDir();
    mkdirSync(path.join(dir, 'analysis'));
    for (let i = 0; i < MAX_CACHED_NOTEBOOKS + 5; i++) {
      const file = path.join(dir, 'analysis', `old${String(i).padStart(3, '0')}.json`);
      writeFileSync(file, '{}');
      utimesSync(file, new Date(1_000_000 + i * 1000), new Date(1_000_000 + i * 1000));
    }
    await analyse(dir, 'b1', ['a = 1'], countingAnalyzer());
    const left = readdirSync(path.join(dir, 'analysis'));
    assert.equal(left.length, MAX_CACHED_NOTEBOOKS);
    assert.ok(!left.includes('old000.json') && !left.includes('old005.json') && left.includes('old006.json'));
    const stored = await PersistentAnalyses.open(dir, 'b1', '/nb/a.ipynb', 'python');
    assert.equal(stored.has('a = 1'), true, 'the notebook just written is kept');
  });

  it('drops cells the notebook no longer has', async () => {
    const dir = tempDir();
    await analyse(dir, 'b1', ['a = 1', 'b = 2'], countingAnalyzer());
    await analyse(dir, 'b1', ['a = 1'], countingAnalyzer());
    const stored = await PersistentAnalyses.open(dir, 'b1', '/nb/a.ipynb', 'python');
    assert.equal(stored.has('b = 2'), false);
  });
});

describe('what the Python analyser produces survives the cache unchanged', () => {
  it('every corpus cell: the analysis read back from disk equals the fresh one', async () => {
    const analyzer = await createPythonAnalyzer();
    const dir = tempDir();
    const sources = [...new Set(pythonCorpusCells().map((c) => c.source))];
    const fresh = await analyse(dir, 'b1', sources, analyzer);
    const again = await analyse(dir, 'b1', sources);
    assert.ok(sources.length > 500);
    for (const [i, source] of sources.entries()) assert.deepEqual(again[i], fresh[i], source.slice(0, 80));
  });
});

describe('nb2prod plan with the analysis cache (bundled CLI)', () => {
  const cells = [
    { source: 'rows = [1, 2, 3]', tags: ['step:load'] },
    { source: 'total = sum(rows)\nprint(total)', tags: ['step:sum'] },
  ];

  it('gives the same plan from the cache, sees edits, and --no-cache writes nothing', () => {
    const work = tempDir();
    const cache = tempDir('nb2prod-cache-');
    const env = { NB2PROD_CACHE_DIR: cache };
    writeFileSync(path.join(work, 'nb.ipynb'), notebookJson(cells));
    const cold = nb2prod(['plan', 'nb.ipynb', '--json'], work, env);
    assert.equal(cold.status, 0, cold.stderr);
    assert.equal(readdirSync(path.join(cache, 'analysis')).length, 1);
    const warm = nb2prod(['plan', 'nb.ipynb', '--json'], work, env);
    assert.equal(warm.stdout, cold.stdout);

    writeFileSync(path.join(work, 'nb.ipynb'), notebookJson([cells[0], { source: 'total = sum(rowz)', tags: ['step:sum'] }]));
    const edited = nb2prod(['plan', 'nb.ipynb', '--json'], work, env);
    assert.equal(edited.status, 1);
    assert.match(edited.stderr, /rowz/);

    const empty = tempDir('nb2prod-cache-');
    const off = nb2prod(['plan', 'nb.ipynb', '--no-cache'], work, { NB2PROD_CACHE_DIR: empty });
    assert.equal(off.status, 1);
    assert.equal(existsSync(path.join(empty, 'analysis')), false);
    const offByEnv = nb2prod(['plan', 'nb.ipynb'], work, { NB2PROD_CACHE_DIR: empty, NB2PROD_NO_CACHE: '1' });
    assert.equal(offByEnv.status, 1);
    assert.equal(existsSync(path.join(empty, 'analysis')), false);
  });

  it('never keeps the cache in the workspace', () => {
    const work = tempDir();
    writeFileSync(path.join(work, 'nb.ipynb'), notebookJson(cells));
    const xdg = tempDir('nb2prod-xdg-');
    const r = nb2prod(['productionize', 'nb.ipynb'], work, { NB2PROD_CACHE_DIR: '', XDG_CACHE_HOME: xdg });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(readdirSync(path.join(xdg, 'nb2prod', 'analysis')).length, 1);
    const inWorkspace = readdirSync(work, { recursive: true }).map(String);
    assert.deepEqual(inWorkspace.filter((f) => f.includes('analysis')), []);
  });
});
