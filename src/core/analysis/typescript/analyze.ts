/**
 * One TypeScript/JavaScript cell -> CellAnalysis. Parsing only (the compiler API that ts-morph
 * ships, no Project and no type checker): a cell parses in well under a millisecond, while a
 * checked Project costs hundreds.
 */
import { ts } from 'ts-morph';
import type { Diagnostic } from '../../errors';
import type { CellAnalysis, DefinitionInfo, ImportInfo } from '../types';
import { literalBindings } from './literals';
import { packageOf } from './modules';
import { resolveScopes } from './scope';
import { asImport, attachedStart, Definition, definitionName, isDefinition, isDropped, statementText } from './statements';
import { hasModifier } from './syntax';

export type ScriptLanguage = 'typescript' | 'javascript';

export function analyzeCell(source: string, language: ScriptLanguage): CellAnalysis {
  const javascript = language === 'javascript';
  const sf = ts.createSourceFile(
    javascript ? 'cell.js' : 'cell.ts',
    source,
    ts.ScriptTarget.Latest,
    true,
    javascript ? ts.ScriptKind.JS : ts.ScriptKind.TS,
  );
  const lineOf = (pos: number) => sf.getLineAndCharacterOfPosition(pos).line + 1;

  const imports = new Map<ts.Statement, string[]>();
  const importInfos: ImportInfo[] = [];
  const requirements: string[] = [];
  const definitions: Definition[] = [];
  const removed = new Set<ts.Statement>();
  for (const statement of sf.statements) {
    if (isDropped(statement)) {
      removed.add(statement);
      continue;
    }
    const imp = asImport(statement, sf);
    if (imp) {
      imports.set(statement, imp.names);
      const packages = imp.specifiers.map(packageOf);
      const modules = packages.flatMap((p) => (p.name ? [p.name] : []));
      importInfos.push({ names: imp.names, modules: [...new Set(modules)], code: imp.code, line: lineOf(statement.getStart(sf)) });
      requirements.push(...packages.flatMap((p) => (p.pin ? [p.pin] : [])));
      removed.add(statement);
    } else if (isDefinition(statement)) {
      definitions.push(statement);
      removed.add(statement);
    }
  }

  const scopes = resolveScopes(sf, { imports, definitions: new Set(definitions) }, javascript);
  const definitionInfos: DefinitionInfo[] = definitions.map((d) => ({
    name: definitionName(d).text,
    kind: ts.isClassDeclaration(d) ? 'class' : 'function',
    code: statementText(d, sf),
    line: lineOf(d.getStart(sf)),
    globals: scopes.globals.get(d) ?? [],
    ...(scopes.effects.has(d) ? { effects: scopes.effects.get(d) } : {}),
  }));

  const literals: Record<string, unknown> = {};
  for (const statement of sf.statements) Object.assign(literals, literalBindings(statement));

  return {
    body: bodyText(sf, removed),
    uses: scopes.uses,
    defines: scopes.defines,
    deletes: [],
    mutates: scopes.mutates,
    calls: scopes.calls,
    imports: importInfos,
    definitions: definitionInfos,
    globalWrites: scopes.globalWrites,
    requirements: [...new Set(requirements)],
    extraImports: [],
    literals,
    diagnostics: syntaxDiagnostics(sf, scopes.typeSyntax),
  };
}

/**
 * The cell without the removed statements (and without `export` on the rest): each removed
 * statement takes its attached comments and its line along, and blank runs collapse to one.
 */
function bodyText(sf: ts.SourceFile, removed: ReadonlySet<ts.Statement>): string {
  const text = sf.text;
  const cuts: [number, number][] = [...removed].map((s) => [lineStartIfBlank(text, attachedStart(s, sf)), lineEndIfBlank(text, s.end)]);
  for (const s of sf.statements) {
    if (removed.has(s)) continue;
    if (ts.isExportAssignment(s)) cuts.push([s.getStart(sf), s.expression.getStart(sf)]); // `export default x` -> `x`
    else if (hasModifier(s, ts.SyntaxKind.ExportKeyword)) {
      const exportKeyword = ts.getModifiers(s as ts.HasModifiers)!.find((m) => m.kind === ts.SyntaxKind.ExportKeyword)!;
      cuts.push([exportKeyword.getStart(sf), skipBlanks(text, exportKeyword.end)]);
    }
  }
  cuts.sort((a, b) => a[0] - b[0]);
  let body = '';
  let at = 0;
  for (const [from, to] of cuts) {
    if (from > at) body += text.slice(at, from);
    at = Math.max(at, to);
  }
  body += text.slice(at);
  return body.replace(/\n[ \t]*(\n[ \t]*)+\n/g, '\n\n').trim();
}

function lineStartIfBlank(text: string, pos: number): number {
  let p = pos;
  while (p > 0 && (text[p - 1] === ' ' || text[p - 1] === '\t')) p--;
  return p === 0 || text[p - 1] === '\n' ? p : pos;
}

function lineEndIfBlank(text: string, pos: number): number {
  let p = skipBlanks(text, pos);
  if (text[p] === ';') p = skipBlanks(text, p + 1);
  if (text.startsWith('\r\n', p)) return p + 2;
  if (p >= text.length || text[p] === '\n') return Math.min(p + 1, text.length);
  return pos;
}

function skipBlanks(text: string, pos: number): number {
  let p = pos;
  while (p < text.length && (text[p] === ' ' || text[p] === '\t')) p++;
  return p;
}

interface ParsedSourceFile extends ts.SourceFile {
  /** Set by the parser; public API would need a Program just to read syntax errors. */
  parseDiagnostics?: readonly ts.DiagnosticWithLocation[];
}

function syntaxDiagnostics(sf: ParsedSourceFile, typeSyntax: ts.Node[]): Diagnostic[] {
  const at = (pos: number) => {
    const { line, character } = sf.getLineAndCharacterOfPosition(pos);
    return { line: line + 1, column: character + 1 };
  };
  const first = sf.parseDiagnostics?.[0];
  if (first) {
    const message = ts.flattenDiagnosticMessageText(first.messageText, '\n');
    return [{ severity: 'error', message: `syntax error: ${message}`, ...at(first.start) }];
  }
  if (typeSyntax.length > 0) {
    return [{ severity: 'error', message: 'syntax error: type annotations are TypeScript syntax, not JavaScript', ...at(typeSyntax[0].getStart(sf)) }];
  }
  return [];
}
