/**
 * Source transformations the generator needs the compiler for: type stripping (plain `node`
 * 20 runs no TypeScript), module specifier rewriting, and turning re-declarations into
 * assignments so cells joined into one step module stay valid JavaScript.
 */
import { ts } from 'ts-morph';
import { boundIdentifiers, isLexical } from './syntax';

export type SourceLanguage = 'typescript' | 'javascript';

const parse = (code: string, language: SourceLanguage) =>
  ts.createSourceFile(language === 'javascript' ? 'm.js' : 'm.ts', code, ts.ScriptTarget.Latest, true, language === 'javascript' ? ts.ScriptKind.JS : ts.ScriptKind.TS);

/**
 * Module text -> JavaScript (ES2022 modules). `verbatimModuleSyntax` keeps every import as
 * written (a module transpiled alone would otherwise lose imports it does not reference, and
 * side-effect imports matter) and drops only `import type`. The printer re-indents, so code
 * placed inside `run()` needs no indentation of its own (and template literals stay intact).
 */
export function stripTypes(code: string, language: SourceLanguage = 'typescript'): string {
  return ts.transpileModule(code, {
    fileName: language === 'javascript' ? 'module.js' : 'module.ts',
    compilerOptions: {
      target: ts.ScriptTarget.ES2022,
      module: ts.ModuleKind.ESNext,
      verbatimModuleSyntax: true,
      allowJs: true,
    },
    reportDiagnostics: false,
  }).outputText;
}

/** Replaces the module specifiers of imports, `require()` and `import()` calls (`npm:zod@3` -> `zod`). */
export function rewriteSpecifiers(code: string, language: SourceLanguage, rewrite: (specifier: string) => string): string {
  const sf = parse(code, language);
  const edits: { start: number; end: number; text: string }[] = [];
  const visit = (node: ts.Node): void => {
    let literal: ts.Expression | undefined;
    if ((ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) && node.moduleSpecifier) literal = node.moduleSpecifier;
    if (ts.isCallExpression(node) && node.arguments.length === 1) {
      const callee = node.expression;
      if (callee.kind === ts.SyntaxKind.ImportKeyword || (ts.isIdentifier(callee) && callee.text === 'require')) literal = node.arguments[0];
    }
    if (literal && ts.isStringLiteralLike(literal)) {
      const next = rewrite(literal.text);
      if (next !== literal.text) edits.push({ start: literal.getStart(sf), end: literal.end, text: JSON.stringify(next) });
    }
    ts.forEachChild(node, visit);
  };
  visit(sf);
  return applyEdits(code, edits);
}

/**
 * In a notebook a later cell may declare a name again (`let x = 2` after `let x = 1`, or the
 * name a step receives as input); in one module that is a SyntaxError. A re-declaration
 * becomes an assignment (reading the earlier value, as the kernel did), and a `const` that is
 * re-declared later becomes `let`.
 */
export function redeclarationsToAssignments(code: string, language: SourceLanguage, predeclared: Iterable<string>): string {
  const sf = parse(code, language);
  const declared = new Map<string, ts.VariableStatement | undefined>([...predeclared].map((n) => [n, undefined]));
  const edits: { start: number; end: number; text: string }[] = [];
  const constToLet = new Set<ts.VariableStatement>();
  for (const statement of sf.statements) {
    if (!ts.isVariableStatement(statement)) continue;
    const list = statement.declarationList;
    const names = list.declarations.flatMap((d) => boundIdentifiers(d.name).map((id) => id.text));
    const again = names.filter((n) => declared.has(n));
    if (again.length === 0) {
      for (const n of names) declared.set(n, statement);
      continue;
    }
    for (const n of again) {
      const first = declared.get(n);
      if (first && (first.declarationList.flags & ts.NodeFlags.Const) !== 0) constToLet.add(first);
    }
    const fresh = names.filter((n) => !declared.has(n));
    for (const n of fresh) declared.set(n, undefined); // declared by the `let` written below
    const assignments = list.declarations.map((d) => `(${d.name.getText(sf)} = ${d.initializer ? d.initializer.getText(sf) : 'undefined'});`);
    const prefix = fresh.length ? `let ${fresh.join(', ')}; ` : '';
    edits.push({ start: statement.getStart(sf), end: statement.end, text: prefix + assignments.join(' ') });
  }
  for (const statement of constToLet) {
    const keyword = statement.declarationList.getFirstToken(sf)!;
    if (isLexical(statement.declarationList)) edits.push({ start: keyword.getStart(sf), end: keyword.end, text: 'let' });
  }
  return applyEdits(code, edits);
}

/** Whether a class keeps state in `#private` members, which no serialised copy can restore. */
export function hasPrivateState(classCode: string, language: SourceLanguage): boolean {
  let found = false;
  const visit = (node: ts.Node): void => {
    if (ts.isPrivateIdentifier(node)) found = true;
    else if (!found) ts.forEachChild(node, visit);
  };
  visit(parse(classCode, language));
  return found;
}

function applyEdits(code: string, edits: { start: number; end: number; text: string }[]): string {
  let out = code;
  for (const e of [...edits].sort((a, b) => b.start - a.start)) out = out.slice(0, e.start) + e.text + out.slice(e.end);
  return out;
}
