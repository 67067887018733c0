/** Small questions about TypeScript syntax nodes that the scope walker asks many times. */
import { ts } from 'ts-morph';

export type FunctionLikeWithBody =
  | ts.FunctionDeclaration
  | ts.FunctionExpression
  | ts.ArrowFunction
  | ts.MethodDeclaration
  | ts.ConstructorDeclaration
  | ts.GetAccessorDeclaration
  | ts.SetAccessorDeclaration;

export function isFunctionWithBody(node: ts.Node): node is FunctionLikeWithBody {
  return (
    (ts.isFunctionDeclaration(node) ||
      ts.isFunctionExpression(node) ||
      ts.isArrowFunction(node) ||
      ts.isMethodDeclaration(node) ||
      ts.isConstructorDeclaration(node) ||
      ts.isGetAccessorDeclaration(node) ||
      ts.isSetAccessorDeclaration(node)) &&
    node.body !== undefined
  );
}

export function hasModifier(node: ts.Node, kind: ts.SyntaxKind): boolean {
  return ts.canHaveModifiers(node) && (ts.getModifiers(node) ?? []).some((m) => m.kind === kind);
}

/**
 * Nodes that exist only for the type checker: they bind or read no runtime value, and type
 * stripping removes them. `declare` statements describe values that live elsewhere.
 */
export function isTypeOnly(node: ts.Node): boolean {
  if (ts.isExpressionWithTypeArguments(node)) return false; // `f<T>` and `extends Base<T>` read `f` / `Base`
  if (ts.isTypeNode(node)) return true;
  if (
    ts.isInterfaceDeclaration(node) ||
    ts.isTypeAliasDeclaration(node) ||
    ts.isTypeParameterDeclaration(node) ||
    ts.isIndexSignatureDeclaration(node)
  ) {
    return true;
  }
  if (ts.isHeritageClause(node)) return node.token === ts.SyntaxKind.ImplementsKeyword;
  if (ts.isImportDeclaration(node)) return node.importClause?.isTypeOnly === true;
  if (ts.isFunctionDeclaration(node) || ts.isMethodDeclaration(node)) {
    return node.body === undefined; // overload signatures, abstract methods
  }
  if (ts.isPropertyDeclaration(node) && hasModifier(node, ts.SyntaxKind.AbstractKeyword)) return true;
  return hasModifier(node, ts.SyntaxKind.DeclareKeyword);
}

/** Whether an identifier, where it stands, reads (or writes) a variable rather than naming a property, label or declaration. */
export function isReference(id: ts.Identifier): boolean {
  const p = id.parent;
  if (ts.isPropertyAccessExpression(p)) return p.expression === id;
  if (ts.isQualifiedName(p)) return p.left === id;
  if (ts.isShorthandPropertyAssignment(p)) return true;
  if (ts.isBindingElement(p)) return p.initializer === id;
  if (
    ts.isPropertyAssignment(p) ||
    ts.isPropertyDeclaration(p) ||
    ts.isMethodDeclaration(p) ||
    ts.isGetAccessorDeclaration(p) ||
    ts.isSetAccessorDeclaration(p) ||
    ts.isEnumMember(p) ||
    ts.isPropertySignature(p) ||
    ts.isMethodSignature(p) ||
    ts.isVariableDeclaration(p) ||
    ts.isParameter(p) ||
    ts.isFunctionDeclaration(p) ||
    ts.isFunctionExpression(p) ||
    ts.isClassDeclaration(p) ||
    ts.isClassExpression(p) ||
    ts.isEnumDeclaration(p) ||
    ts.isModuleDeclaration(p) ||
    ts.isImportEqualsDeclaration(p) ||
    ts.isJsxAttribute(p)
  ) {
    return p.name !== id;
  }
  return !(
    ts.isLabeledStatement(p) ||
    ts.isBreakOrContinueStatement(p) ||
    ts.isMetaProperty(p) ||
    ts.isImportSpecifier(p) ||
    ts.isExportSpecifier(p) ||
    ts.isNamespaceImport(p) ||
    ts.isImportClause(p) ||
    ts.isNamespaceExport(p)
  );
}

/** Identifiers a binding pattern introduces: `{ a, b: [c, ...d] = [] }` -> a, c, d. */
export function boundIdentifiers(name: ts.BindingName, out: ts.Identifier[] = []): ts.Identifier[] {
  if (ts.isIdentifier(name)) {
    out.push(name);
  } else {
    for (const element of name.elements) if (!ts.isOmittedExpression(element)) boundIdentifiers(element.name, out);
  }
  return out;
}

