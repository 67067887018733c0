/**
 * The audit chain. Each line carries `prev`, the sha256 of the previous line's exact bytes
 * (without its newline), and `id`, a digest of its own content. Editing a line breaks its own id;
 * deleting or reordering lines breaks the next line's `prev`.
 */
import { createHash } from 'crypto';
import type { LineageRecord, RecordInput } from './records';

export const ID_LENGTH = 16;

export function sha256(data: string | Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

/**
 * Serialize a record to its line (no newline). `id` comes first so lines read well; the id is
 * computed over `JSON.stringify` of the rest, which `JSON.parse` + `JSON.stringify` reproduces.
 */
export function sealRecord(
  input: RecordInput,
  fields: { ts: string; parents: string[]; prev: string },
): { record: LineageRecord; line: string } {
  const rest = stripStoredFields(input) as unknown as Record<string, unknown>;
  // Key order is fixed so a reader can take what the tree needs from the start of a line without
  // parsing it all (see scanChunk); `prev` is last so a line cut short never looks complete.
  const body: Record<string, unknown> = { type: rest.type, ts: fields.ts, notebook: rest.notebook };
  for (const key of HEADER_KEYS) if (rest[key] !== undefined) body[key] = rest[key];
  for (const key of Object.keys(rest)) if (!(key in body)) body[key] = rest[key];
  body.parents = fields.parents;
  body.prev = fields.prev;
  const id = contentId(JSON.stringify(body));
  const record = { id, ...body } as unknown as LineageRecord;
  return { record, line: JSON.stringify(record) };
}

/** Keys written right after `id, type, ts, notebook`, when present. */
export const HEADER_KEYS = ['versionId', 'buildId', 'status'] as const;

export function contentId(bodyJson: string): string {
  return sha256(bodyJson).slice(0, ID_LENGTH);
}

/** The id this parsed record should have, given its content. */
export function expectedId(record: Record<string, unknown>): string {
  const { id: _id, ...body } = record;
  return contentId(JSON.stringify(body));
}

// Callers may pass a record they read back; the store owns these fields. Undefined values are
// dropped here so they cannot take a place in the key order.
function stripStoredFields(input: RecordInput): RecordInput {
  const { id: _i, ts: _t, parents: _p, prev: _v, ...rest } = input as RecordInput & Partial<LineageRecord>;
  for (const key of Object.keys(rest)) if ((rest as Record<string, unknown>)[key] === undefined) delete (rest as Record<string, unknown>)[key];
  return rest as RecordInput;
}
