/**
 * A plain JavaScript copy of a tree-sitter tree. Every property of a web-tree-sitter `Node`
 * is a call into WebAssembly and a fresh object; the analysis visits nodes many times, so one
 * cursor walk into plain objects is faster and lets the wasm tree be freed at once. Only the
 * part of the `Node` API the analyser uses is provided, for trees without ERROR nodes (errors
 * are located on the original tree).
 */
import type { Language, Tree, TreeCursor } from 'web-tree-sitter';

/**
 * The WebAssembly exports a cursor walk needs. web-tree-sitter wraps each of them in a call
 * that copies the cursor into and out of wasm memory through Emscripten's generic
 * getValue/setValue; called directly, the cursor stays in the transfer buffer for the whole walk.
 */
export interface CursorBinding {
  _ts_init(): number;
  _ts_tree_cursor_goto_first_child_wasm(tree: number): number;
  _ts_tree_cursor_goto_next_sibling_wasm(tree: number): number;
  _ts_tree_cursor_goto_parent_wasm(tree: number): number;
  _ts_tree_cursor_current_node_type_id_wasm(tree: number): number;
  _ts_tree_cursor_current_field_id_wasm(tree: number): number;
  _ts_tree_cursor_start_index_wasm(tree: number): number;
  _ts_tree_cursor_end_index_wasm(tree: number): number;
  getValue(address: number, type: 'i32'): number;
  setValue(address: number, value: number, type: 'i32'): void;
}

/** web-tree-sitter internals the direct walk relies on: the tree's address and the cursor's four words. */
type RawTree = { 0?: unknown };
type RawCursor = { handles?: unknown };

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

/** Shared by every leaf until it gets a child: most nodes are leaves, so this spares two arrays each. */
const NO_CHILDREN: SyntaxNode[] = Object.freeze([]) as unknown as SyntaxNode[];

/**
 * Node types the analysis looks for across the whole cell: the copy lists them as it goes, so
 * `descendantsOfType` on the root needs no second walk.
 */
const INDEXED_TYPES: ReadonlySet<string> = new Set(['string', 'print_statement', 'exec_statement']);

export class SyntaxNode {
  children: SyntaxNode[] = NO_CHILDREN;
  namedChildren: SyntaxNode[] = NO_CHILDREN;
  private fields: Map<string, SyntaxNode[]> | undefined;
  /** On the root of a copy: the nodes of INDEXED_TYPES, in document order. */
  private indexed: SyntaxNode[] | undefined;
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
    if (this.indexed && [...wanted].every((type) => INDEXED_TYPES.has(type))) return this.indexed.filter((node) => wanted.has(node.type));
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
    if (this.children === NO_CHILDREN) this.children = [child];
    else this.children.push(child);
    if (child.isNamed) {
      if (this.namedChildren === NO_CHILDREN) this.namedChildren = [child];
      else this.namedChildren.push(child);
    }
    if (field) {
      this.fields ??= new Map();
      const list = this.fields.get(field);
      if (list) list.push(child);
      else this.fields.set(field, [child]);
    }
  }

  /** Used while copying, on the root. */
  index(node: SyntaxNode): void {
    (this.indexed ??= []).push(node);
  }

  /** Used once copied, on the root: from now on the index answers for the whole tree. */
  sealIndex(): void {
    this.indexed ??= [];
  }
}

/** Per language: whether each node type is named (one wasm call per type, not per node). */
const namedTypes = new WeakMap<Language, boolean[]>();

function namedTable(language: Language): boolean[] {
  let table = namedTypes.get(language);
  if (!table) {
    table = language.types.map((_, id) => language.nodeTypeIsNamed(id));
    namedTypes.set(language, table);
  }
  return table;
}

const indexedTypes = new WeakMap<Language, boolean[]>();

function indexedTable(language: Language): boolean[] {
  let table = indexedTypes.get(language);
  if (!table) {
    table = language.types.map((type) => INDEXED_TYPES.has(type));
    indexedTypes.set(language, table);
  }
  return table;
}

