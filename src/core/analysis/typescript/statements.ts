/**
 * Sorts a cell's top-level statements into what the generator moves out of the step body:
 * imports (ESM, `require`, `import x = require()`, `await import()`) and function/class
 * declarations (the shared module), and computes the text of each.
 */
import { ts } from 'ts-morph';
import { boundIdentifiers, hasModifier, isTypeOnly } from './syntax';

export interface ImportStatement {
  names: string[];
  specifiers: string[];
  /** Executable text; `import x = require('m')` is normalised to `const x = require('m');`. */
  code: string;
}

/** The statement as an import, or undefined when it is ordinary code. */
export function asImport(statement: ts.Statement, sf: ts.SourceFile): ImportStatement | undefined {
  if (ts.isImportDeclaration(statement)) {
    const specifier = (statement.moduleSpecifier as ts.StringLiteral).text;
    const clause = statement.importClause;
    const names: string[] = [];
    if (clause?.name) names.push(clause.name.text);
    const bindings = clause?.namedBindings;
    if (bindings && ts.isNamespaceImport(bindings)) names.push(bindings.name.text);
    if (bindings && ts.isNamedImports(bindings)) for (const el of bindings.elements) if (!el.isTypeOnly) names.push(el.name.text);
    return { names, specifiers: [specifier], code: statementText(statement, sf) };
  }
  if (ts.isImportEqualsDeclaration(statement) && ts.isExternalModuleReference(statement.moduleReference)) {
    const specifier = (statement.moduleReference.expression as ts.StringLiteral).text;
    return {
      names: [statement.name.text],
      specifiers: [specifier],
      code: `const ${statement.name.text} = require(${JSON.stringify(specifier)});`,
    };
  }
  if (ts.isVariableStatement(statement) && !hasModifier(statement, ts.SyntaxKind.DeclareKeyword)) {
    const declarations = statement.declarationList.declarations;
    const specifiers = declarations.map((d) => (d.initializer ? loadedModule(d.initializer) : undefined));
    if (specifiers.length === 0 || specifiers.some((s) => s === undefined)) return undefined;
    return {
      names: declarations.flatMap((d) => boundIdentifiers(d.name).map((id) => id.text)),
      specifiers: specifiers as string[],
      code: statementText(statement, sf),
    };
  }
  return undefined;
}

/** `require('m')`, `await import('m')`, `require('m').x`: the module it loads. */
function loadedModule(expr: ts.Expression): string | undefined {
  let e = expr;
  while (ts.isPropertyAccessExpression(e) || ts.isParenthesizedExpression(e) || ts.isAwaitExpression(e) || ts.isAsExpression(e)) {
    e = e.expression;
  }
  if (!ts.isCallExpression(e) || e.arguments.length !== 1 || !ts.isStringLiteralLike(e.arguments[0])) return undefined;
  const isRequire = ts.isIdentifier(e.expression) && e.expression.text === 'require';
  const isDynamicImport = e.expression.kind === ts.SyntaxKind.ImportKeyword;
  return isRequire || isDynamicImport ? e.arguments[0].text : undefined;
}

export type Definition = ts.FunctionDeclaration | ts.ClassDeclaration | ts.VariableStatement;

/**
 * Top-level named functions (with a body) and classes, and `const f = (...) => ...` or
 * `const f = function (...) {...}`: they move to the shared module. A function kept as a step's
 * value could not be saved, so a step run alone (`--only`) would not have it.
 */
export function isDefinition(statement: ts.Statement): statement is Definition {
  if (isTypeOnly(statement)) return false;
  if (ts.isFunctionDeclaration(statement)) return statement.name !== undefined && statement.body !== undefined;
  if (ts.isVariableStatement(statement)) return constFunction(statement) !== undefined;
  return ts.isClassDeclaration(statement) && statement.name !== undefined;
}

/** The name a definition binds. */
export function definitionName(definition: Definition): ts.Identifier {
  return ts.isVariableStatement(definition) ? (definition.declarationList.declarations[0].name as ts.Identifier) : definition.name!;
}

/** The function a definition runs when called (undefined for a class). */
export function definitionFunction(definition: Definition): ts.FunctionLikeDeclaration | undefined {
  if (ts.isVariableStatement(definition)) return constFunction(definition);
  return ts.isFunctionDeclaration(definition) ? definition : undefined;
}

function constFunction(statement: ts.VariableStatement): ts.ArrowFunction | ts.FunctionExpression | undefined {
  const list = statement.declarationList;
  if ((list.flags & ts.NodeFlags.Const) === 0 || list.declarations.length !== 1) return undefined;
  const [declaration] = list.declarations;
  const value = declaration.initializer;
  if (!ts.isIdentifier(declaration.name) || !value) return undefined;
  return ts.isArrowFunction(value) || ts.isFunctionExpression(value) ? value : undefined;
}

/** Statements removed from the body without a trace: type-only imports, overload signatures, re-exports. */
export function isDropped(statement: ts.Statement): boolean {
  if (ts.isImportDeclaration(statement)) return statement.importClause?.isTypeOnly === true;
  if (ts.isImportEqualsDeclaration(statement)) return statement.isTypeOnly;
  if (ts.isFunctionDeclaration(statement)) return statement.body === undefined && !hasModifier(statement, ts.SyntaxKind.DeclareKeyword);
  return ts.isExportDeclaration(statement);
}

/**
 * Start of a statement including the comments directly above it (no blank line between), so a
 * moved function takes its explanation along instead of leaving it orphaned in the body.
 */
export function attachedStart(node: ts.Node, sf: ts.SourceFile): number {
  const text = sf.text;
  let start = node.getStart(sf);
  const comments = ts.getLeadingCommentRanges(text, node.getFullStart()) ?? [];
  for (let i = comments.length - 1; i >= 0; i--) {
    const gap = text.slice(comments[i].end, start);
    if ((gap.match(/\n/g) ?? []).length > 1) break;
    start = comments[i].pos;
  }
  return start;
}

/** The statement's text without `export` / `export default` (meaningless in a cell; the generator adds its own). */
export function statementText(node: ts.Node, sf: ts.SourceFile): string {
  const start = attachedStart(node, sf);
  const cuts = (ts.canHaveModifiers(node) ? (ts.getModifiers(node) ?? []) : [])
    .filter((m) => m.kind === ts.SyntaxKind.ExportKeyword || m.kind === ts.SyntaxKind.DefaultKeyword)
    .map((m) => [m.getStart(sf), skipSpaces(sf.text, m.end)] as const);
  let text = '';
  let at = start;
  for (const [from, to] of cuts) {
    text += sf.text.slice(at, from);
    at = to;
  }
  return text + sf.text.slice(at, node.end);
}

function skipSpaces(text: string, pos: number): number {
  while (pos < text.length && (text[pos] === ' ' || text[pos] === '\t')) pos++;
  return pos;
}
