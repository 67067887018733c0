/** Python source for a string value: a double-quoted literal that round-trips any JS string. */
export function pythonString(value: string): string {
  let out = '"';
  for (let i = 0; i < value.length; i++) {
    const ch = value[i];
    const code = value.charCodeAt(i);
    if (ch === '\\') out += '\\\\';
    else if (ch === '"') out += '\\"';
    else if (ch === '\n') out += '\\n';
    else if (ch === '\r') out += '\\r';
    else if (ch === '\t') out += '\\t';
    else if (code < 0x20 || code === 0x7f) out += `\\x${code.toString(16).padStart(2, '0')}`;
    else if (code >= 0xd800 && code <= 0xdbff && i + 1 < value.length && isLowSurrogate(value.charCodeAt(i + 1))) {
      out += ch + value[i + 1];
      i += 1;
    } else if (code >= 0xd800 && code <= 0xdfff) out += `\\u${code.toString(16)}`;
    else out += ch;
  }
  return `${out}"`;
}

function isLowSurrogate(code: number): boolean {
  return code >= 0xdc00 && code <= 0xdfff;
}

/**
 * A multi-line text as implicitly concatenated literals, one source line per text line, so a
 * written file or script stays readable in the generated code. Returns the literal lines.
 */
export function pythonStringLines(value: string): string[] {
  if (value === '') return ['""'];
  const chunks = value.match(/[^\n]*\n|[^\n]+$/g) ?? [value];
  return chunks.map(pythonString);
}

const ESCAPES: Record<string, string> = { n: '\n', t: '\t', r: '\r', '\\': '\\', "'": "'", '"': '"' };

/**
 * The values of a comma-separated list of plain string literals (`'matplotlib', 'inline'`, as
 * nbconvert's `repr()` writes them); undefined for anything else (prefixes, other escapes, names).
 */
export function parseStringLiterals(text: string): string[] | undefined {
  const values: string[] = [];
  const literal = /\s*(['"])((?:\\[ntr\\'"]|(?!\1)[^\\\n])*)\1\s*(,|$)/y;
  let at = 0;
  while (at < text.length) {
    literal.lastIndex = at;
    const match = literal.exec(text);
    if (!match) return undefined;
    values.push(match[2].replace(/\\(.)/g, (_, ch: string) => ESCAPES[ch]));
    at = literal.lastIndex;
    if (match[3] === '') break;
  }
  return at === text.length ? values : undefined;
}
