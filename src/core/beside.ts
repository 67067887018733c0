import * as fs from 'fs';
import * as path from 'path';

/**
 * A dependency kept out of the main bundles so starting the CLI or the extension never parses
 * it: required from its own bundle beside the running one (dist/<bundleFile>, see esbuild.js),
 * or from node_modules when running tsc's output. The computed module id keeps esbuild from
 * inlining it.
 */
export function requireBeside<T>(bundleFile: string, packageName: string): T {
  const bundled = path.join(__dirname, bundleFile);
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return require(fs.existsSync(bundled) ? bundled : packageName) as T;
}
