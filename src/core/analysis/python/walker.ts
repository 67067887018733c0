/**
 * Walks one cell's syntax tree with Python's scoping rules and records what the cell reads,
 * binds, deletes and mutates at top level, its imports, and its function/class definitions
 * with the module names their bodies read.
 */
import type { Diagnostic } from '../../errors';
import type { CallSite, ClassShape, DefinitionInfo, ImportInfo, LiteralCall, MethodCall, NameRef, ParameterInfo, ProcessSetting } from '../types';
import { PYTHON_BUILTINS } from './builtins';
import { IMPORT_STATEMENTS, importedNames } from './imports';
import { literalValue } from './literals';
import { ARGUMENT_MUTATORS, isInPlaceMethodName } from './mutation';
import type { SyntaxNode } from './parser';
import { Scope } from './scopes';
import { argumentShapes, classShapeOf, hasLiteralShape, parametersOf } from './signature';
import { processSetting } from './settings';
import type { Point } from './syntax-tree';

export type Locate = (node: { startPosition: Point }) => { line: number; column: number };

export interface CellFacts {
  uses: NameRef[];
  /** Names read only where a NameError is caught (`try: cache / except NameError: cache = {}`). */
  optionalUses: NameRef[];
  /** Builtin names read before the cell binds them (a notebook may have rebound them). */
  builtinUses: NameRef[];
  defines: string[];
  deletes: string[];
  mutates: string[];
  globalWrites: string[];
  imports: ImportInfo[];
  definitions: DefinitionInfo[];
  calls: CallSite[];
  methodCalls: MethodCall[];
  literalCalls: LiteralCall[];
  literals: Record<string, unknown>;
  awaits: boolean;
  /** Calls `globals()` (see CellAnalysis.readsNamespace). */
  readsNamespace: boolean;
  settings: ProcessSetting[];
  diagnostics: Diagnostic[];
  /** Top-level statements that leave the body (imports, import blocks, definitions). */
  removed: SyntaxNode[];
  /** The statement of each of `definitions`, in the same order. */
  definitionNodes: SyntaxNode[];
}

const IDENTIFIERS = new Set(['identifier', 'keyword_identifier']);
const COMPREHENSIONS = new Set(['list_comprehension', 'set_comprehension', 'dictionary_comprehension', 'generator_expression']);
const SEQUENCE_TARGETS = new Set([
  'pattern_list', 'tuple_pattern', 'list_pattern', 'tuple', 'list', 'expression_list',
  'parenthesized_expression', 'list_splat_pattern', 'list_splat', 'as_pattern_target',
]);
const DEFINITIONS = new Set(['function_definition', 'class_definition', 'decorated_definition']);

class Definition {
  readonly globals: NameRef[] = [];
  /** Module names read as the def/class statement runs (decorators, defaults, bases, class body). */
  readonly definitionReads = new Set<string>();
  decoratorRoots: string[] = [];
  private readonly seen = new Set<string>();
  /** A function's own scope and parameters: a change to a parameter is a change to the caller's argument. */
  scope?: Scope;
  parameters: string[] = [];
  readonly mutatesParameters = new Set<string>();
  readonly writesGlobals = new Set<string>();
  readonly mutatesGlobals = new Set<string>();
  readonly calls: CallSite[] = [];
  /** A class's methods that change `self` themselves, and the calls each makes on `self`. */
  readonly selfMutating = new Set<string>();
  readonly selfCalls: [caller: string, callee: string][] = [];
  signature?: ParameterInfo[];
  classShape?: ClassShape;

  constructor(
    readonly name: string,
    readonly kind: 'function' | 'class',
    readonly node: SyntaxNode,
    /** Comment lines right above the definition: they describe it, so they move with it. */
    readonly comments: SyntaxNode[],
  ) {}

  get code(): string {
    return [...this.comments.map((comment) => comment.text), this.node.text].join('\n');
  }

  has(name: string): boolean {
    return this.seen.has(name);
  }

  read(ref: NameRef): void {
    if (this.seen.has(ref.name)) return;
    this.seen.add(ref.name);
    this.globals.push(ref);
  }

}

/** What the statements of an import block bind and import. */
interface ImportBlock {
  names: string[];
  modules: string[];
}

interface Context {
  scope: Scope;
  /** First pass over a function body: only bindings are recorded. */
  collecting: boolean;
  /** The top-level definition whose body is being walked: reads become its globals. */
  owner?: Definition;
  /** A top-level definition whose decorators/defaults/bases are being walked (cell reads and its globals). */
  definitionTime?: Definition;
  /** Inside a function or lambda that is not a top-level definition: runs later, if at all. */
  deferred: boolean;
  /** In the body of a `try` whose handler catches NameError: a name there may well be undefined. */
  mayBeUndefined?: boolean;
  /** Inside a method of a top-level class: its name, its instance parameter and its scope. */
  method?: { name: string; self: string; scope: Scope };
}

export class CellWalker {
  private readonly module = new Scope('module', undefined);
  private ctx: Context = { scope: this.module, collecting: false, deferred: false };
  private importBlock: ImportBlock | undefined;
  private futureAnnotations = false;

