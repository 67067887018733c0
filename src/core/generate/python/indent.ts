import { requireBeside } from '../../beside';

type LRParser = (typeof import('@lezer/python'))['parser'];

/** Required on first use: building lezer's parse tables costs every CLI start about 20 ms otherwise. */
let lezer: LRParser | undefined;
function pythonParser(): LRParser {
  lezer ??= requireBeside<{ parser: LRParser }>('lezer-python.js', '@lezer/python').parser;
  return lezer;
}

/**
 * Indents Python code into a function body without changing the value of multi-line
 * strings: lines that continue a string literal are left exactly as they are.
 */
export function indentPython(code: string, prefix = '    '): string {
  const keep = /'''|"""|\\\r?\n/.test(code) ? stringContinuationLines(code) : new Set<number>();
  return code
    .split('\n')
    .map((line, i) => (keep.has(i) ? line : line.trim() === '' ? '' : prefix + line))
    .join('\n');
}

/** 0-based lines that continue a string literal; only triple-quoted or backslash-continued strings span lines. */
function stringContinuationLines(code: string): Set<number> {
  const keep = new Set<number>();
  const lineStarts = [0];
  for (let i = code.indexOf('\n'); i !== -1; i = code.indexOf('\n', i + 1)) lineStarts.push(i + 1);
  const lineOf = (pos: number) => {
    let lo = 0;
    let hi = lineStarts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (lineStarts[mid] <= pos) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  };
  pythonParser().parse(code).iterate({
    enter(node) {
      if (node.name !== 'String' && node.name !== 'FormatString') return;
      const first = lineOf(node.from);
      const last = lineOf(Math.max(node.from, node.to - 1));
      for (let l = first + 1; l <= last; l++) keep.add(l);
      return false;
    },
  });
  return keep;
}
