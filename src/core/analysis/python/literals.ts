/**
 * Evaluates literal expressions (`0.1`, `"a"`, `[1, 2]`, `{"k": (1, -2)}`, `None`) to JSON
 * values, for parameters. Anything else (names, calls, f-strings, bytes, sets, complex numbers,
 * integers JSON cannot hold exactly) is not a literal.
 */
import type { SyntaxNode } from './parser';

const NOT_LITERAL = Symbol('not a literal');
type Evaluated = unknown | typeof NOT_LITERAL;

export function literalValue(node: SyntaxNode): { value: unknown } | undefined {
  const value = evaluate(node);
  return value === NOT_LITERAL ? undefined : { value };
}

function evaluate(node: SyntaxNode): Evaluated {
  switch (node.type) {
    case 'integer':
      return integer(node.text);
    case 'float':
      return float(node.text);
    case 'true':
      return true;
    case 'false':
      return false;
    case 'none':
      return null;
    case 'string':
      return stringValue(node);
    case 'concatenated_string': {
      const parts = node.namedChildren.map(stringValue);
      return parts.includes(NOT_LITERAL) ? NOT_LITERAL : parts.join('');
    }
    case 'unary_operator': {
      const operand = node.childForFieldName('argument');
      const operator = node.childForFieldName('operator')?.text ?? node.child(0)?.text;
      const value = operand ? evaluate(operand) : NOT_LITERAL;
      if (typeof value !== 'number' || (operator !== '-' && operator !== '+')) return NOT_LITERAL;
      return operator === '-' ? -value : value;
    }
    case 'parenthesized_expression':
      return node.namedChildCount === 1 ? evaluate(node.namedChildren[0]) : NOT_LITERAL;
    case 'list':
    case 'tuple':
    case 'expression_list':
      return sequence(node);
    case 'dictionary':
      return dictionary(node);
    default:
      return NOT_LITERAL;
  }
}

function integer(text: string): Evaluated {
  const digits = text.replace(/_/g, '').toLowerCase();
  if (/[lj]$/.test(digits)) return NOT_LITERAL;
  let value: bigint;
  try {
    value = /^0[0-9]+$/.test(digits) ? BigInt(digits.replace(/^0+/, '') || '0') : BigInt(digits);
  } catch {
    return NOT_LITERAL;
  }
  return value <= BigInt(Number.MAX_SAFE_INTEGER) && value >= BigInt(Number.MIN_SAFE_INTEGER) ? Number(value) : NOT_LITERAL;
}

function float(text: string): Evaluated {
  const clean = text.replace(/_/g, '');
  if (/j$/i.test(clean)) return NOT_LITERAL;
  const value = Number(clean);
  return Number.isFinite(value) ? value : NOT_LITERAL;
}

function sequence(node: SyntaxNode): Evaluated {
  const items: unknown[] = [];
  for (const child of node.namedChildren) {
    if (child.type === 'comment') continue;
    const value = evaluate(child);
    if (value === NOT_LITERAL) return NOT_LITERAL;
    items.push(value);
  }
  return items;
}

function dictionary(node: SyntaxNode): Evaluated {
  const result: Record<string, unknown> = {};
  for (const child of node.namedChildren) {
    if (child.type === 'comment') continue;
    if (child.type !== 'pair') return NOT_LITERAL;
    const key = evaluate(child.childForFieldName('key')!);
    const value = evaluate(child.childForFieldName('value')!);
    if (typeof key !== 'string' || value === NOT_LITERAL) return NOT_LITERAL;
    result[key] = value;
  }
  return result;
}

/** Plain and raw strings; f-strings and bytes are not literals (not JSON, or not constant). */
function stringValue(node: SyntaxNode): Evaluated {
  if (node.type !== 'string') return NOT_LITERAL;
  const start = node.namedChildren.find((child) => child.type === 'string_start')?.text ?? '';
  const prefix = start.replace(/['"]+$/, '').toLowerCase();
  if (/[fb]/.test(prefix)) return NOT_LITERAL;
  const raw = prefix.includes('r');
  let value = '';
  for (const child of node.namedChildren) {
    if (child.type === 'string_content') value += raw ? child.text : unescape(child.text);
    else if (child.type === 'escape_sequence') value += raw ? child.text : unescape(child.text);
    else if (child.type === 'interpolation') return NOT_LITERAL;
  }
  return value;
}

const SIMPLE_ESCAPES: Record<string, string> = {
  '\n': '', '\\': '\\', "'": "'", '"': '"', a: '\x07', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t', v: '\v',
};

/** Python's escape sequences (`\N{...}` is left as written: it needs the Unicode name table). */
function unescape(text: string): string {
  return text.replace(/\\(x[0-9a-fA-F]{2}|u[0-9a-fA-F]{4}|U[0-9a-fA-F]{8}|[0-7]{1,3}|[\s\S])/g, (whole, esc: string) => {
    if (esc in SIMPLE_ESCAPES) return SIMPLE_ESCAPES[esc];
    if (/^[xuU]/.test(esc)) return String.fromCodePoint(parseInt(esc.slice(1), 16));
    if (/^[0-7]+$/.test(esc)) return String.fromCodePoint(parseInt(esc, 8));
    return whole;
  });
}
