/**
 * Turns the classic builder's JSON stream into progress a person can follow (step i/n, cache
 * hits, pulls) and keeps what a failure report needs: the current step and the last log lines.
 */
import type { BuildStreamMessage } from './engine';

export interface BuildStep {
  index: number;
  total: number;
  /** `RUN pip install --no-cache-dir -r requirements.txt` */
  instruction: string;
  cached: boolean;
}

export type BuildEvent =
  | { kind: 'step'; step: BuildStep }
  | { kind: 'cached'; step: BuildStep }
  | { kind: 'log'; line: string }
  | { kind: 'pull'; id?: string; status: string; progress?: string };

const TAIL_LINES = 30;

export class BuildTracker {
  readonly steps: BuildStep[] = [];
  readonly tail: string[] = [];
  /** Ids of the intermediate containers the builder said it started, for cleanup after an abort. */
  readonly containers: string[] = [];
  imageId: string | undefined;
  private partial = '';

  /** Feeds one stream message; returns the events it produced, in order. */
  push(message: BuildStreamMessage): BuildEvent[] {
    const events: BuildEvent[] = [];
    if (message.aux?.ID) this.imageId = message.aux.ID;
    if (message.status) {
      events.push({ kind: 'pull', id: message.id, status: message.status, progress: message.progress });
    }
    if (message.stream) {
      const lines = (this.partial + message.stream).split(/\r?\n/);
      this.partial = lines.pop() ?? '';
      for (const line of lines) events.push(...this.line(line));
    }
    return events;
  }

  /** Flushes a last line that had no newline. */
  end(): BuildEvent[] {
    const rest = this.partial;
    this.partial = '';
    return rest ? this.line(rest) : [];
  }

  get current(): BuildStep | undefined {
    return this.steps[this.steps.length - 1];
  }

  get cacheHits(): number {
    return this.steps.filter((s) => s.cached).length;
  }

  /** `Step 5/9 : RUN ...` for messages. */
  describeCurrent(): string | undefined {
    const s = this.current;
    return s && `Step ${s.index}/${s.total} : ${s.instruction}`;
  }

  private line(raw: string): BuildEvent[] {
    // The classic builder colours a step's stderr with ANSI codes; logs and messages want text.
    // eslint-disable-next-line no-control-regex
    const line = raw.replace(/\u001b\[[0-9;]*m/g, '').replace(/\s+$/, '');
    if (!line) return [];
    this.tail.push(line);
    if (this.tail.length > TAIL_LINES) this.tail.shift();
    const step = /^Step (\d+)\/(\d+) : (.*)$/.exec(line);
    if (step) {
      const s: BuildStep = { index: Number(step[1]), total: Number(step[2]), instruction: step[3], cached: false };
      this.steps.push(s);
      return [{ kind: 'step', step: s }];
    }
    if (/^ ---> Using cache$/.test(line) && this.current) {
      this.current.cached = true;
      return [{ kind: 'cached', step: this.current }];
    }
    const running = /^ ---> Running in ([0-9a-f]+)$/.exec(line);
    if (running) this.containers.push(running[1]);
    const built = /^Successfully built ([0-9a-f]+)$/.exec(line);
    if (built && !this.imageId) this.imageId = built[1];
    return [{ kind: 'log', line }];
  }
}
