/**
 * Resolves every identifier of a cell against JavaScript's scoping rules (block scope, `var`
 * and function hoisting, closures, shadowing, TDZ) to find what the cell needs from earlier
 * cells, what it binds, and which received values it changes in place.
 *
 * Timing matters at the cell's top level: a read that runs before the cell's own
 * declaration (`console.log(x); let x = 1`, or `let x = x + 1`) reads the value an earlier
 * cell left, so it is a use. A read inside a function body runs later, when the whole cell
 * has bound its names, so it resolves to the cell's own binding wherever that is declared.
 */
import { ts } from 'ts-morph';
import type { CallSite, DefinitionEffects, NameRef } from '../types';
import { JS_GLOBALS } from './globals';
import { mutatedByCall } from './mutation';
import { type Definition as StatementDefinition, definitionFunction, definitionName } from './statements';
import {
  boundIdentifiers,
  FunctionLikeWithBody,
  hasModifier,
  isAssignmentOperator,
  isFunctionWithBody,
  isLexical,
  isReference,
  isTypeOnly,
  lexicalNames,
  rootIdentifier,
  varDeclarations,
} from './syntax';

/** A nested (function or block) scope; the cell's top level is `ModuleScope`, outside the chain. */
interface Scope {
  parent?: Scope;
  names: Set<string>;
  /** Names bound to (part of) a value from outside: `for (const row of rows)`, `const cfg = config.db`. */
  aliases?: Map<string, Origin[]>;
}

/**
 * Where a value comes from, as far as changing it in place goes: a received value (at the
 * cell's top level), or inside a definition one of its parameters or a module-level name.
 */
interface Origin {
  name: string;
  parameter: boolean;
}

/** Methods that put their arguments into the receiver: it then holds those values. */
const STORING_METHODS = new Set(['push', 'unshift', 'add', 'set', 'splice']);

/** Array methods whose callback receives the array's elements, and at which parameter. */
const ELEMENT_CALLBACKS = new Map<string, number>([
  ...['forEach', 'map', 'filter', 'find', 'findIndex', 'findLast', 'findLastIndex', 'some', 'every', 'flatMap'].map((m) => [m, 0] as const),
  ['reduce', 1],
  ['reduceRight', 1],
]);

interface ModuleBinding {
  /** Source position from which the cell's own value is in place (0: imports and hoisted definitions). */
  available: number;
}

interface Definition {
  name: string;
  node: ts.Node;
  globals: Map<string, NameRef>;
  /** The function's positional parameters ('' for a destructured one) and the scope that binds them. */
  parameters: string[];
  parameterScope?: Scope;
  mutatesParameters: Set<string>;
  writesGlobals: Set<string>;
  mutatesGlobals: Set<string>;
  calls: CallSite[];
}

interface Context {
  /** Code that runs later (function bodies): the cell has bound all its names by then. */
  deferred: boolean;
  /** The top-level function or class being walked; its free names are its globals. */
  definition?: Definition;
}

export interface CellScopes {
  uses: NameRef[];
  defines: string[];
  mutates: string[];
  /** Free names each top-level definition reads, keyed by the declaration node. */
  globals: Map<ts.Node, NameRef[]>;
  /** What calling each top-level function changes beyond its result, keyed by the declaration node. */
  effects: Map<ts.Node, DefinitionEffects>;
  /** Calls of plain names the cell makes as it runs, with the received values each argument is. */
  calls: CallSite[];
  /** Module-level names a definition assigns (`function reset() { count = 0 }`). */
  globalWrites: string[];
  /** Type syntax in a JavaScript cell (a syntax error node would report). */
  typeSyntax: ts.Node[];
}

export interface CellShape {
  /** Top-level statements moved to imports (ESM, `require`, dynamic import) with the names they bind. */
  imports: Map<ts.Statement, string[]>;
  /** Top-level function and class declarations moved to the shared module. */
  definitions: Set<ts.Statement>;
}

export function resolveScopes(sf: ts.SourceFile, shape: CellShape, javascript: boolean): CellScopes {
  return new ScopeWalker(sf, javascript).walk(shape);
}

