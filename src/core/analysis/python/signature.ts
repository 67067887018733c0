/**
 * The shapes a serving function's input can be read from: a function's parameters with their
 * annotations, a class's annotated fields (TypedDict, dataclass), and the literal arguments of
 * calls (`predict({"age": 3})`). Annotations are kept as source text: the planner maps them to
 * JSON types; nothing here evaluates them.
 */
import type { ArgumentShape, ClassShape, ParameterInfo } from '../types';
import type { SyntaxNode } from './parser';

export function parametersOf(node: SyntaxNode | null): ParameterInfo[] {
  const out: ParameterInfo[] = [];
  let keywordOnly = false;
  for (const parameter of node?.namedChildren ?? []) {
    switch (parameter.type) {
      case 'keyword_separator':
        keywordOnly = true;
        continue;
      case 'positional_separator':
      case 'comment':
        continue;
      case 'list_splat_pattern':
        keywordOnly = true;
        out.push({ name: parameter.namedChildren[0]?.text ?? '', kind: 'var-positional', hasDefault: false });
        continue;
      case 'dictionary_splat_pattern':
        out.push({ name: parameter.namedChildren[0]?.text ?? '', kind: 'var-keyword', hasDefault: false });
        continue;
    }
    const nameNode = parameter.childForFieldName('name') ?? (parameter.type === 'identifier' ? parameter : parameter.namedChildren[0]);
    // `*args: int` parses as a typed parameter around a splat.
    if (nameNode?.type === 'list_splat_pattern' || nameNode?.type === 'dictionary_splat_pattern') {
      const kind = nameNode.type === 'list_splat_pattern' ? 'var-positional' : 'var-keyword';
      if (kind === 'var-positional') keywordOnly = true;
      out.push({ name: nameNode.namedChildren[0]?.text ?? '', kind, hasDefault: false, annotation: parameter.childForFieldName('type')?.text });
      continue;
    }
    const annotation = parameter.childForFieldName('type')?.text;
    out.push({
      name: nameNode?.text ?? '',
      kind: keywordOnly ? 'keyword-only' : 'positional',
      hasDefault: !!parameter.childForFieldName('value'),
      ...(annotation ? { annotation } : {}),
    });
  }
  return out;
}

/** `class Row(TypedDict): age: int` and `@dataclass class Row: age: int = 0`: the annotated names of the body, in order. */
export function classShapeOf(node: SyntaxNode, decorators: SyntaxNode[]): ClassShape {
  const bases = (node.childForFieldName('superclasses')?.namedChildren ?? []).filter((b) => b.type !== 'keyword_argument').map((b) => b.text);
  const fields: ClassShape['fields'] = [];
  for (const statement of node.childForFieldName('body')?.namedChildren ?? []) {
    const assignment = statement.type === 'expression_statement' ? statement.namedChildren[0] : undefined;
    const left = assignment?.type === 'assignment' ? assignment.childForFieldName('left') : undefined;
    const type = assignment?.childForFieldName('type');
    if (left?.type === 'identifier' && type) fields.push({ name: left.text, annotation: type.text, hasDefault: !!assignment!.childForFieldName('right') });
  }
  return { bases, decorators: decorators.map((d) => d.text.replace(/^@\s*/, '')), fields };
}

/** What each argument of a call is, as far as a literal says: a dict's keys and their types, a list of such dicts, a type. */
export function argumentShapes(args: SyntaxNode | null): { positional: ArgumentShape[]; keywords: Record<string, ArgumentShape> } {
  const positional: ArgumentShape[] = [];
  const keywords: Record<string, ArgumentShape> = {};
  for (const arg of args?.namedChildren ?? []) {
    if (arg.type === 'comment') continue;
    if (arg.type === 'keyword_argument') {
      const name = arg.childForFieldName('name')?.text;
      const value = arg.childForFieldName('value');
      if (name && value) keywords[name] = shapeOf(value);
    } else positional.push(shapeOf(arg));
  }
  return { positional, keywords };
}

/** True when a call's arguments say something about the shape of its input. */
export function hasLiteralShape(shapes: { positional: ArgumentShape[]; keywords: Record<string, ArgumentShape> }): boolean {
  return shapes.positional.some((s) => s.keys !== undefined || s.items !== undefined) || Object.keys(shapes.keywords).length > 0;
}

function shapeOf(node: SyntaxNode): ArgumentShape {
  switch (node.type) {
    case 'dictionary': {
      const keys: Record<string, string> = {};
      for (const pair of node.namedChildren) {
        if (pair.type !== 'pair') continue;
        const key = pair.childForFieldName('key');
        const value = pair.childForFieldName('value');
        const text = key ? stringText(key) : undefined;
        if (text !== undefined && value) keys[text] = typeOf(value);
      }
      return { type: 'object', keys };
    }
    case 'list':
    case 'tuple': {
      const dicts = node.namedChildren.filter((child) => child.type === 'dictionary').map(shapeOf);
      return dicts.length ? { type: 'array', items: dicts.map((d) => d.keys!) } : { type: 'array' };
    }
    default:
      return { type: typeOf(node) };
  }
}

/** The JSON type a literal expression has; `any` for what is not a literal. */
function typeOf(node: SyntaxNode): string {
  switch (node.type) {
    case 'integer':
      return 'integer';
    case 'float':
      return 'number';
    case 'string':
    case 'concatenated_string':
      return 'string';
    case 'true':
    case 'false':
      return 'boolean';
    case 'list':
    case 'tuple':
      return 'array';
    case 'dictionary':
      return 'object';
    case 'unary_operator':
      return typeOf(node.childForFieldName('argument') ?? node);
    case 'parenthesized_expression':
      return node.namedChildCount === 1 ? typeOf(node.namedChildren[0]) : 'any';
    default:
      return 'any';
  }
}

function stringText(node: SyntaxNode): string | undefined {
  if (node.type !== 'string') return undefined;
  const content = node.namedChildren.filter((c) => c.type === 'string_content');
  if (node.namedChildren.some((c) => c.type === 'interpolation')) return undefined;
  return content.map((c) => c.text).join('');
}