  private readonly uses = new Map<string, NameRef>();
  private readonly optionalUses = new Map<string, NameRef>();
  private readonly builtinUses = new Map<string, NameRef>();
  private readonly deferredReads: NameRef[] = [];
  private readonly deferredNames = new Set<string>();
  private readonly defines = new Set<string>();
  private readonly deletes = new Set<string>();
  private readonly mutates = new Set<string>();
  private readonly methodCalls: MethodCall[] = [];
  private readonly globalWrites = new Set<string>();
  private readonly imports: ImportInfo[] = [];
  private readonly definitions: Definition[] = [];
  private readonly calls: CallSite[] = [];
  private readonly literalCalls: LiteralCall[] = [];
  private readonly literals: Record<string, unknown> = {};
  private readonly diagnostics: Diagnostic[] = [];
  private awaits = false;
  private readsNamespace = false;
  private readonly settings: ProcessSetting[] = [];
  private readonly removed: SyntaxNode[] = [];
  /** Module names bound to (parts of) received values: `for df in frames`, `d = config["x"]`. */
  private readonly aliases = new Map<string, string[]>();

  constructor(
    private readonly locate: Locate,
    /** Names the rewritten code imports implicitly (helpers for `!cmd`, `%cd`...). */
    preBound: Iterable<string>,
  ) {
    for (const name of preBound) this.module.locals.add(name);
  }

  walkModule(root: SyntaxNode): CellFacts {
    let comments: SyntaxNode[] = [];
    let previousEnd = -1;
    for (const statement of root.namedChildren) {
      const row = statement.startPosition.row;
      if (statement.type === 'comment') {
        const ownLine = row > previousEnd && statement.startPosition.column === 0;
        const adjacent = comments.length === 0 || comments[comments.length - 1].startPosition.row === row - 1;
        comments = ownLine ? (adjacent ? [...comments, statement] : [statement]) : [];
        previousEnd = row;
        continue;
      }
      const leading = comments.length > 0 && comments[comments.length - 1].startPosition.row === row - 1 ? comments : [];
      comments = [];
      previousEnd = statement.endPosition.row;
      if (IMPORT_STATEMENTS.has(statement.type)) {
        this.statement(statement);
        this.removed.push(statement);
      } else if (isImportBlock(statement)) {
        this.importBlockStatement(statement);
        this.removed.push(statement);
      } else if (DEFINITIONS.has(statement.type)) {
        this.topLevelDefinition(statement, leading);
        this.removed.push(...leading, statement);
      } else if (classFactoryAssignment(statement)) {
        this.classFactory(statement, classFactoryAssignment(statement)!, leading);
        this.removed.push(...leading, statement);
      } else {
        this.statement(statement);
        this.recordLiteral(statement);
        const setting = processSetting(statement);
        if (setting) this.settings.push(setting);
      }
    }
    return this.facts();
  }

  private facts(): CellFacts {
    for (const ref of this.deferredReads) {
      if (!this.module.locals.has(ref.name) && !PYTHON_BUILTINS.has(ref.name) && !this.uses.has(ref.name)) {
        this.uses.set(ref.name, ref);
      }
    }
    const byPosition = (a: NameRef, b: NameRef) => a.line - b.line || a.column - b.column;
    return {
      uses: [...this.uses.values()].sort(byPosition),
      optionalUses: [...this.optionalUses.values()].filter((ref) => !this.uses.has(ref.name)).sort(byPosition),
      builtinUses: [...this.builtinUses.values()].sort(byPosition),
      defines: [...this.defines],
      deletes: [...this.deletes],
      mutates: [...this.mutates],
      globalWrites: [...this.globalWrites],
      imports: this.imports,
      definitions: this.definitions.map((definition) => ({
        name: definition.name,
        kind: definition.kind,
        code: definition.code,
        line: this.locate(definition.node).line,
        // A builtin is a global only if this cell rebinds it.
        globals: definition.globals.filter((ref) => !PYTHON_BUILTINS.has(ref.name) || this.module.locals.has(ref.name)),
        ...(definition.decoratorRoots.length ? { decoratorRoots: definition.decoratorRoots } : {}),
        ...(definition.kind === 'class' && definition.selfMutating.size ? { mutatingMethods: [...definition.selfMutating] } : {}),
        ...(definition.kind === 'class' && definition.selfCalls.length ? { selfCalls: definition.selfCalls } : {}),
        ...(definition.signature ? { signature: definition.signature } : {}),
        ...(definition.classShape ? { classShape: definition.classShape } : {}),
        definitionReads: [...definition.definitionReads].filter((name) => !PYTHON_BUILTINS.has(name) || this.module.locals.has(name)),
        effects: {
          parameters: definition.parameters,
          mutatesParameters: [...definition.mutatesParameters],
          writesGlobals: [...definition.writesGlobals],
          mutatesGlobals: [...definition.mutatesGlobals],
          calls: definition.calls,
        },
      })),
      calls: this.calls,
      methodCalls: this.methodCalls,
      literalCalls: this.literalCalls,
      literals: this.literals,
      awaits: this.awaits,
      readsNamespace: this.readsNamespace,
      settings: this.settings,
      diagnostics: this.diagnostics,
      removed: this.removed,
      definitionNodes: this.definitions.map((definition) => definition.node),
    };
  }

  // ---- context --------------------------------------------------------------------------

  private within<T>(changes: Partial<Context>, run: () => T): T {
    const saved = this.ctx;
    this.ctx = { ...saved, ...changes };
    try {
      return run();
    } finally {
      this.ctx = saved;
    }
  }

  private get scope(): Scope {
    return this.ctx.scope;
  }

  // ---- reads, bindings, mutations ---------------------------------------------------------