class ScopeWalker {
  private readonly module = new Map<string, ModuleBinding>();
  private readonly uses = new Map<string, NameRef>();
  private readonly defines: { name: string; pos: number }[] = [];
  private readonly mutates = new Set<string>();
  private readonly globalWrites = new Set<string>();
  private readonly typeSyntax: ts.Node[] = [];
  private readonly moduleAliases = new Map<string, Origin[]>();
  /** Callbacks whose parameters are elements of a value from outside, found at the call that passes them. */
  private readonly callbackAliases = new Map<ts.Node, Map<string, Origin[]>>();
  private readonly calls: CallSite[] = [];

  constructor(
    private readonly sf: ts.SourceFile,
    private readonly javascript: boolean,
  ) {}

  walk(shape: CellShape): CellScopes {
    this.declareTopLevel(shape);
    const globals = new Map<ts.Node, NameRef[]>();
    const effects = new Map<ts.Node, DefinitionEffects>();
    for (const statement of this.sf.statements) {
      if (shape.imports.has(statement)) continue;
      if (shape.definitions.has(statement)) {
        const definition = newDefinition(statement as StatementDefinition);
        this.visit(statement, undefined, { deferred: true, definition });
        globals.set(statement, [...definition.globals.values()]);
        if (definitionFunction(statement as StatementDefinition)) effects.set(statement, effectsOf(definition));
      } else {
        this.visit(statement, undefined, { deferred: false });
      }
    }
    const defines = this.defines.sort((a, b) => a.pos - b.pos).map((d) => d.name);
    return {
      uses: [...this.uses.values()],
      defines: [...new Set(defines)],
      mutates: [...this.mutates],
      globals,
      effects,
      calls: this.calls,
      globalWrites: [...this.globalWrites],
      typeSyntax: this.typeSyntax,
    };
  }

  /** Binds the cell's top-level names, each from the point where the cell's own value exists. */
  private declareTopLevel(shape: CellShape): void {
    for (const names of shape.imports.values()) for (const name of names) this.module.set(name, { available: 0 });
    for (const d of shape.definitions) {
      const name = definitionName(d as StatementDefinition).text;
      this.module.set(name, { available: 0 });
    }
    const declare = (id: ts.Identifier, available: number) => {
      if (!this.module.has(id.text)) this.module.set(id.text, { available });
      this.defines.push({ name: id.text, pos: id.getStart(this.sf) });
    };
    const topLevel = this.sf.statements.filter((s) => !shape.imports.has(s) && !shape.definitions.has(s));
    for (const statement of topLevel) {
      if (isTypeOnly(statement)) continue;
      if (ts.isVariableStatement(statement) && isLexical(statement.declarationList)) {
        for (const d of statement.declarationList.declarations) for (const id of boundIdentifiers(d.name)) declare(id, d.end);
      } else if (ts.isEnumDeclaration(statement) || (ts.isModuleDeclaration(statement) && ts.isIdentifier(statement.name))) {
        declare(statement.name as ts.Identifier, statement.end);
      } else if ((ts.isClassDeclaration(statement) || ts.isFunctionDeclaration(statement)) && statement.name) {
        // Not moved to the shared module (e.g. `export default class X`): stays in the step body.
        declare(statement.name, ts.isFunctionDeclaration(statement) ? 0 : statement.end);
      }
    }
    // `var` anywhere outside functions (in blocks, loops, `if`) binds at the cell's top level.
    for (const statement of topLevel) {
      if (ts.isFunctionLike(statement) || ts.isClassLike(statement)) continue;
      for (const d of varDeclarations(statement)) for (const id of boundIdentifiers(d.name)) declare(id, d.end);
    }
  }

