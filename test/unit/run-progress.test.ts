/** The run states the Pipeline Graph shows: read from the runner's progress lines, settled by the recorded run. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { RunProgress } from '../../src/core/plan/runProgress';

describe('RunProgress', () => {
  it('moves steps from queued through running to done as the runner announces them, in any chunking', () => {
    let now = 1000;
    const p = new RunProgress(['load', 'train', 'report'], () => now);
    assert.deepEqual(Object.values(p.snapshot()).map((v) => v.state), ['queued', 'queued', 'queued']);
    assert.equal(p.feed('[pipeline] step 1/3 lo'), false, 'half a line is not a step yet');
    assert.equal(p.feed('ad\nhello from load\n'), true);
    assert.equal(p.snapshot().load.state, 'running');
    now += 1500;
    p.feed('[pipeline] step 2/3 train\r\n');
    assert.deepEqual(p.snapshot().load, { state: 'done', seconds: 1.5 });
    assert.equal(p.snapshot().train.state, 'running');
    assert.equal(p.feed('[pipeline] step 9/9 unknown\n'), false, 'a step the plan does not have is ignored');
  });

  it('steps running together (jobs) move by the launcher\'s events; their prefixed progress lines change nothing', () => {
    let now = 0;
    const p = new RunProgress(['load', 'left', 'right', 'join'], () => now);
    p.step('load', 'running');
    now += 500;
    p.step('load', 'succeeded');
    p.step('left', 'running');
    p.step('right', 'running');
    assert.equal(p.feed('[left] [pipeline] step 1/1 left\n'), false);
    now += 1000;
    p.step('left', 'failed');
    p.step('right', 'cancelled');
    p.step('join', 'skipped');
    assert.deepEqual(p.snapshot(), {
      load: { state: 'done', seconds: 0.5 },
      left: { state: 'failed', seconds: 1 },
      right: { state: 'failed', seconds: 1, error: 'cancelled' },
      join: { state: 'skipped' },
    });
  });

  it('the recorded run decides: statuses, times, output sizes; steps it never reached are skipped', () => {
    const p = new RunProgress(['load', 'train', 'report']);
    p.feed('[pipeline] step 1/3 load\n[pipeline] step 2/3 train\n');
    p.finish({
      status: 'failed',
      steps: [
        { name: 'load', status: 'succeeded', seconds: 0.25 },
        { name: 'train', status: 'failed', seconds: 1, error: 'ValueError: bad' },
      ],
      artifacts: [
        { step: 'load', bytes: 100 },
        { step: 'load', bytes: 28 },
      ],
    });
    assert.deepEqual(p.snapshot(), {
      load: { state: 'done', seconds: 0.25, outputBytes: 128, error: undefined },
      train: { state: 'failed', seconds: 1, outputBytes: undefined, error: 'ValueError: bad' },
      report: { state: 'skipped' },
    });
  });

  it('a run cancelled mid-step marks that step failed (cancelled) and the rest skipped', () => {
    const p = new RunProgress(['a', 'b']);
    p.feed('[pipeline] step 1/2 a\n');
    p.finish({ status: 'cancelled', steps: [], artifacts: [] });
    assert.equal(p.snapshot().a.state, 'failed');
    assert.equal(p.snapshot().a.error, 'cancelled');
    assert.equal(p.snapshot().b.state, 'skipped');
  });
});