  private read(node: SyntaxNode): void {
    if (this.ctx.collecting) return;
    const name = node.text;
    if (this.scope.resolve(name) === 'local') return;
    // Only a name's first read is kept anywhere, so the location is worked out only for that one.
    let ref: NameRef | undefined;
    const located = () => (ref ??= { name, ...this.locate(node) });
    const { owner, definitionTime } = this.ctx;
    if (owner) {
      if (!owner.has(name)) owner.read(located());
      // A class body runs when the class statement does.
      if (this.scope.kind === 'class') owner.definitionReads.add(name);
      return;
    }
    if (definitionTime) {
      if (!definitionTime.has(name)) definitionTime.read(located());
      definitionTime.definitionReads.add(name);
    }
    if (this.ctx.deferred || !this.scope.runsAtModuleLevel) {
      if (!this.deferredNames.has(name)) {
        this.deferredNames.add(name);
        this.deferredReads.push(located());
      }
      return;
    }
    if (this.module.locals.has(name)) return;
    const into = PYTHON_BUILTINS.has(name) ? this.builtinUses : this.ctx.mayBeUndefined ? this.optionalUses : this.uses;
    if (!into.has(name)) into.set(name, located());
  }

  private bind(name: string, scope: Scope = this.scope, kind: 'value' | 'import' | 'definition' = 'value'): void {
    switch (scope.kind) {
      case 'function':
        if (!this.ctx.collecting) return;
        if (scope.declaredGlobal.has(name)) {
          this.globalWrites.add(name);
          this.ctx.owner?.writesGlobals.add(name);
        }
        else if (!scope.declaredNonlocal.has(name)) scope.locals.add(name);
        return;
      case 'module':
        this.module.locals.add(name);
        this.deletes.delete(name);
        this.aliases.delete(name);
        if (this.importBlock) {
          if (!this.importBlock.names.includes(name)) this.importBlock.names.push(name);
        } else if (kind === 'value' && !this.ctx.deferred) {
          this.defines.add(name);
        }
        return;
      default:
        scope.locals.add(name);
    }
  }

  /** `root.attr = ...`, `root[k] += ...`, `root.append(...)`: changes a value the cell received? */
  private mutation(target: SyntaxNode | null): void {
    if (this.ctx.owner && !this.ctx.collecting) return this.definitionMutation(this.ctx.owner, target);
    if (this.ctx.collecting || this.ctx.owner || this.ctx.deferred || !this.scope.runsAtModuleLevel) return;
    for (const name of this.receivedRoots(target)) this.mutates.add(name);
  }

  /** Inside a definition: a change to one of its parameters or to a module value is an effect of calling it. */
  private definitionMutation(owner: Definition, target: SyntaxNode | null): void {
    const name = rootName(target)?.text;
    if (!name) return;
    if (this.isSelf(name)) owner.selfMutating.add(this.ctx.method!.name);
    if (this.scope.resolve(name) === 'module') {
      if (!PYTHON_BUILTINS.has(name)) owner.mutatesGlobals.add(name);
    } else if (owner.parameters.includes(name) && this.bindingScope(name) === owner.scope) {
      owner.mutatesParameters.add(name);
    }
  }

  /** The instance parameter of the method being walked (a nested function's closure sees it too). */
  private isSelf(name: string): boolean {
    const { method } = this.ctx;
    return !!method && name === method.self && this.bindingScope(name) === method.scope;
  }

  /** The function or comprehension scope a local name belongs to (class bodies do not enclose). */
  private bindingScope(name: string): Scope | undefined {
    for (let scope: Scope | undefined = this.scope; scope && scope.kind !== 'module'; scope = scope.parent) {
      if (scope.kind !== 'class' && scope.locals.has(name) && !scope.declaredNonlocal.has(name)) return scope;
    }
    return undefined;
  }

  /**
   * The received values an expression's value is part of: `df` for `df.loc[0]` or
   * `df.items()`, each argument's for `enumerate(a)` / `zip(a, b)`, through aliases.
   */
  private receivedRoots(node: SyntaxNode | null): string[] {
    if (node?.type === 'call') {
      const callee = node.childForFieldName('function');
      if (callee && IDENTIFIERS.has(callee.type) && ELEMENT_PRESERVING.has(callee.text)) {
        const args = node.childForFieldName('arguments')?.namedChildren ?? [];
        return args.flatMap((arg) => this.receivedRoots(arg));
      }
    }
    const root = rootName(node);
    if (!root || this.scope.resolve(root.text) !== 'module') return [];
    const name = root.text;
    const aliased = this.aliases.get(name);
    if (aliased) return aliased;
    return this.module.locals.has(name) || PYTHON_BUILTINS.has(name) ? [] : [name];
  }

  /** After `for target in source` / `target = source` at module level. */
  private alias(target: SyntaxNode | null, roots: string[]): void {
    if (roots.length === 0 || this.scope !== this.module || this.ctx.deferred) return;
    for (const name of target ? identifiersIn(target) : []) this.aliases.set(name, roots);
  }

  // ---- statements -------------------------------------------------------------------------

  private block(node: SyntaxNode | null): void {
    if (!node) return;
    for (const statement of node.namedChildren) this.statement(statement);
  }