  private visit(node: ts.Node, scope: Scope | undefined, ctx: Context): void {
    if (isTypeOnly(node)) {
      if (this.javascript) this.typeSyntax.push(node);
      return;
    }
    if (ts.isIdentifier(node)) {
      if (isReference(node)) this.read(node, scope, ctx);
      return;
    }
    if (isFunctionWithBody(node)) return this.visitFunction(node, scope, ctx);
    if (ts.isClassLike(node)) return this.visitClass(node, scope, ctx);
    if (ts.isBlock(node) || ts.isModuleBlock(node)) return this.visitChildren(node, blockScope(node.statements, scope), ctx);
    if (ts.isCaseBlock(node)) {
      return this.visitChildren(node, blockScope(node.clauses.flatMap((c) => [...c.statements]), scope), ctx);
    }
    if (ts.isCatchClause(node)) {
      const names = node.variableDeclaration ? boundIdentifiers(node.variableDeclaration.name) : [];
      return this.visitChildren(node, newScope(names, scope), ctx);
    }
    if (ts.isForStatement(node) || ts.isForInStatement(node) || ts.isForOfStatement(node)) {
      return this.visitLoop(node, scope, ctx);
    }
    if (ts.isEnumDeclaration(node)) {
      return this.visitChildren(node, newScope(node.members.map((m) => m.name).filter(ts.isIdentifier), scope), ctx);
    }
    if (ts.isBinaryExpression(node) && isAssignmentOperator(node.operatorToken.kind)) {
      this.assign(node.left, node.operatorToken.kind !== ts.SyntaxKind.EqualsToken, scope, ctx);
      if (!ts.isIdentifier(node.left)) this.store(node.left, [node.right], scope, ctx);
      return this.visit(node.right, scope, ctx);
    }
    if ((ts.isPrefixUnaryExpression(node) || ts.isPostfixUnaryExpression(node)) && isIncrement(node.operator)) {
      return this.assign(node.operand, true, scope, ctx);
    }
    if (ts.isDeleteExpression(node)) this.mutate(node.expression, scope, ctx);
    if (ts.isCallExpression(node)) {
      const target = mutatedByCall(node);
      if (target) this.mutate(target, scope, ctx);
      this.noteElementCallback(node, scope, ctx);
      this.callSite(node, scope, ctx);
      const callee = node.expression;
      if (ts.isPropertyAccessExpression(callee) && STORING_METHODS.has(callee.name.text)) this.store(callee.expression, node.arguments, scope, ctx);
    }
    if (ts.isVariableDeclaration(node) && node.initializer) this.alias(node, scope, ctx);
    this.visitChildren(node, scope, ctx);
  }

  private visitChildren(node: ts.Node, scope: Scope | undefined, ctx: Context): void {
    ts.forEachChild(node, (child) => this.visit(child, scope, ctx));
  }

  private visitFunction(fn: FunctionLikeWithBody, outer: Scope | undefined, ctx: Context): void {
    // Decorators and computed names run where the function is defined; parameters and body when it is called.
    for (const d of ts.canHaveDecorators(fn) ? (ts.getDecorators(fn) ?? []) : []) this.visit(d, outer, ctx);
    if (fn.name && ts.isComputedPropertyName(fn.name)) this.visit(fn.name, outer, ctx);
    let scope = outer;
    if (ts.isFunctionExpression(fn) && fn.name) scope = newScope([fn.name], scope);
    const names = fn.parameters.flatMap((p) => boundIdentifiers(p.name));
    const body = fn.body!;
    if (ts.isBlock(body)) names.push(...varDeclarations(body).flatMap((d) => boundIdentifiers(d.name)), ...lexicalNames(body.statements));
    scope = newScope(names, scope);
    scope.aliases = this.callbackAliases.get(fn);
    if (ctx.definition?.node === fn) ctx.definition.parameterScope = scope;
    if (!ts.isArrowFunction(fn)) scope.names.add('arguments');
    const inner: Context = { deferred: true, definition: ctx.definition };
    for (const p of fn.parameters) this.visit(p, scope, inner);
    // The body's own block scope is the function scope built above.
    if (ts.isBlock(body)) this.visitChildren(body, scope, inner);
    else this.visit(body, scope, inner);
  }

