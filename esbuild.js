// Bundles the extension and the CLI. Heavy parsers stay separate entry points so they load on first use.
const esbuild = require('esbuild');

const watch = process.argv.includes('--watch');
const production = process.argv.includes('--production');

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
};

const entries = [
  { entryPoints: ['src/cli.ts'], outfile: 'dist/cli.js', banner: { js: '#!/usr/bin/env node' } },
  { entryPoints: ['src/extension.ts'], outfile: 'dist/extension.js' },
];

async function main() {
  const fs = require('fs');
  const existing = entries.filter((e) => fs.existsSync(e.entryPoints[0]));
  const contexts = await Promise.all(existing.map((e) => esbuild.context({ ...common, ...e })));
  if (watch) {
    await Promise.all(contexts.map((c) => c.watch()));
    return;
  }
  await Promise.all(contexts.map((c) => c.rebuild()));
  await Promise.all(contexts.map((c) => c.dispose()));
  if (fs.existsSync('dist/cli.js')) fs.chmodSync('dist/cli.js', 0o755);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
