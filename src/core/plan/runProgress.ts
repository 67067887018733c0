/**
 * Where a run is, step by step, for the Pipeline Graph: read from the runner's own progress
 * lines while it runs (`[pipeline] step 2/5 train` on stderr, printed by both generated
 * runtimes), or from the launcher's step events when steps run together (`jobs`), then
 * settled from the recorded run when it ends.
 */
import type { StepState } from '../run/scheduler';

export type StepRunState = 'queued' | 'running' | 'done' | 'failed' | 'skipped';

export interface StepRunView {
  state: StepRunState;
  /** Wall time: measured here while running, the runner's own figure once recorded. */
  seconds?: number;
  /** Sum of the sizes of the artifacts the step wrote (known after the run). */
  outputBytes?: number;
  error?: string;
}

/** What the lineage records about a finished run (a subset of its run record). */
export interface FinishedRun {
  status: string;
  steps: { name: string; status: string; seconds: number; error?: string }[];
  artifacts: { step?: string; bytes: number }[];
}

const STEP_LINE = /^\[pipeline\] step \d+\/\d+ (\S+)\s*$/;

export class RunProgress {
  private readonly views = new Map<string, StepRunView>();
  private readonly startedAt = new Map<string, number>();
  private partial = '';

  constructor(steps: readonly string[], private readonly now: () => number = Date.now) {
    for (const s of steps) this.views.set(s, { state: 'queued' });
  }

  /** Feeds runner output (any chunking); true when a step changed state. */
  feed(text: string): boolean {
    const lines = (this.partial + text).split('\n');
    this.partial = lines.pop() ?? '';
    let changed = false;
    for (const line of lines) {
      const step = STEP_LINE.exec(line.replace(/\r$/, ''))?.[1];
      if (!step || !this.views.has(step)) continue;
      // The runner starts steps one after another: a new one means the one before finished.
      for (const [name, view] of this.views) if (view.state === 'running') this.views.set(name, { state: 'done', seconds: this.elapsed(name) });
      this.startedAt.set(step, this.now());
      this.views.set(step, { state: 'running' });
      changed = true;
    }
    return changed;
  }

  /**
   * A step's start or end as the launcher saw it, for steps running together (`jobs`): their
   * progress lines cannot say which step finished.
   */
  step(name: string, state: StepState): void {
    if (!this.views.has(name)) return;
    if (state === 'running') {
      this.startedAt.set(name, this.now());
      this.views.set(name, { state: 'running' });
      return;
    }
    const shown: StepRunState = state === 'succeeded' ? 'done' : state === 'skipped' ? 'skipped' : 'failed';
    this.views.set(name, { state: shown, ...(state === 'skipped' ? {} : { seconds: this.elapsed(name) }), ...(state === 'cancelled' ? { error: 'cancelled' } : {}) });
  }

  /** The recorded run decides: its steps' statuses and times, and the sizes of what each wrote. */
  finish(run: FinishedRun | undefined): void {
    const recorded = new Map((run?.steps ?? []).map((s) => [s.name, s]));
    const bytes = new Map<string, number>();
    for (const a of run?.artifacts ?? []) if (a.step) bytes.set(a.step, (bytes.get(a.step) ?? 0) + a.bytes);
    for (const [name, view] of this.views) {
      const r = recorded.get(name);
      if (r) {
        const state: StepRunState = r.status === 'succeeded' ? 'done' : r.status === 'failed' ? 'failed' : 'skipped';
        this.views.set(name, { state, seconds: r.seconds, outputBytes: bytes.get(name), error: r.error });
      } else if (view.state === 'running') {
        // Still running when the run ended without recording it: cancelled or crashed.
        this.views.set(name, { state: 'failed', seconds: this.elapsed(name), error: run?.status === 'cancelled' ? 'cancelled' : 'the run ended here' });
      } else if (view.state === 'queued') {
        this.views.set(name, { state: 'skipped' });
      }
    }
  }

  snapshot(): Record<string, StepRunView> {
    return Object.fromEntries(this.views);
  }

  private elapsed(step: string): number | undefined {
    const started = this.startedAt.get(step);
    return started === undefined ? undefined : (this.now() - started) / 1000;
  }
}
