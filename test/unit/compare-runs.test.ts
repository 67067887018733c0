/** Compare Runs' table, diff and CSV, from a real lineage model. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { diffRuns, runColumns, runRows, runsCsv } from '../../src/core/lineage/compare';
import { LineageModel } from '../../src/core/lineage/model';
import type { LineageRecord } from '../../src/core/lineage/records';

function records(): LineageRecord[] {
  const stored = (id: string, ts: string) => ({ id, ts, parents: [], prev: '' });
  const version = (id: string, ts: string) => ({ type: 'version', notebook: 'nb.ipynb', notebookHash: id, planHash: id, files: [], ...stored(id, ts) });
  const run = (id: string, ts: string, versionId: string, params: Record<string, unknown>, metrics: Record<string, unknown>, sha: string) => ({
    type: 'run', notebook: 'nb.ipynb', runId: `r-${id}`, versionId, local: true, params, metrics, status: 'succeeded',
    steps: [{ name: 'a', status: 'succeeded', seconds: 0.5 }],
    artifacts: [{ path: `pipelines/nb/artifacts/r-${id}/a/model.pkl`, sha256: sha, bytes: 10, step: 'a', name: 'model' }],
    started: ts, finished: new Date(Date.parse(ts) + 2000).toISOString(), ...stored(id, ts),
  });
  return [
    version('v1', '2026-01-01T00:00:00.000Z'),
    run('1', '2026-01-01T00:01:00.000Z', 'v1', { lr: 0.1, name: 'a,"b"' }, { score: 0.5 }, 'aaa'),
    version('v2', '2026-01-02T00:00:00.000Z'),
    run('2', '2026-01-02T00:01:00.000Z', 'v2', { lr: 0.2, name: 'a,"b"' }, { score: 0.7, extra: '=1+1' }, 'bbb'),
  ] as unknown as LineageRecord[];
}

describe('Compare Runs', () => {
  const model = new LineageModel();
  model.apply(records());
  const rows = runRows(model, 'nb.ipynb');

  it('one row per run across versions, with version number, duration, params and metrics', () => {
    assert.deepEqual(rows.map((r) => [r.runId, r.version, r.seconds, r.params.lr, r.metrics.score]), [
      ['r-1', 1, 2, 0.1, 0.5],
      ['r-2', 2, 2, 0.2, 0.7],
    ]);
    assert.deepEqual(runColumns(rows).map((c) => c.key), ['run', 'version', 'when', 'status', 'seconds', 'where', 'param:lr', 'param:name', 'metric:extra', 'metric:score']);
  });

  it('the diff names changed parameters, metrics and artifacts, not unchanged ones', () => {
    assert.deepEqual(diffRuns(rows[0], rows[1]).map((d) => `${d.kind} ${d.name}`), ['param lr', 'metric extra', 'metric score', 'artifact model.pkl']);
  });

  it('CSV quotes what needs quoting and defuses spreadsheet formulas', () => {
    const csv = runsCsv(rows, runColumns(rows));
    const lines = csv.split('\r\n');
    assert.equal(lines[0], 'run,version,when,status,seconds,where,lr,name,extra,score');
    assert.equal(lines[2], `r-2,2,2026-01-02T00:01:00.000Z,succeeded,2,local,0.2,"a,""b""",'=1+1,0.7`);
    assert.equal(lines.at(-1), '');
  });
});
