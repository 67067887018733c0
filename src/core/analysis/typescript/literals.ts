/** `const x = <literal>` at top level, evaluated to JSON (parameters cells become `--param` defaults). */
import { ts } from 'ts-morph';

const NOT_LITERAL = Symbol('not a literal');
type Value = unknown | typeof NOT_LITERAL;

export function literalBindings(statement: ts.Statement): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (!ts.isVariableStatement(statement)) return out;
  for (const d of statement.declarationList.declarations) {
    if (!ts.isIdentifier(d.name) || !d.initializer) continue;
    const value = evaluate(d.initializer);
    if (value !== NOT_LITERAL) out[d.name.text] = value;
  }
  return out;
}

function evaluate(e: ts.Expression): Value {
  if (ts.isParenthesizedExpression(e) || ts.isAsExpression(e) || ts.isSatisfiesExpression(e)) return evaluate(e.expression);
  if (ts.isStringLiteralLike(e)) return e.text;
  if (ts.isNumericLiteral(e)) return Number(e.text.replace(/_/g, ''));
  if (e.kind === ts.SyntaxKind.TrueKeyword) return true;
  if (e.kind === ts.SyntaxKind.FalseKeyword) return false;
  if (e.kind === ts.SyntaxKind.NullKeyword) return null;
  if (ts.isPrefixUnaryExpression(e) && ts.isNumericLiteral(e.operand)) {
    const n = Number(e.operand.text.replace(/_/g, ''));
    if (e.operator === ts.SyntaxKind.MinusToken) return -n;
    if (e.operator === ts.SyntaxKind.PlusToken) return n;
    return NOT_LITERAL;
  }
  if (ts.isArrayLiteralExpression(e)) {
    const items = e.elements.map((el) => (ts.isSpreadElement(el) || ts.isOmittedExpression(el) ? NOT_LITERAL : evaluate(el)));
    return items.includes(NOT_LITERAL) ? NOT_LITERAL : items;
  }
  if (ts.isObjectLiteralExpression(e)) {
    const obj: Record<string, unknown> = {};
    for (const p of e.properties) {
      if (!ts.isPropertyAssignment(p) || ts.isComputedPropertyName(p.name) || ts.isPrivateIdentifier(p.name)) return NOT_LITERAL;
      const value = evaluate(p.initializer);
      if (value === NOT_LITERAL) return NOT_LITERAL;
      // defineProperty: a `__proto__` key is data here, not a prototype change.
      Object.defineProperty(obj, p.name.text, { value, enumerable: true, writable: true, configurable: true });
    }
    return obj;
  }
  return NOT_LITERAL;
}

