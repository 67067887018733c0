/**
 * The tag grammar (DESIGN.md): ours first, then Kale's and Papermill's for compatibility.
 * Tags are data from the notebook: they are only ever parsed here, and names leave this
 * module as labels; `slug.ts` turns them into identifiers.
 */
export type CellRole = 'step' | 'skip' | 'imports' | 'functions' | 'parameters' | 'metrics' | 'serve';

export interface CellTags {
  role: CellRole;
  /** `step:NAME` / `block:NAME`: starts (or rejoins) the step NAME. */
  stepName?: string;
  /** Kale's bare `block:`: explicitly continues the step above. */
  continues: boolean;
  /** `after:NAME`, `prev:NAME`, `prev:a:b`. */
  after: string[];
  resources: Record<string, string>;
  image?: string;
  /** `serve:NAME`: the function of a `serve` cell that serves the model, when the cell defines several. */
  serveName?: string;
  /** `raises-exception` (nbclient's): the notebook expects the cell to fail and runs on after it. */
  raisesException: boolean;
  /** Tags we do not know; kept for a notice, never an error (notebooks carry many tags). */
  unknown: string[];
}

const ROLE_TAGS: Record<string, CellRole> = {
  skip: 'skip',
  // nbclient (nbconvert --execute, papermill, Jupyter Book) never runs a cell tagged so.
  'skip-execution': 'skip',
  imports: 'imports',
  functions: 'functions',
  parameters: 'parameters',
  'pipeline-parameters': 'parameters',
  metrics: 'metrics',
  'pipeline-metrics': 'metrics',
  // Defines the function that serves the model (issue 14): not a step; steps may call it.
  serve: 'serve',
};

/** Roles that take the cell out of the step flow win over a step tag on the same cell. */
const ROLE_PRIORITY: CellRole[] = ['skip', 'serve', 'parameters', 'metrics', 'imports', 'functions'];

export function parseCellTags(tags: readonly string[]): CellTags {
  const parsed: CellTags = { role: 'step', continues: false, after: [], resources: {}, raisesException: false, unknown: [] };
  const roles = new Set<CellRole>();
  for (const tag of tags) {
    const colon = tag.indexOf(':');
    const head = colon === -1 ? tag : tag.slice(0, colon);
    const rest = colon === -1 ? undefined : tag.slice(colon + 1);
    if (rest === undefined && ROLE_TAGS[tag]) {
      roles.add(ROLE_TAGS[tag]);
      continue;
    }
    if (tag === 'raises-exception') {
      parsed.raisesException = true;
      continue;
    }
    switch (head) {
      case 'step':
      case 'block':
        if (rest === undefined) parsed.unknown.push(tag);
        else if (rest.trim() === '') parsed.continues = true;
        else parsed.stepName = rest.trim();
        break;
      case 'after':
      case 'prev':
        if (rest) parsed.after.push(...rest.split(':').map((s) => s.trim()).filter(Boolean));
        else parsed.unknown.push(tag);
        break;
      case 'limit': {
        const sep = rest?.lastIndexOf(':') ?? -1;
        if (rest && sep > 0) parsed.resources[rest.slice(0, sep)] = rest.slice(sep + 1);
        else parsed.unknown.push(tag);
        break;
      }
      case 'serve':
        if (rest?.trim()) {
          roles.add('serve');
          parsed.serveName = rest.trim();
        } else parsed.unknown.push(tag);
        break;
      case 'image':
        if (rest) parsed.image = rest;
        else parsed.unknown.push(tag);
        break;
      default:
        parsed.unknown.push(tag);
    }
  }
  parsed.role = ROLE_PRIORITY.find((r) => roles.has(r)) ?? 'step';
  return parsed;
}

export function hasStepTags(tagLists: readonly (readonly string[])[]): boolean {
  return tagLists.some((tags) => tags.some((t) => /^(step|block):./.test(t)));
}
