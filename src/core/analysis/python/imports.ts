/** What an import statement binds and which installable modules it needs. */
import type { SyntaxNode } from './parser';

export interface ImportedNames {
  names: string[];
  modules: string[];
  star: boolean;
}

export function importedNames(node: SyntaxNode): ImportedNames {
  const result: ImportedNames = { names: [], modules: [], star: false };
  if (node.type === 'future_import_statement') return result;
  if (node.type === 'import_statement') {
    for (const item of node.childrenForFieldName('name')) {
      if (!item) continue;
      const dotted = item.type === 'aliased_import' ? item.childForFieldName('name') : item;
      const root = firstIdentifier(dotted);
      const alias = item.type === 'aliased_import' ? item.childForFieldName('alias')?.text : root;
      if (alias) result.names.push(alias);
      if (root) result.modules.push(root);
    }
    return result;
  }
  // import_from_statement
  const module = node.childForFieldName('module_name');
  if (module?.type === 'dotted_name') {
    const root = firstIdentifier(module);
    if (root) result.modules.push(root);
  }
  for (const item of node.childrenForFieldName('name')) {
    if (!item) continue;
    const bound = item.type === 'aliased_import' ? item.childForFieldName('alias') : item;
    if (bound) result.names.push(bound.text);
  }
  result.star = node.namedChildren.some((child) => child?.type === 'wildcard_import');
  return result;
}

function firstIdentifier(node: SyntaxNode | null): string | undefined {
  if (!node) return undefined;
  if (node.type === 'identifier') return node.text;
  return node.namedChildren.find((child) => child?.type === 'identifier')?.text;
}

export const IMPORT_STATEMENTS: ReadonlySet<string> = new Set([
  'import_statement',
  'import_from_statement',
  'future_import_statement',
]);