export function isLexical(list: ts.VariableDeclarationList): boolean {
  return (list.flags & ts.NodeFlags.BlockScoped) !== 0;
}

/** `var` declarations of a function (or cell) body, found through blocks and loops but not nested functions or classes. */
export function varDeclarations(body: ts.Node, out: ts.VariableDeclaration[] = []): ts.VariableDeclaration[] {
  ts.forEachChild(body, (child) => {
    if (ts.isFunctionLike(child) || ts.isClassLike(child) || ts.isModuleDeclaration(child) || isTypeOnly(child)) return;
    if (ts.isVariableDeclarationList(child) && !isLexical(child)) out.push(...child.declarations);
    varDeclarations(child, out);
  });
  return out;
}

/** Names that a statement list binds in its own (block) scope: let/const/using, classes, functions, enums, namespaces. */
export function lexicalNames(statements: readonly ts.Statement[]): ts.Identifier[] {
  const names: ts.Identifier[] = [];
  for (const s of statements) {
    if (isTypeOnly(s)) continue;
    if (ts.isVariableStatement(s) && isLexical(s.declarationList)) {
      for (const d of s.declarationList.declarations) boundIdentifiers(d.name, names);
    } else if ((ts.isFunctionDeclaration(s) || ts.isClassDeclaration(s)) && s.name) {
      names.push(s.name);
    } else if (ts.isEnumDeclaration(s) || (ts.isModuleDeclaration(s) && ts.isIdentifier(s.name))) {
      names.push(s.name as ts.Identifier);
    }
  }
  return names;
}

/**
 * Calls that hand back the receiver's own elements, not copies of them: `groups.get(k).push(x)`
 * and `rows.filter(bad).forEach((r) => (r.flag = 1))` change what the receiver holds.
 */
const ELEMENT_SHARING_METHODS = new Set(['get', 'at', 'find', 'findLast', 'filter', 'slice', 'sort', 'reverse', 'toSorted', 'toReversed', 'concat', 'flat', 'values', 'entries']);
/** `Object.values(x)` and `Object.entries(x)` hand back x's own values. */
const ELEMENT_SHARING_STATICS = new Set(['values', 'entries']);

/**
 * `a.b[0].c` -> `a`, also through calls that share a's elements (`a.get(k).c`,
 * `Object.values(a)`, `[...a]`) and through an assignment to a member (`(a[k] ??= []).push(x)`);
 * undefined when the chain does not start at a variable (`this.x`, `f().x`) or passes a call
 * that may return new values.
 */
export function rootIdentifier(expr: ts.Expression): ts.Identifier | undefined {
  let e: ts.Expression = expr;
  for (;;) {
    if (ts.isIdentifier(e)) return e;
    const shared = elementSource(e);
    if (shared) {
      e = shared;
    } else if (ts.isBinaryExpression(e) && isAssignmentOperator(e.operatorToken.kind) && !ts.isIdentifier(e.left)) {
      e = e.left;
    } else if (
      ts.isPropertyAccessExpression(e) ||
      ts.isElementAccessExpression(e) ||
      ts.isParenthesizedExpression(e) ||
      ts.isNonNullExpression(e) ||
      ts.isAsExpression(e) ||
      ts.isSatisfiesExpression(e) ||
      ts.isTypeAssertionExpression(e)
    ) {
      e = e.expression;
    } else {
      return undefined;
    }
  }
}

/** The value whose elements an expression hands back unchanged, if it is such a call or a spread copy. */
function elementSource(e: ts.Expression): ts.Expression | undefined {
  if (ts.isArrayLiteralExpression(e)) return e.elements.length === 1 && ts.isSpreadElement(e.elements[0]) ? e.elements[0].expression : undefined;
  if (!ts.isCallExpression(e) || !ts.isPropertyAccessExpression(e.expression)) return undefined;
  const { expression: receiver, name } = e.expression;
  if (ts.isIdentifier(receiver) && receiver.text === 'Object') return ELEMENT_SHARING_STATICS.has(name.text) ? e.arguments[0] : undefined;
  return ELEMENT_SHARING_METHODS.has(name.text) ? receiver : undefined;
}

export function isAssignmentOperator(kind: ts.SyntaxKind): boolean {
  return kind >= ts.SyntaxKind.FirstAssignment && kind <= ts.SyntaxKind.LastAssignment;
}