  private statement(node: SyntaxNode): void {
    switch (node.type) {
      case 'comment':
      case 'pass_statement':
      case 'break_statement':
      case 'continue_statement':
        return;
      case 'block':
        return this.block(node);
      case 'expression_statement':
        for (const child of node.namedChildren) this.expression(child);
        return;
      case 'import_statement':
      case 'import_from_statement':
      case 'future_import_statement':
        return this.importStatement(node);
      case 'function_definition':
        return this.functionDefinition(node);
      case 'class_definition':
        return this.classDefinition(node);
      case 'decorated_definition':
        for (const decorator of node.namedChildren.filter((child) => child.type === 'decorator')) this.children(decorator);
        return this.statement(node.childForFieldName('definition')!);
      case 'for_statement': {
        if (isAsync(node)) this.topLevelAwait(node);
        const source = node.childForFieldName('right');
        this.expression(source);
        const roots = this.receivedRoots(source);
        this.target(node.childForFieldName('left'));
        this.alias(node.childForFieldName('left'), roots);
        this.block(node.childForFieldName('body'));
        return this.clauses(node.childForFieldName('alternative'));
      }
      case 'with_statement':
        if (isAsync(node)) this.topLevelAwait(node);
        return this.withStatement(node);
      case 'try_statement':
        return this.tryStatement(node);
      case 'except_clause':
      case 'except_group_clause':
        return this.exceptClause(node);
      case 'match_statement':
        return this.matchStatement(node);
      case 'delete_statement':
        for (const target of node.namedChildren) this.deleteTarget(target);
        return;
      case 'global_statement':
        for (const name of node.namedChildren) if (IDENTIFIERS.has(name.type)) this.scope.declaredGlobal.add(name.text);
        return;
      case 'nonlocal_statement':
        for (const name of node.namedChildren) if (IDENTIFIERS.has(name.type)) this.scope.declaredNonlocal.add(name.text);
        return;
      case 'type_alias_statement':
        this.expression(node.childForFieldName('right'));
        return this.target(node.childForFieldName('left')?.namedChildren[0] ?? null);
      default:
        // if/elif/else/while/finally/return/raise/assert...: conditions and blocks in order.
        return this.clauses(node);
    }
  }

  /** Compound statements and their clauses: expressions are read, blocks are walked, in source order. */
  private clauses(node: SyntaxNode | null): void {
    if (!node) return;
    for (const child of node.namedChildren) {
      if (child.type === 'block') this.block(child);
      else if (child.type.endsWith('_clause') || child.type.endsWith('_statement')) this.statement(child);
      else this.expression(child);
    }
  }

  /** `try: cache / except NameError: cache = {}`: the notebook runs on whether the body's names exist or not. */
  private tryStatement(node: SyntaxNode): void {
    const guarded = catchesAny(node, NAME_ERRORS);
    for (const child of node.namedChildren) {
      if (child.type === 'block') this.within({ mayBeUndefined: this.ctx.mayBeUndefined || guarded }, () => this.block(child));
      else this.statement(child);
    }
  }

  private exceptClause(node: SyntaxNode): void {
    for (const child of node.namedChildren) {
      if (child.type === 'block') this.block(child);
      else if (child.type === 'as_pattern') {
        this.expression(child.namedChildren[0]);
        this.target(child.childForFieldName('alias'));
      } else this.expression(child);
    }
  }

  private withStatement(node: SyntaxNode): void {
    const clause = node.namedChildren.find((child) => child.type === 'with_clause');
    for (const item of clause?.namedChildren ?? []) {
      const value = item.childForFieldName('value') ?? item.namedChildren[0];
      if (value?.type === 'as_pattern') {
        this.expression(value.namedChildren[0]);
        this.target(value.childForFieldName('alias'));
      } else this.expression(value);
    }
    this.block(node.childForFieldName('body'));
  }

  private importStatement(node: SyntaxNode): void {
    const imported = importedNames(node);
    if (node.type === 'future_import_statement' && node.text.includes('annotations')) this.futureAnnotations = true;
    for (const name of imported.names) this.bind(name, this.scope, 'import');
    if (imported.star && this.scope.kind === 'module') {
      this.diagnostics.push({
        severity: 'warning',
        message: `\`${node.text}\`: the names a star import binds are unknown to the analysis, so names no cell defines are taken from it; import them by name`,
        ...this.locate(node),
      });
    }
    if (this.scope.kind !== 'module' || this.ctx.deferred) return;
    if (this.importBlock) {
      for (const module of imported.modules) if (!this.importBlock.modules.includes(module)) this.importBlock.modules.push(module);
      return;
    }
    this.imports.push({
      names: imported.names,
      modules: imported.modules,
      code: node.text,
      line: this.locate(node).line,
      ...(imported.star ? { star: true } : {}),
    });
  }

  /** `try: import x / except ImportError: x = None` moves as one unit with the imports. */
  private importBlockStatement(node: SyntaxNode): void {
    const block: ImportBlock = { names: [], modules: [] };
    this.importBlock = block;
    try {
      this.statement(node);
    } finally {
      this.importBlock = undefined;
    }
    const optional = optionalModules(node);
    this.imports.push({ names: block.names, modules: block.modules, ...(optional.length ? { optional } : {}), code: node.text, line: this.locate(node).line });
  }

  private recordLiteral(statement: SyntaxNode): void {
    if (statement.type !== 'expression_statement' || statement.namedChildCount !== 1) return;
    let assignment: SyntaxNode | null = statement.namedChildren[0];
    const targets: string[] = [];
    while (assignment?.type === 'assignment') {
      const left = assignment.childForFieldName('left');
      if (!left || !IDENTIFIERS.has(left.type)) return;
      targets.push(left.text);
      assignment = assignment.childForFieldName('right');
    }
    if (targets.length === 0) return;
    const literal = assignment ? literalValue(assignment) : undefined;
    for (const name of targets) {
      if (literal) this.literals[name] = literal.value;
      else delete this.literals[name];
    }
  }