  private visitClass(cls: ts.ClassLikeDeclaration, outer: Scope | undefined, ctx: Context): void {
    for (const d of ts.getDecorators(cls) ?? []) this.visit(d, outer, ctx);
    for (const clause of cls.heritageClauses ?? []) this.visit(clause, outer, ctx);
    const scope = ts.isClassExpression(cls) && cls.name ? newScope([cls.name], outer) : outer;
    for (const member of cls.members) {
      if (isTypeOnly(member)) continue;
      if (isFunctionWithBody(member)) {
        this.visit(member, scope, ctx);
      } else if (ts.isPropertyDeclaration(member)) {
        for (const d of ts.getDecorators(member) ?? []) this.visit(d, scope, ctx);
        if (ts.isComputedPropertyName(member.name)) this.visit(member.name, scope, ctx);
        // Static initializers run when the class is defined; instance ones at each `new`.
        const isStatic = hasModifier(member, ts.SyntaxKind.StaticKeyword);
        if (member.initializer) this.visit(member.initializer, scope, isStatic ? ctx : { ...ctx, deferred: true });
      } else if (ts.isClassStaticBlockDeclaration(member)) {
        this.visit(member.body, scope, ctx);
      }
    }
  }

  private visitLoop(loop: ts.ForStatement | ts.ForInStatement | ts.ForOfStatement, outer: Scope | undefined, ctx: Context): void {
    const init = loop.initializer;
    let scope = outer;
    if (init && ts.isVariableDeclarationList(init) && isLexical(init)) {
      scope = newScope(init.declarations.flatMap((d) => boundIdentifiers(d.name)), outer);
      // `for (const row of rows)`: each row is part of rows.
      if (ts.isForOfStatement(loop)) this.bindAliases(init.declarations[0].name, this.origins(loop.expression, outer, ctx), scope);
    }
    if (init && !ts.isVariableDeclarationList(init) && !ts.isForStatement(loop)) {
      this.assign(init, false, scope, ctx); // `for (x of xs)` assigns x
      this.visit(loop.expression, scope, ctx);
      return this.visit(loop.statement, scope, ctx);
    }
    this.visitChildren(loop, scope, ctx);
  }

  /** An assignment target: a name (re)bound, a member written (mutation), or a destructuring pattern of those. */
  private assign(target: ts.Expression, compound: boolean, scope: Scope | undefined, ctx: Context): void {
    if (ts.isParenthesizedExpression(target) || ts.isNonNullExpression(target) || ts.isAsExpression(target) || ts.isSatisfiesExpression(target)) {
      return this.assign(target.expression, compound, scope, ctx);
    }
    if (ts.isIdentifier(target)) {
      if (compound) this.read(target, scope, ctx);
      return this.write(target, scope, ctx);
    }
    if (ts.isArrayLiteralExpression(target)) {
      for (const el of target.elements) {
        if (ts.isSpreadElement(el)) this.assign(el.expression, false, scope, ctx);
        else if (ts.isBinaryExpression(el) && el.operatorToken.kind === ts.SyntaxKind.EqualsToken) {
          this.assign(el.left, false, scope, ctx);
          this.visit(el.right, scope, ctx);
        } else if (!ts.isOmittedExpression(el)) this.assign(el, false, scope, ctx);
      }
      return;
    }
    if (ts.isObjectLiteralExpression(target)) {
      for (const prop of target.properties) {
        if (ts.isShorthandPropertyAssignment(prop)) {
          this.write(prop.name, scope, ctx);
          if (prop.objectAssignmentInitializer) this.visit(prop.objectAssignmentInitializer, scope, ctx);
        } else if (ts.isSpreadAssignment(prop)) {
          this.assign(prop.expression, false, scope, ctx);
        } else if (ts.isPropertyAssignment(prop)) {
          if (ts.isComputedPropertyName(prop.name)) this.visit(prop.name, scope, ctx);
          const value = prop.initializer;
          if (ts.isBinaryExpression(value) && value.operatorToken.kind === ts.SyntaxKind.EqualsToken) {
            this.assign(value.left, false, scope, ctx);
            this.visit(value.right, scope, ctx);
          } else this.assign(value, false, scope, ctx);
        }
      }
      return;
    }
    // `a.b = v`, `a[i] += v`: the object is read and changed in place.
    this.mutate(target, scope, ctx);
    this.visit(target, scope, ctx);
  }

