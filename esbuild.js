// Bundles the extension and the CLI. Heavy parsers stay separate entry points so they load on first use.
const esbuild = require('esbuild');

const watch = process.argv.includes('--watch');
const production = process.argv.includes('--production');

/**
 * Analyses cached on disk (src/core/analysis/persistent.ts) are valid only for the analyser
 * that made them: its sources and the exact parser and TypeScript versions.
 */
function analysisBuildId() {
  const fs = require('fs');
  const path = require('path');
  const hash = require('crypto').createHash('sha256');
  const files = fs
    .readdirSync('src/core/analysis', { recursive: true })
    .map((f) => path.join('src/core/analysis', f))
    .filter((f) => f.endsWith('.ts'))
    .sort();
  for (const file of [...files, 'package-lock.json']) hash.update(file).update(fs.readFileSync(file));
  return hash.digest('hex').slice(0, 16);
}

/**
 * `import * as fs from 'fs'` becomes `__toESM(require("fs"))` in a CommonJS bundle: a copy of
 * the module object with a getter per property, made once per importing file (50 in the CLI).
 * Starting the CLI cost 45 ms more with them (`--version`, median of 21 runs). Our sources are
 * loaded as `import fs = require('fs')` instead, which esbuild turns into a plain require:
 * Node's built-in modules need no ES-module wrapper.
 */
const BUILTIN_NAMESPACE_IMPORT = /^import \* as (\w+) from '(?:node:)?(fs|path|os|crypto|v8|url|util|child_process|stream|zlib|net)';$/gm;
const plainBuiltins = {
  name: 'plain-builtins',
  setup(build) {
    const fs = require('fs');
    build.onLoad({ filter: /[\\/]src[\\/].*\.ts$/ }, (args) => ({
      contents: fs.readFileSync(args.path, 'utf8').replace(BUILTIN_NAMESPACE_IMPORT, "import $1 = require('$2');"),
      loader: 'ts',
    }));
  },
};

/**
 * The runtimes generated packages carry (`_runtime.py`, `_runtime.mjs`, the server `_serve.py`) are real files under
 * src/core/generate, so they can be read, linted and run as what they are; the bundles hold
 * their text. test/runtime-files.js gives unit tests (compiled by tsc) the same text.
 */
const RUNTIME_FILE = /[\\/]src[\\/]core[\\/]generate[\\/](?:.*[\\/])?_(?:runtime|serve)\.[^\\/.]+$/;
const runtimeText = {
  name: 'runtime-text',
  setup(build) {
    const fs = require('fs');
    build.onLoad({ filter: RUNTIME_FILE }, (args) => ({ contents: fs.readFileSync(args.path, 'utf8'), loader: 'text' }));
  },
};

const common = {
  bundle: true,
  format: 'cjs',
  platform: 'node',
  target: 'node20',
  sourcemap: !production,
  minify: production,
  logLevel: 'info',
  // ssh2 (via dockerode) has optional native parts; they are loaded in try/catch and may be absent.
  external: ['vscode', 'cpu-features', '*.node'],
  // web-tree-sitter is an ES module that calls createRequire(import.meta.url); in a CommonJS
  // bundle import.meta is empty, so point it at the bundle file itself.
  define: { 'import.meta.url': '__nb2prodImportMetaUrl', NB2PROD_ANALYSIS_BUILD: JSON.stringify(analysisBuildId()) },
  plugins: [plainBuiltins, runtimeText],
  banner: { js: "const __nb2prodImportMetaUrl = require('url').pathToFileURL(__filename).href;" },
};

/** Webview scripts run in the browser page of a webview: one IIFE each, no Node. */
const webview = { platform: 'browser', format: 'iife', target: 'chrome120', banner: {}, define: {}, external: [] };

const entries = [
  { entryPoints: ['src/cli.ts'], outfile: 'dist/cli.js', banner: { js: `#!/usr/bin/env node\n${common.banner.js}` } },
  { entryPoints: ['src/extension.ts'], outfile: 'dist/extension.js' },
  // dockerode pulls in ssh2 and grpc: its own file, required when a command first talks to Docker.
  { entryPoints: ['src/bundles/dockerode.ts'], outfile: 'dist/dockerode.js' },
  // Loaded on first use too (src/core/beside.ts): a second Python grammar for re-indenting
  // generated code, and tar-stream for build contexts.
  { entryPoints: ['src/bundles/lezer-python.ts'], outfile: 'dist/lezer-python.js' },
  { entryPoints: ['src/bundles/tar-stream.ts'], outfile: 'dist/tar-stream.js' },
  // ts-morph is 14 MB of JavaScript: its own file, required only when a TS/JS notebook is analysed.
  { entryPoints: ['src/core/analysis/typescript/engine.ts'], outfile: 'dist/ts-analyzer.js', minify: true, sourcemap: false },
  // The Pipeline Graph and Compare Runs pages: loaded by their webviews, never by the extension host.
  { entryPoints: ['src/webview/graph/main.ts'], outfile: 'dist/webview/graph.js', ...webview },
  { entryPoints: ['src/webview/runs/main.ts'], outfile: 'dist/webview/runs.js', ...webview },
];

// The Python parser is tree-sitter compiled to WebAssembly: the bundles load these two files
// from next to themselves (see src/core/analysis/python/parser.ts).
const WASM = ['web-tree-sitter/web-tree-sitter.wasm', 'tree-sitter-python/tree-sitter-python.wasm'];

function copyWasm() {
  const fs = require('fs');
  const path = require('path');
  fs.mkdirSync('dist', { recursive: true });
  for (const file of WASM) fs.copyFileSync(require.resolve(file), path.join('dist', path.basename(file)));
}

async function main() {
  const fs = require('fs');
  const existing = entries.filter((e) => fs.existsSync(e.entryPoints[0]));
  const contexts = await Promise.all(existing.map((e) => esbuild.context({ ...common, ...e })));
  if (watch) {
    copyWasm();
    await Promise.all(contexts.map((c) => c.watch()));
    return;
  }
  await Promise.all(contexts.map((c) => c.rebuild()));
  await Promise.all(contexts.map((c) => c.dispose()));
  if (fs.existsSync('dist/cli.js')) fs.chmodSync('dist/cli.js', 0o755);
  copyWasm();
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
