/**
 * Finds the syntax error CPython would report. tree-sitter recovers from errors (ERROR and
 * MISSING nodes), and tree-sitter-python is lenient where CPython is not: it accepts Python 2
 * `print x` / `exec x`, unexpected indentation, and empty blocks. Those are checked here.
 */
import type { Point, SyntaxNode } from './syntax-tree';

export interface SyntaxProblem {
  node: { startPosition: Point };
  message: string;
}

/** The part of a node the error search needs: a web-tree-sitter `Node` has it. */
interface ParsedNode {
  readonly type: string;
  readonly text: string;
  readonly startPosition: Point;
  readonly isError: boolean;
  readonly isMissing: boolean;
  readonly hasError: boolean;
  readonly children: ArrayLike<ParsedNode | null>;
}

const CLAUSES = new Set(['elif_clause', 'else_clause', 'except_clause', 'except_group_clause', 'finally_clause']);

/** The first ERROR or MISSING node of the parser's own tree. */
export function findParseError(root: ParsedNode): SyntaxProblem | undefined {
  if (!root.hasError) return undefined;
  const node = firstErrorNode(root) ?? root;
  const message = node.isMissing ? `invalid syntax: expected ${node.type}` : `invalid syntax near \`${excerpt(node.text)}\``;
  return { node, message };
}

/** What CPython rejects but tree-sitter-python accepts, on an error-free tree. */
export function findStrictSyntaxError(root: SyntaxNode): SyntaxProblem | undefined {
  const python2 = root.descendantsOfType(['print_statement', 'exec_statement'])[0];
  if (python2) {
    const keyword = python2.type === 'print_statement' ? 'print' : 'exec';
    return { node: python2, message: `invalid syntax: Python 2 \`${keyword}\` statement (use ${keyword}(...))` };
  }
  return indentationError(root, 0);
}

function firstErrorNode(node: ParsedNode): ParsedNode | undefined {
  if (node.isError || node.isMissing) return node;
  for (let i = 0; i < node.children.length; i++) {
    const child = node.children[i];
    if (child && (child.isMissing || child.hasError)) {
      const found = firstErrorNode(child);
      if (found) return found;
    }
  }
  return undefined;
}

/**
 * Statements of one block that begin a line share one column, deeper than their header;
 * a block is not empty; `else`/`except`/... line up with their statement.
 */
function indentationError(block: SyntaxNode, minColumn: number): SyntaxProblem | undefined {
  const statements = block.namedChildren.filter((child) => child.type !== 'comment');
  if (statements.length === 0) {
    return block.type === 'module' ? undefined : { node: block, message: 'expected an indented block' };
  }
  const headerRow = block.parent?.startPosition.row ?? -1;
  let column: number | undefined = block.type === 'module' ? 0 : undefined;
  let previousEnd = -1;
  for (const statement of statements) {
    const { row, column: start } = statement.startPosition;
    const beginsLine = row > previousEnd && row > headerRow;
    if (beginsLine) {
      column ??= start;
      if (start !== column || start < minColumn) return { node: statement, message: start > column ? 'unexpected indent' : 'unindent does not match any outer indentation level' };
    }
    previousEnd = statement.endPosition.row;
    const nested = nestedProblem(statement, beginsLine ? start + 1 : minColumn);
    if (nested) return nested;
  }
  return undefined;
}

function nestedProblem(statement: SyntaxNode, minColumn: number): SyntaxProblem | undefined {
  let previousEnd = statement.startPosition.row;
  for (const child of statement.namedChildren) {
    if (child.type === 'block') {
      const problem = indentationError(child, minColumn);
      if (problem) return problem;
    } else if (CLAUSES.has(child.type)) {
      if (child.startPosition.row > previousEnd && child.startPosition.column !== statement.startPosition.column) {
        return { node: child, message: 'unindent does not match any outer indentation level' };
      }
      const problem = nestedProblem(child, minColumn);
      if (problem) return problem;
    } else if (child.type === 'function_definition' || child.type === 'class_definition') {
      // decorated_definition: the definition starts on its own line at the decorator's column.
      const problem = nestedProblem(child, minColumn);
      if (problem) return problem;
    }
    previousEnd = child.endPosition.row;
  }
  return undefined;
}

function excerpt(text: string): string {
  const line = text.split('\n')[0].trim();
  return line.length > 40 ? `${line.slice(0, 40)}…` : line;
}