  private read(id: ts.Identifier, scope: Scope | undefined, ctx: Context): void {
    const binding = resolve(id.text, scope, this.module);
    if (binding === 'local') return;
    if (ctx.definition) {
      if (id.text !== ctx.definition.name && (binding || !JS_GLOBALS.has(id.text))) addRef(ctx.definition.globals, this.ref(id));
      return;
    }
    if (binding) {
      if (!ctx.deferred && id.getStart(this.sf) < binding.available) addRef(this.uses, this.ref(id));
      return;
    }
    if (!JS_GLOBALS.has(id.text)) addRef(this.uses, this.ref(id));
  }

  private write(id: ts.Identifier, scope: Scope | undefined, ctx: Context): void {
    const binding = resolve(id.text, scope, this.module);
    if (binding === 'local') return;
    if (ctx.definition) {
      this.globalWrites.add(id.text);
      ctx.definition.writesGlobals.add(id.text);
      return;
    }
    if (binding || JS_GLOBALS.has(id.text)) return;
    // Assigning a name no declaration in this cell binds rebinds an earlier cell's variable:
    // the step must receive it (a `let` to assign) and hands the new value on.
    addRef(this.uses, this.ref(id));
    this.defines.push({ name: id.text, pos: id.getStart(this.sf) });
  }

  private mutate(target: ts.Expression, scope: Scope | undefined, ctx: Context): void {
    for (const origin of this.origins(target, scope, ctx)) {
      if (!ctx.definition) this.mutates.add(origin.name);
      else (origin.parameter ? ctx.definition.mutatesParameters : ctx.definition.mutatesGlobals).add(origin.name);
    }
  }

  /**
   * The values from outside that an expression is (part of), through member access and calls
   * that share elements (see rootIdentifier). At top level a received value; in a definition a
   * parameter or a module name.
   */
  private origins(expr: ts.Expression, scope: Scope | undefined, ctx: Context): Origin[] {
    const root = rootIdentifier(expr);
    if (!root) return [];
    const name = root.text;
    const owner = bindingScope(name, scope);
    if (owner) {
      const aliased = owner.aliases?.get(name);
      if (aliased) return aliased;
      const definition = ctx.definition;
      return definition && owner === definition.parameterScope && definition.parameters.includes(name) ? [{ name, parameter: true }] : [];
    }
    const binding = this.module.get(name);
    if (ctx.definition) return name !== ctx.definition.name && (binding || !JS_GLOBALS.has(name)) ? [{ name, parameter: false }] : [];
    if (!binding) return JS_GLOBALS.has(name) ? [] : [{ name, parameter: false }];
    const aliased = this.moduleAliases.get(name);
    if (aliased) return aliased;
    return !ctx.deferred && root.getStart(this.sf) < binding.available ? [{ name, parameter: false }] : [];
  }

  /** `const cfg = config` shares config: changing cfg in place changes it. */
  private alias(declaration: ts.VariableDeclaration, scope: Scope | undefined, ctx: Context): void {
    this.bindAliases(declaration.name, this.origins(declaration.initializer!, scope, ctx), scope);
  }

  private bindAliases(name: ts.BindingName, origins: Origin[], scope: Scope | undefined): void {
    if (!origins.length) return;
    for (const id of boundIdentifiers(name)) {
      const owner = bindingScope(id.text, scope);
      if (owner) (owner.aliases ??= new Map()).set(id.text, origins);
      else this.moduleAliases.set(id.text, origins);
    }
  }

  /**
   * `groups[key].push(row)`, `index[id] = row`: a container of the cell's own now holds values
   * from outside, so changing what it holds changes them (`groups.a.forEach((r) => r.x = 1)`).
   */
  private store(container: ts.Expression, values: readonly ts.Expression[], scope: Scope | undefined, ctx: Context): void {
    const root = rootIdentifier(container);
    // A named property (`rows.length`, `u.id`) is most often a plain value, not an element.
    const stored = values
      .map((v) => (ts.isSpreadElement(v) ? v.expression : v))
      .filter((v) => !ts.isPropertyAccessExpression(v))
      .flatMap((v) => this.origins(v, scope, ctx));
    if (!root || !stored.length) return;
    const owner = bindingScope(root.text, scope);
    const aliases = owner ? (owner.aliases ??= new Map<string, Origin[]>()) : this.moduleAliases;
    const known = aliases.get(root.text) ?? [];
    // A value from outside that holds more values is changed, not a new alias.
    if (!known.length && (this.origins(root, scope, ctx).length || (!owner && !this.module.has(root.text)))) return;
    const added = stored.filter((o) => !known.some((k) => k.name === o.name && k.parameter === o.parameter));
    aliases.set(root.text, [...known, ...added]);
  }