  // ---- definitions ------------------------------------------------------------------------

  private topLevelDefinition(statement: SyntaxNode, comments: SyntaxNode[]): void {
    const definition = statement.type === 'decorated_definition' ? statement.childForFieldName('definition')! : statement;
    const name = definition.childForFieldName('name')?.text ?? '';
    const info = new Definition(name, definition.type === 'class_definition' ? 'class' : 'function', statement, comments);
    this.definitions.push(info);
    const decorators = statement.namedChildren.filter((child) => child.type === 'decorator');
    info.decoratorRoots = decorators.filter((decorator) => !isWrapperDecorator(decorator)).flatMap((decorator) => rootName(decoratorExpression(decorator))?.text ?? []);
    this.within({ definitionTime: info }, () => {
      for (const decorator of decorators) this.children(decorator);
      if (definition.type === 'class_definition') {
        info.classShape = classShapeOf(definition, decorators);
        this.classDefinition(definition, info);
      } else {
        info.signature = parametersOf(definition.childForFieldName('parameters'));
        this.functionDefinition(definition, info);
      }
    });
  }

  /**
   * `Row = namedtuple("Row", ...)` makes a class as `class Row` would: one that lives in a module
   * (the shared one) can be pickled with its instances, one made inside a step function cannot.
   */
  private classFactory(statement: SyntaxNode, assignment: SyntaxNode, comments: SyntaxNode[]): void {
    const name = assignment.childForFieldName('left')!.text;
    const info = new Definition(name, 'class', statement, comments);
    this.definitions.push(info);
    this.within({ definitionTime: info }, () => this.expression(assignment.childForFieldName('right')));
    this.bind(name, this.scope, 'definition');
  }

  private functionDefinition(node: SyntaxNode, topLevel?: Definition): void {
    const parameters = this.parameters(node.childForFieldName('parameters'));
    if (topLevel) topLevel.parameters = parameters;
    this.annotation(node.childForFieldName('return_type'));
    const name = node.childForFieldName('name')!.text;
    this.bind(name, this.scope, topLevel ? 'definition' : 'value');
    const isMethod = this.scope.kind === 'class' && this.ctx.owner?.kind === 'class' && parameters.length > 0;
    this.functionScope(parameters, node.childForFieldName('body'), topLevel, (body) => this.block(body), isMethod ? name : undefined);
  }

  private lambda(node: SyntaxNode): void {
    const parameters = this.parameters(node.childForFieldName('parameters'));
    this.functionScope(parameters, node.childForFieldName('body'), undefined, (body) => this.expression(body));
  }

  /** Two passes over a function body: bindings (which make names local) first, then reads. */
  private functionScope(parameters: string[], body: SyntaxNode | null, topLevel: Definition | undefined, walk: (body: SyntaxNode | null) => void, method?: string): void {
    if (this.ctx.collecting) return;
    const scope = new Scope('function', this.scope);
    for (const parameter of parameters) scope.locals.add(parameter);
    if (topLevel) topLevel.scope = scope;
    const owner = topLevel ?? this.ctx.owner;
    const context: Partial<Context> = { scope, owner, definitionTime: undefined, deferred: owner === undefined };
    if (method) context.method = { name: method, self: parameters[0], scope };
    this.within({ ...context, collecting: true }, () => walk(body));
    this.within({ ...context, collecting: false }, () => walk(body));
  }

  /** Reads defaults and annotations (evaluated at definition time) and returns the parameter names. */
  private parameters(node: SyntaxNode | null): string[] {
    const names: string[] = [];
    for (const parameter of node?.namedChildren ?? []) {
      const value = parameter.childForFieldName('value');
      if (value) this.expression(value);
      this.annotation(parameter.childForFieldName('type'));
      const name = parameter.childForFieldName('name') ?? parameter;
      names.push(...identifiersIn(name));
    }
    return names;
  }

  private annotation(node: SyntaxNode | null): void {
    if (node && !this.futureAnnotations) this.expression(node);
  }

  private classDefinition(node: SyntaxNode, topLevel?: Definition): void {
    const superclasses = node.childForFieldName('superclasses');
    if (superclasses) this.expression(superclasses);
    const name = node.childForFieldName('name')!.text;
    if (!this.ctx.collecting) {
      const scope = new Scope('class', this.scope);
      const owner = topLevel ?? this.ctx.owner;
      this.within({ scope, owner, definitionTime: undefined }, () => this.block(node.childForFieldName('body')));
    }
    this.bind(name, this.scope, topLevel ? 'definition' : 'value');
  }

  // ---- targets ----------------------------------------------------------------------------

  private target(node: SyntaxNode | null): void {
    if (!node) return;
    if (IDENTIFIERS.has(node.type)) return this.bind(node.text);
    if (SEQUENCE_TARGETS.has(node.type)) {
      for (const child of node.namedChildren) this.target(child);
      return;
    }
    // The object is read (and changed); the attribute name is not a variable.
    this.expression(node);
    if (node.type === 'attribute' || node.type === 'subscript') this.mutation(node);
  }

  private deleteTarget(node: SyntaxNode): void {
    if (IDENTIFIERS.has(node.type)) {
      this.read(node);
      this.bind(node.text);
      if (this.scope.kind === 'module' && !this.ctx.deferred) {
        this.defines.delete(node.text);
        this.deletes.add(node.text);
      }
      return;
    }
    if (SEQUENCE_TARGETS.has(node.type)) {
      for (const child of node.namedChildren) this.deleteTarget(child);
      return;
    }
    this.target(node);
  }

