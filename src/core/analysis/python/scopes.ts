/**
 * Python's name resolution (LEGB with its exceptions). A function's locals are known before its
 * body runs (any binding anywhere in it makes a name local), so they are collected in a first
 * pass; module and class bodies bind as they execute, so their `locals` grow during the walk.
 */
export type ScopeKind = 'module' | 'class' | 'function' | 'comprehension';

export class Scope {
  /** Names bound in this scope (for module and class scopes: bound so far). */
  readonly locals = new Set<string>();
  readonly declaredGlobal = new Set<string>();
  readonly declaredNonlocal = new Set<string>();

  constructor(
    readonly kind: ScopeKind,
    readonly parent: Scope | undefined,
  ) {}

  /** The scope a walrus target binds in: comprehensions are transparent to it. */
  get walrusTarget(): Scope {
    let scope: Scope = this;
    while (scope.kind === 'comprehension' && scope.parent) scope = scope.parent;
    return scope;
  }

  /**
   * Where a read of `name` in this scope is satisfied: 'local' (this or an enclosing function or
   * comprehension scope), or 'module' (a module global or a builtin; the caller decides which).
   */
  resolve(name: string): 'local' | 'module' {
    if (this.kind === 'module') return 'module';
    if (this.declaredGlobal.has(name)) return 'module';
    if (this.locals.has(name) && !this.declaredNonlocal.has(name)) return 'local';
    // Class bodies are invisible to the scopes nested in them.
    for (let scope = this.parent; scope; scope = scope.parent) {
      if (scope.kind === 'module') return 'module';
      if (scope.kind === 'class') continue;
      if (scope.declaredGlobal.has(name)) return 'module';
      if (scope.locals.has(name) && !scope.declaredNonlocal.has(name)) return 'local';
    }
    return 'module';
  }

  /** Only comprehensions between here and the module: code here runs as the cell runs. */
  get runsAtModuleLevel(): boolean {
    let scope: Scope | undefined = this;
    while (scope?.kind === 'comprehension') scope = scope.parent;
    return scope?.kind === 'module';
  }
}
