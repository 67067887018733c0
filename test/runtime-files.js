#!/usr/bin/env node
// The runtime files generated packages carry (src/core/generate/**/_runtime.*, _serve.py) reach the bundles as
// text through esbuild (esbuild.js). Unit tests import the same sources compiled by tsc, whose
// `require('./_runtime.py')` needs a file beside the compiled module: written here as a module
// exporting the text (Node loads an unknown extension as CommonJS; `.mjs` as an ES module).
const fs = require('fs');
const path = require('path');

const root = path.resolve(__dirname, '..');
const from = path.join(root, 'src', 'core', 'generate');
const to = path.join(root, 'out', 'src', 'core', 'generate');

for (const file of fs.readdirSync(from, { recursive: true })) {
  if (!/^_(?:runtime|serve)\.[^.]+$/.test(path.basename(file))) continue;
  const text = JSON.stringify(fs.readFileSync(path.join(from, file), 'utf8'));
  const target = path.join(to, file);
  fs.mkdirSync(path.dirname(target), { recursive: true });
  fs.writeFileSync(target, file.endsWith('.mjs') ? `export default ${text};\n` : `module.exports = ${text};\n`);
}