  /** `rows.forEach((row) => ...)`: the callback's parameter is an element of rows. */
  private noteElementCallback(call: ts.CallExpression, scope: Scope | undefined, ctx: Context): void {
    const callee = call.expression;
    if (!ts.isPropertyAccessExpression(callee)) return;
    const position = ELEMENT_CALLBACKS.get(callee.name.text);
    const callback = call.arguments[0];
    if (position === undefined || !callback || !(ts.isArrowFunction(callback) || ts.isFunctionExpression(callback))) return;
    const parameter = callback.parameters[position];
    const origins = this.origins(callee.expression, scope, ctx);
    if (!parameter || !origins.length) return;
    this.callbackAliases.set(callback, new Map(boundIdentifiers(parameter.name).map((id) => [id.text, origins])));
  }

  /**
   * A call of a plain name, with what each argument is: received values at the top level, the
   * caller's own parameters inside a definition (its effects pass on to its callers).
   */
  private callSite(call: ts.CallExpression, scope: Scope | undefined, ctx: Context): void {
    const callee = call.expression;
    if (!ts.isIdentifier(callee) || resolve(callee.text, scope, this.module) === 'local') return;
    const { definition } = ctx;
    if (!definition && ctx.deferred) return;
    const positional = call.arguments.map((arg) =>
      this.origins(arg, scope, ctx)
        .filter((o) => !definition || o.parameter)
        .map((o) => o.name),
    );
    (definition ? definition.calls : this.calls).push({ callee: callee.text, positional, keywords: {} });
  }

  private ref(id: ts.Identifier): NameRef {
    const { line, character } = this.sf.getLineAndCharacterOfPosition(id.getStart(this.sf));
    return { name: id.text, line: line + 1, column: character + 1 };
  }
}

function isIncrement(op: ts.SyntaxKind): boolean {
  return op === ts.SyntaxKind.PlusPlusToken || op === ts.SyntaxKind.MinusMinusToken;
}

function newScope(names: ts.Identifier[], parent: Scope | undefined): Scope {
  return { parent, names: new Set(names.map((n) => n.text)) };
}

function blockScope(statements: readonly ts.Statement[], parent: Scope | undefined): Scope {
  return newScope(lexicalNames(statements), parent);
}

function bindingScope(name: string, scope: Scope | undefined): Scope | undefined {
  for (let s = scope; s; s = s.parent) if (s.names.has(name)) return s;
  return undefined;
}

function newDefinition(declaration: StatementDefinition): Definition {
  const fn = definitionFunction(declaration);
  return {
    name: definitionName(declaration).text,
    node: fn ?? declaration,
    globals: new Map(),
    parameters: fn ? fn.parameters.map((p) => (ts.isIdentifier(p.name) ? p.name.text : '')) : [],
    mutatesParameters: new Set(),
    writesGlobals: new Set(),
    mutatesGlobals: new Set(),
    calls: [],
  };
}

function effectsOf(definition: Definition): DefinitionEffects {
  return {
    parameters: definition.parameters,
    mutatesParameters: [...definition.mutatesParameters],
    writesGlobals: [...definition.writesGlobals],
    mutatesGlobals: [...definition.mutatesGlobals],
    calls: definition.calls,
  };
}

function resolve(name: string, scope: Scope | undefined, module: Map<string, ModuleBinding>): 'local' | ModuleBinding | undefined {
  return bindingScope(name, scope) ? 'local' : module.get(name);
}

function addRef(map: Map<string, NameRef>, ref: NameRef): void {
  if (!map.has(ref.name)) map.set(ref.name, ref);
}
