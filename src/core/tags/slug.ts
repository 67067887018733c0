/**
 * Safe names from untrusted text (tags, headings, file names). The result matches
 * [a-z_][a-z0-9_]*, is never a Python or JS keyword, and is usable as a path segment,
 * a Python identifier and a Docker repository component.
 */
const RESERVED = new Set(
  (
    'False None True and as assert async await break class continue def del elif else except finally for from ' +
    'global if import in is lambda nonlocal not or pass raise return try while with yield match case type ' +
    // JS reserved words, so one slug serves both generators
    'const let var function new delete typeof instanceof void this super export default extends switch do ' +
    'enum implements interface package private protected public static catch throw debugger null true false ' +
    // names the generated packages use themselves
    'run main shared steps params inputs outputs'
  )
    .toLowerCase()
    .split(' '),
);

export function slugify(text: string, fallback = 'step'): string {
  let slug = text
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '_')
    .replace(/^_+|_+$/g, '')
    .slice(0, 48)
    .replace(/_+$/, '');
  if (!slug) slug = fallback;
  if (/^[0-9]/.test(slug)) slug = `${fallback}_${slug}`;
  if (RESERVED.has(slug)) slug = `${slug}_${fallback}`;
  return slug;
}

/** Hands out unique slugs; the same label always gets the same slug. */
export class SlugRegistry {
  private readonly byLabel = new Map<string, string>();
  private readonly used = new Set<string>();

  constructor(private readonly fallback = 'step') {}

  get(label: string): string {
    const known = this.byLabel.get(label);
    if (known) return known;
    const base = slugify(label, this.fallback);
    let slug = base;
    for (let n = 2; this.used.has(slug); n++) slug = `${base}_${n}`;
    this.byLabel.set(label, slug);
    this.used.add(slug);
    return slug;
  }

  has(label: string): boolean {
    return this.byLabel.has(label);
  }
}
