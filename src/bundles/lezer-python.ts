// Entry of dist/lezer-python.js: lezer's Python grammar (about 200 KB), required only when a
// generated step body is re-indented (src/core/generate/python/indent.ts).
export { parser } from '@lezer/python';
