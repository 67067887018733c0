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
