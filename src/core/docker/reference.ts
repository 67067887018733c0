/** Image reference strings, shared by push and the lineage views (which must not import push). */

/** `host/ns/name:tag` + `sha256:...` → `host/ns/name@sha256:...` */
export function digestReference(reference: string, digest: string): string {
  const colon = reference.lastIndexOf(':');
  // A colon before the last slash is a registry port, not a tag.
  const repository = colon > reference.lastIndexOf('/') ? reference.slice(0, colon) : reference;
  return `${repository}@${digest}`;
}
