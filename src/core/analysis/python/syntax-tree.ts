/**
 * A plain JavaScript copy of a tree-sitter tree. Every property of a web-tree-sitter `Node`
 * is a call into WebAssembly and a fresh object; the analysis visits nodes many times, so one
 * cursor walk into plain objects is faster and lets the wasm tree be freed at once. Only the
 * part of the `Node` API the analyser uses is provided, for trees without ERROR nodes (errors
 * are located on the original tree).
 */
import type { Language, Tree } from 'web-tree-sitter';

export interface Point {
  row: number;
  column: number;
}

/** Line starts of the source, to turn offsets into rows and columns only when asked. */
class LineIndex {
  private readonly starts = [0];

  constructor(source: string) {
    for (let i = source.indexOf('\n'); i >= 0; i = source.indexOf('\n', i + 1)) this.starts.push(i + 1);
  }

  point(index: number): Point {
    let low = 0;
    let high = this.starts.length - 1;
    while (low < high) {
      const mid = (low + high + 1) >> 1;
      if (this.starts[mid] <= index) low = mid;
      else high = mid - 1;
    }
    return { row: low, column: index - this.starts[low] };
  }
}

export class SyntaxNode {
  readonly children: SyntaxNode[] = [];
  readonly namedChildren: SyntaxNode[] = [];
  private fields: Map<string, SyntaxNode[]> | undefined;
  readonly hasError = false;
  readonly isMissing = false;
  readonly isError = false;

  constructor(
    private readonly source: string,
    private readonly lines: LineIndex,
    readonly type: string,
    readonly isNamed: boolean,
    readonly startIndex: number,
    readonly endIndex: number,
    readonly parent: SyntaxNode | null,
  ) {}

  get text(): string {
    return this.source.slice(this.startIndex, this.endIndex);
  }

  get startPosition(): Point {
    return this.lines.point(this.startIndex);
  }

  get endPosition(): Point {
    return this.lines.point(this.endIndex);
  }

  get namedChildCount(): number {
    return this.namedChildren.length;
  }

  child(index: number): SyntaxNode | null {
    return this.children[index] ?? null;
  }

  childForFieldName(name: string): SyntaxNode | null {
    return this.fields?.get(name)?.[0] ?? null;
  }

  childrenForFieldName(name: string): SyntaxNode[] {
    return this.fields?.get(name) ?? [];
  }

  descendantsOfType(types: string | string[]): SyntaxNode[] {
    const wanted = new Set(Array.isArray(types) ? types : [types]);
    const found: SyntaxNode[] = [];
    const visit = (node: SyntaxNode) => {
      for (const child of node.children) {
        if (wanted.has(child.type)) found.push(child);
        visit(child);
      }
    };
    visit(this);
    return found;
  }

  /** Used while copying. */
  addChild(child: SyntaxNode, field: string | null): void {
    this.children.push(child);
    if (child.isNamed) this.namedChildren.push(child);
    if (field) {
      this.fields ??= new Map();
      const list = this.fields.get(field);
      if (list) list.push(child);
      else this.fields.set(field, [child]);
    }
  }
}

/**
 * Copies the tree with one cursor walk, reading only numbers from the cursor (type and field
 * names come from the language's tables). Anonymous nodes (punctuation, keywords) are kept
 * only when they fill a field, such as a unary operator.
 */
export function copyTree(tree: Tree, source: string, language: Language): SyntaxNode {
  const lines = new LineIndex(source);
  const cursor = tree.walk();
  try {
    const root = new SyntaxNode(source, lines, 'module', true, cursor.startIndex, cursor.endIndex, null);
    // `parents[depth]` is the copied node children at depth+1 attach to (undefined: skipped node).
    const parents: Array<SyntaxNode | undefined> = [root];
    let depth = 0;
    for (;;) {
      if (cursor.gotoFirstChild()) depth++;
      else {
        while (!cursor.gotoNextSibling()) {
          if (!cursor.gotoParent()) return root;
          depth--;
          if (depth === 0) return root;
        }
      }
      const parent = parents[depth - 1];
      const typeId = cursor.nodeTypeId;
      const field = cursor.currentFieldId ? language.fields[cursor.currentFieldId] : null;
      const named = language.nodeTypeIsNamed(typeId);
      if (parent && (named || field)) {
        const node = new SyntaxNode(source, lines, language.types[typeId] ?? '', named, cursor.startIndex, cursor.endIndex, parent);
        parent.addChild(node, field);
        parents[depth] = node;
      } else {
        parents[depth] = undefined;
      }
    }
  } finally {
    cursor.delete();
  }
}
