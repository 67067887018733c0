/** Output arrives in chunks that split lines anywhere; printers want whole lines, per stream. */
import type { OutputStream } from './engine';

export function lineSplitter(onLine: (line: string, stream: OutputStream) => void) {
  const pending: Record<OutputStream, string> = { stdout: '', stderr: '' };
  return {
    write: (text: string, stream: OutputStream) => {
      const lines = (pending[stream] + text).split(/\r?\n/);
      pending[stream] = lines.pop() ?? '';
      for (const line of lines) onLine(line, stream);
    },
    /** The last line of each stream when it had no newline. */
    flush: () => {
      for (const stream of ['stdout', 'stderr'] as const) {
        if (pending[stream]) onLine(pending[stream], stream);
        pending[stream] = '';
      }
    },
  };
}