  // ---- expressions ------------------------------------------------------------------------

  private expression(node: SyntaxNode | null): void {
    if (!node) return;
    switch (node.type) {
      case 'identifier':
      case 'keyword_identifier':
        return this.read(node);
      case 'attribute':
        return this.expression(node.childForFieldName('object'));
      case 'keyword_argument':
        return this.expression(node.childForFieldName('value'));
      case 'call':
        return this.call(node);
      case 'assignment':
        return this.assignment(node);
      case 'augmented_assignment': {
        const left = node.childForFieldName('left');
        this.expression(left);
        this.expression(node.childForFieldName('right'));
        if (left && IDENTIFIERS.has(left.type)) this.bind(left.text);
        else this.mutation(left);
        return;
      }
      case 'named_expression':
        this.expression(node.childForFieldName('value'));
        return this.bind(node.childForFieldName('name')!.text, this.scope.walrusTarget);
      case 'lambda':
        return this.lambda(node);
      case 'list_comprehension':
      case 'set_comprehension':
      case 'dictionary_comprehension':
      case 'generator_expression':
        return this.comprehension(node);
      case 'await':
        this.topLevelAwait(node);
        return this.children(node);
      case 'comment':
        return;
      default:
        return this.children(node);
    }
  }

  /** IPython runs top-level `await` on an event loop; the code that holds one must run on one too. */
  private topLevelAwait(_node: SyntaxNode): void {
    if (this.ctx.collecting || this.ctx.owner || this.ctx.deferred || !this.scope.runsAtModuleLevel) return;
    this.awaits = true;
  }

  private children(node: SyntaxNode): void {
    for (const child of node.namedChildren) this.expression(child);
  }

  private assignment(node: SyntaxNode): void {
    const right = node.childForFieldName('right');
    this.expression(right);
    const left = node.childForFieldName('left');
    const annotation = node.childForFieldName('type');
    // Annotations of module and class variables are evaluated; those of function locals are not.
    if (annotation && this.scope.kind !== 'function') this.annotation(annotation);
    const bare = node.childForFieldName('right') === null;
    // `x: int` binds nothing, except that it makes `x` local to a function.
    if (bare && this.scope.kind !== 'function') {
      if (left && !IDENTIFIERS.has(left.type)) this.expression(left);
      return;
    }
    // `part = received["key"]` (no call: a call may return a copy) shares the received value.
    const roots = right && !containsCall(right) ? this.receivedRoots(right) : [];
    this.target(left);
    if (left && IDENTIFIERS.has(left.type)) this.alias(left, roots);
  }

  private call(node: SyntaxNode): void {
    const callee = node.childForFieldName('function');
    const args = node.childForFieldName('arguments');
    if (callee?.text === 'globals' && !this.ctx.collecting && !this.ctx.owner && this.scope.resolve('globals') === 'module' && !this.module.locals.has('globals')) {
      this.readsNamespace = true;
    }
    this.expression(callee);
    if (args) this.expression(args);
    if (this.ctx.collecting) return;
    const positional = args?.namedChildren.filter((arg) => arg.type !== 'keyword_argument' && arg.type !== 'comment') ?? [];
    const inPlace = args?.namedChildren.some(
      (arg) => arg.type === 'keyword_argument' && arg.childForFieldName('name')?.text === 'inplace' && arg.childForFieldName('value')?.type !== 'false',
    );
    const method = callee?.type === 'attribute' ? callee.childForFieldName('attribute')?.text : undefined;
    const calleeName = method ?? (callee && IDENTIFIERS.has(callee.type) ? callee.text : undefined);
    if (callee?.type === 'attribute' && (inPlace || (method && isInPlaceMethodName(method)))) {
      this.mutation(callee.childForFieldName('object'));
    } else if (callee?.type === 'attribute' && method) {
      this.methodCall(callee.childForFieldName('object'), method);
    }
    if ((inPlace || (calleeName && ARGUMENT_MUTATORS.has(calleeName))) && positional[0]) this.mutation(positional[0]);
    for (const written of outArguments(args)) this.mutation(written);
    if (callee && IDENTIFIERS.has(callee.type) && this.scope.resolve(callee.text) === 'module') {
      this.callSite(callee.text, positional, args);
      // Only the notebook's own functions can be the serving function: builtins' calls say nothing.
      const shapes = PYTHON_BUILTINS.has(callee.text) ? undefined : argumentShapes(args);
      if (shapes && hasLiteralShape(shapes)) this.literalCalls.push({ callee: callee.text, line: this.locate(node).line, ...shapes });
    }
  }

  /**
   * A method the mutating-method list does not know may be a notebook class's that changes its
   * instance: recorded on `self` inside a method, on received values at top level; the planner decides.
   */
  private methodCall(receiver: SyntaxNode | null, method: string): void {
    const { owner } = this.ctx;
    if (owner && receiver && IDENTIFIERS.has(receiver.type) && this.isSelf(receiver.text)) {
      owner.selfCalls.push([this.ctx.method!.name, method]);
      return;
    }
    if (owner || this.ctx.deferred || !this.scope.runsAtModuleLevel) return;
    const receivers = this.receivedRoots(receiver);
    if (receivers.length) this.methodCalls.push({ method, receivers });
  }

