// Entry of dist/tar-stream.js: tar-stream with its stream polyfills (about 130 KB), required
// only when a build context is sent to Docker (src/core/docker/context.ts, which types it).
// eslint-disable-next-line @typescript-eslint/no-require-imports
export const pack: unknown = (require('tar-stream') as { pack: unknown }).pack;
