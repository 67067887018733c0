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
  const body = { ...stripStoredFields(input), ts: fields.ts, parents: fields.parents, prev: fields.prev };
  const id = contentId(JSON.stringify(body));
  const record = { id, ...body } as LineageRecord;
  return { record, line: JSON.stringify(record) };
}

export function contentId(bodyJson: string): string {
  return sha256(bodyJson).slice(0, ID_LENGTH);
}

/** The id this parsed record should have, given its content. */
export function expectedId(record: Record<string, unknown>): string {
  const { id: _id, ...body } = record;
  return contentId(JSON.stringify(body));
}

// Callers may pass a record they read back; the store owns these fields.
function stripStoredFields(input: RecordInput): RecordInput {
  const { id: _i, ts: _t, parents: _p, prev: _v, ...rest } = input as RecordInput & Partial<LineageRecord>;
  return rest as RecordInput;
}
