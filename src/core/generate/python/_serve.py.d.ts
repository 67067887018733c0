/** `_serve.py` as text: esbuild bundles it with the 'text' loader (esbuild.js), tests get it from test/runtime-files.js. */
declare const source: string;
export default source;