/** The cursor position the walk reads, whichever way it reaches WebAssembly. */
interface Walk {
  firstChild(): boolean;
  nextSibling(): boolean;
  parent(): boolean;
  typeId(): number;
  fieldId(): number;
  start(): number;
  end(): number;
}

/**
 * Copies the tree with one cursor walk, reading only numbers from the cursor (type and field
 * names come from the language's tables). Anonymous nodes (punctuation, keywords) are kept
 * only when they fill a field, such as a unary operator.
 */
export function copyTree(tree: Tree, source: string, language: Language, binding?: CursorBinding): SyntaxNode {
  const cursor = tree.walk();
  const treeAddress = (tree as unknown as RawTree)[0];
  const handles = (cursor as unknown as RawCursor).handles;
  const direct = binding && typeof treeAddress === 'number' && Array.isArray(handles) && handles.length === 4;
  if (!direct) {
    try {
      return copyWith(cursorWalk(cursor), source, language);
    } finally {
      cursor.delete();
    }
  }
  const buffer = binding._ts_init();
  for (let i = 0; i < 4; i++) binding.setValue(buffer + 4 * i, handles[i] as number, 'i32');
  try {
    return copyWith(directWalk(binding, treeAddress), source, language);
  } finally {
    // The walk moved the cursor inside the buffer: hand its final state back so delete() frees it.
    for (let i = 0; i < 4; i++) handles[i] = binding.getValue(buffer + 4 * i, 'i32');
    cursor.delete();
  }
}

function cursorWalk(cursor: TreeCursor): Walk {
  return {
    firstChild: () => cursor.gotoFirstChild(),
    nextSibling: () => cursor.gotoNextSibling(),
    parent: () => cursor.gotoParent(),
    typeId: () => cursor.nodeTypeId,
    fieldId: () => cursor.currentFieldId,
    start: () => cursor.startIndex,
    end: () => cursor.endIndex,
  };
}

function directWalk(b: CursorBinding, tree: number): Walk {
  return {
    firstChild: () => b._ts_tree_cursor_goto_first_child_wasm(tree) === 1,
    nextSibling: () => b._ts_tree_cursor_goto_next_sibling_wasm(tree) === 1,
    parent: () => b._ts_tree_cursor_goto_parent_wasm(tree) === 1,
    typeId: () => b._ts_tree_cursor_current_node_type_id_wasm(tree),
    fieldId: () => b._ts_tree_cursor_current_field_id_wasm(tree),
    start: () => b._ts_tree_cursor_start_index_wasm(tree),
    end: () => b._ts_tree_cursor_end_index_wasm(tree),
  };
}

function copyWith(walk: Walk, source: string, language: Language): SyntaxNode {
  const lines = new LineIndex(source);
  const named = namedTable(language);
  const indexed = indexedTable(language);
  const root = new SyntaxNode(source, lines, 'module', true, walk.start(), walk.end(), null);
  root.sealIndex();
  // `parents[depth]` is the copied node children at depth+1 attach to (undefined: skipped node).
  const parents: Array<SyntaxNode | undefined> = [root];
  let depth = 0;
  for (;;) {
    if (walk.firstChild()) depth++;
    else {
      while (!walk.nextSibling()) {
        if (!walk.parent()) return root;
        depth--;
        if (depth === 0) return root;
      }
    }
    const parent = parents[depth - 1];
    const typeId = walk.typeId();
    const fieldId = parent ? walk.fieldId() : 0;
    const isNamed = named[typeId] ?? false;
    if (parent && (isNamed || fieldId)) {
      const node = new SyntaxNode(source, lines, language.types[typeId] ?? '', isNamed, walk.start(), walk.end(), parent);
      parent.addChild(node, fieldId ? language.fields[fieldId] : null);
      if (indexed[typeId]) root.index(node);
      parents[depth] = node;
    } else {
      parents[depth] = undefined;
    }
  }
}