  /**
   * A call of a plain name, recorded with what each argument is: received values at top level,
   * the caller's own parameters inside a definition (its effects pass through to its callers).
   */
  private callSite(callee: string, positional: SyntaxNode[], args: SyntaxNode | null): void {
    const { owner } = this.ctx;
    let roots: (arg: SyntaxNode) => string[];
    if (owner) {
      roots = (arg) => {
        const name = rootName(arg)?.text;
        return name && owner.parameters.includes(name) && this.bindingScope(name) === owner.scope ? [name] : [];
      };
    } else if (!this.ctx.deferred && this.scope.runsAtModuleLevel) {
      roots = (arg) => this.receivedRoots(arg);
    } else return;
    const keywords: Record<string, string[]> = {};
    for (const arg of args?.namedChildren ?? []) {
      const name = arg.type === 'keyword_argument' ? arg.childForFieldName('name')?.text : undefined;
      const value = arg.childForFieldName('value');
      if (name && value) keywords[name] = roots(value);
    }
    (owner ? owner.calls : this.calls).push({ callee, positional: positional.map(roots), keywords });
  }

  /**
   * The first iterable is evaluated in the enclosing scope; targets bind in the comprehension's
   * own scope; the element expression is evaluated last, per item.
   */
  private comprehension(node: SyntaxNode): void {
    const clauses = node.namedChildren.filter((child) => child.type === 'for_in_clause' || child.type === 'if_clause');
    const first = clauses[0];
    if (first?.type === 'for_in_clause') this.expression(first.childForFieldName('right'));
    const scope = new Scope('comprehension', this.scope);
    this.within({ scope }, () => {
      for (const clause of clauses) {
        if (clause.type === 'for_in_clause') {
          if (clause !== first) this.expression(clause.childForFieldName('right'));
          this.target(clause.childForFieldName('left'));
        } else this.children(clause);
      }
      this.expression(node.childForFieldName('body'));
    });
  }

  // ---- match ------------------------------------------------------------------------------

  private matchStatement(node: SyntaxNode): void {
    for (const subject of node.childrenForFieldName('subject')) this.expression(subject);
    const body = node.childForFieldName('body');
    for (const clause of body?.namedChildren ?? []) {
      if (clause.type !== 'case_clause') continue;
      for (const child of clause.namedChildren) {
        if (child.type === 'case_pattern') this.pattern(child);
        else if (child.type === 'if_clause') this.children(child);
        else if (child.type === 'block') this.block(child);
      }
    }
  }

  /** Capture names bind; dotted names and class names are read; literals are just values. */
  private pattern(node: SyntaxNode): void {
    switch (node.type) {
      case 'dotted_name': {
        const parts = node.namedChildren;
        if (parts.length === 1 && parts[0].text !== '_') this.bind(parts[0].text);
        else if (parts.length > 1) this.read(parts[0]);
        return;
      }
      case 'identifier':
        if (node.text !== '_') this.bind(node.text);
        return;
      case 'class_pattern': {
        const [cls, ...rest] = node.namedChildren;
        if (cls) this.read(cls.namedChildren[0] ?? cls);
        for (const child of rest) this.pattern(child);
        return;
      }
      case 'keyword_pattern':
        for (const child of node.namedChildren.slice(1)) this.pattern(child);
        return;
      case 'string':
      case 'concatenated_string':
      case 'integer':
      case 'float':
      case 'true':
      case 'false':
      case 'none':
      case 'unary_operator':
      case 'binary_operator':
      case 'complex_pattern':
        return this.expression(node);
      default:
        for (const child of node.namedChildren) this.pattern(child);
    }
  }
}

/** The name whose value an attribute/subscript/call chain starts from (`df` in `df.loc[0].x`). */
function rootName(node: SyntaxNode | null): SyntaxNode | undefined {
  let current = node;
  while (current) {
    if (IDENTIFIERS.has(current.type)) return current;
    if (current.type === 'attribute') current = current.childForFieldName('object');
    else if (current.type === 'subscript') current = current.childForFieldName('value');
    else if (current.type === 'call') current = current.childForFieldName('function');
    else if (current.type === 'parenthesized_expression') current = current.namedChildren[0] ?? null;
    else return undefined;
  }
  return undefined;
}

/** Builtins whose result holds the very elements of their arguments. */
const ELEMENT_PRESERVING = new Set(['enumerate', 'zip', 'reversed', 'iter', 'sorted', 'list', 'tuple']);

function containsCall(node: SyntaxNode): boolean {
  return node.type === 'call' || node.namedChildren.some(containsCall);
}

function identifiersIn(node: SyntaxNode): string[] {
  if (IDENTIFIERS.has(node.type)) return [node.text];
  return node.namedChildren.flatMap((child) => (child.type === 'type' ? [] : identifiersIn(child)));
}

/** Handlers that mean "the import may fail": ImportError, ModuleNotFoundError, a broader class, or a bare except. */
const IMPORT_FAILURES = new Set(['ImportError', 'ModuleNotFoundError', 'Exception', 'BaseException']);

/**
 * Decorators known to only wrap or describe what they decorate (the standard library's, numba's):
 * running them again in another module changes nothing else.
 */
const WRAPPER_DECORATORS = new Set([
  'property', 'staticmethod', 'classmethod', 'dataclass', 'wraps', 'lru_cache', 'cache', 'cached_property',
  'total_ordering', 'singledispatch', 'singledispatchmethod', 'contextmanager', 'asynccontextmanager',
  'abstractmethod', 'overload', 'final', 'override', 'runtime_checkable', 'no_type_check', 'unique',
  'jit', 'njit', 'vectorize', 'guvectorize',
]);

