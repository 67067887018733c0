/** The cell's executable body: the rewritten code without the statements that moved out. */
import type { SyntaxNode } from './parser';

export interface Body {
  text: string;
  /** For each removed statement, the number of body lines that came before it: where it stood. */
  lineOf: Map<SyntaxNode, number>;
}

/**
 * Removes `removed` (top-level statements of `root`) from `code`. A statement alone on its
 * lines takes its lines with it; one sharing a line through `;` is cut out with its separator.
 * Blank lines left behind are collapsed, but never inside a multi-line string.
 */
export function bodyWithout(code: string, root: SyntaxNode, removed: SyntaxNode[]): Body {
  const lines = code.split('\n');
  const statementsOnRow = new Map<number, number>();
  for (const statement of root.namedChildren) {
    for (let row = statement.startPosition.row; row <= statement.endPosition.row; row++) {
      statementsOnRow.set(row, (statementsOnRow.get(row) ?? 0) + 1);
    }
  }
  const droppedRows = new Set<number>();
  const cuts: Array<{ row: number; start: number; end: number }> = [];
  for (const node of removed) {
    const first = node.startPosition.row;
    const last = node.endPosition.row;
    if (statementsOnRow.get(first) === 1 && statementsOnRow.get(last) === 1) {
      for (let row = first; row <= last; row++) droppedRows.add(row);
    } else if (first === last) {
      const line = lines[first];
      const separator = /^\s*;?[ \t]*/.exec(line.slice(node.endPosition.column))![0];
      cuts.push({ row: first, start: node.startPosition.column, end: node.endPosition.column + separator.length });
    } else {
      // A multi-line statement sharing its first or last line: rare; keep whole rows together.
      for (let row = first; row <= last; row++) droppedRows.add(row);
    }
  }
  for (const cut of cuts.sort((a, b) => b.start - a.start)) {
    lines[cut.row] = lines[cut.row].slice(0, cut.start) + lines[cut.row].slice(cut.end);
  }

  const insideString = stringRows(root);
  const kept: Array<{ text: string; blank: boolean }> = [];
  const keptBeforeRow: number[] = [];
  lines.forEach((text, row) => {
    keptBeforeRow[row] = kept.length;
    if (droppedRows.has(row)) return;
    const blank = text.trim() === '' && !insideString.has(row);
    if (blank && (kept.length === 0 || kept[kept.length - 1].blank)) return;
    kept.push({ text: blank ? '' : text, blank });
  });
  while (kept.length > 0 && kept[kept.length - 1].blank) kept.pop();
  const lineOf = new Map(removed.map((node) => [node, Math.min(keptBeforeRow[node.startPosition.row], kept.length)]));
  return { text: kept.map((line) => line.text).join('\n'), lineOf };
}

/** Rows that continue a multi-line string: their whitespace is part of a value. */
function stringRows(root: SyntaxNode): Set<number> {
  const rows = new Set<number>();
  for (const node of root.descendantsOfType('string')) {
    for (let row = node.startPosition.row + 1; row <= node.endPosition.row; row++) rows.add(row);
  }
  return rows;
}