function decoratorExpression(decorator: SyntaxNode): SyntaxNode | null {
  return decorator.namedChildren.find((child) => child.type !== 'comment') ?? null;
}

/** `@functools.lru_cache(maxsize=2)` ends with `lru_cache`, a wrapper. */
function isWrapperDecorator(decorator: SyntaxNode): boolean {
  let expression = decoratorExpression(decorator);
  if (expression?.type === 'call') expression = expression.childForFieldName('function');
  const name = expression?.type === 'attribute' ? expression.childForFieldName('attribute')?.text : expression?.text;
  return name !== undefined && WRAPPER_DECORATORS.has(name);
}

/** Calls that make a class from a name and fields (the functional forms of class statements). */
const CLASS_FACTORIES = new Set(['namedtuple', 'NamedTuple', 'TypedDict', 'make_dataclass', 'Enum', 'IntEnum', 'StrEnum', 'Flag', 'IntFlag']);

/** `Name = factory("Name", ...)` alone in its statement: the assignment, else undefined. */
function classFactoryAssignment(statement: SyntaxNode): SyntaxNode | undefined {
  if (statement.type !== 'expression_statement' || statement.namedChildCount !== 1) return undefined;
  const assignment = statement.namedChildren[0];
  const left = assignment.type === 'assignment' ? assignment.childForFieldName('left') : null;
  const right = assignment.childForFieldName('right');
  if (!left || !IDENTIFIERS.has(left.type) || right?.type !== 'call' || assignment.childForFieldName('type')) return undefined;
  const callee = right.childForFieldName('function');
  const factory = callee?.type === 'attribute' ? callee.childForFieldName('attribute')?.text : callee?.text;
  const first = right.childForFieldName('arguments')?.namedChildren.find((arg) => arg.type !== 'comment');
  if (!factory || !CLASS_FACTORIES.has(factory) || first?.type !== 'string') return undefined;
  return literalValue(first)?.value === left.text ? assignment : undefined;
}

/** Handlers that catch a name being undefined (UnboundLocalError, inside a step function, is one too). */
const NAME_ERRORS = new Set(['NameError', 'Exception', 'BaseException']);

/** A handler of the `try` catches one of `errors`, a broader class, or everything (bare `except:`). */
function catchesAny(node: SyntaxNode, errors: Set<string>): boolean {
  const handlers = node.namedChildren.filter((child) => child.type === 'except_clause');
  return handlers.some((handler) => {
    const caught = handler.namedChildren.filter((child) => child.type !== 'block' && child.type !== 'comment');
    if (caught.length === 0) return true;
    return caught.some((c) => c.descendantsOfType('identifier').some((id) => errors.has(id.text)) || errors.has(c.text));
  });
}

/** Modules a `try` imports in its body when a handler catches the import failing (the handler is the fallback). */
function optionalModules(node: SyntaxNode): string[] {
  if (node.type !== 'try_statement') return [];
  const handlers = node.namedChildren.filter((child) => child.type === 'except_clause');
  const body = node.childForFieldName('body');
  if (!catchesAny(node, IMPORT_FAILURES) || !body) return [];
  const required = new Set(handlers.flatMap((h) => h.descendantsOfType([...IMPORT_STATEMENTS]).flatMap((s) => importedNames(s).modules)));
  const modules = body.descendantsOfType([...IMPORT_STATEMENTS]).flatMap((s) => importedNames(s).modules);
  return [...new Set(modules)].filter((m) => !required.has(m));
}

/**
 * A top-level `try` whose body only imports (the handlers provide fallbacks), or an `if` whose
 * branches only import: the whole statement is the import.
 */
function isImportBlock(node: SyntaxNode): boolean {
  if (node.type !== 'try_statement' && node.type !== 'if_statement') return false;
  if (!node.descendantsOfType([...IMPORT_STATEMENTS]).length) return false;
  if (node.type === 'try_statement') return onlyImports(node.childForFieldName('body'));
  const branches = [node.childForFieldName('consequence'), ...node.childrenForFieldName('alternative').map((clause) => clause.childForFieldName('consequence') ?? clause.childForFieldName('body'))];
  return branches.every(onlyImports);
}

function onlyImports(block: SyntaxNode | null): boolean {
  if (!block) return true;
  return block.namedChildren.every((statement) => {
    if (IMPORT_STATEMENTS.has(statement.type) || statement.type === 'pass_statement' || statement.type === 'comment') return true;
    if (statement.type === 'expression_statement') {
      const assignment = statement.namedChildren[0];
      return assignment?.type === 'assignment' && literalValue(assignment.childForFieldName('right') ?? assignment) !== undefined;
    }
    return isImportBlock(statement);
  });
}

/** `async for` / `async with`: the tree copy keeps no keyword tokens, but the statement starts with it. */
function isAsync(node: SyntaxNode): boolean {
  return /^async\b/.test(node.text);
}

/** numpy writes its result into the `out=` argument (`np.clip(a, 0, 1, out=a)`); `out=(a, b)` into each. */
function outArguments(args: SyntaxNode | null): SyntaxNode[] {
  const out = args?.namedChildren.find((arg) => arg.type === 'keyword_argument' && arg.childForFieldName('name')?.text === 'out');
  const value = out?.childForFieldName('value');
  if (!value) return [];
  const inner = value.type === 'parenthesized_expression' ? value.namedChildren[0] : value;
  return inner && (inner.type === 'tuple' || inner.type === 'list') ? inner.namedChildren : inner ? [inner] : [];
}
