/**
 * extensionTestsPath: VS Code loads this inside the extension host and awaits `run()`.
 * Mocha runs every compiled `*.test.js` next to this file; NB2PROD_E2E_UNTRUSTED=1 selects
 * the Restricted Mode tests (`untrusted.test.js`) instead of the rest.
 */
import * as fs from 'fs';
import * as path from 'path';
import Mocha from 'mocha';

export async function run(): Promise<void> {
  const untrusted = process.env.NB2PROD_E2E_UNTRUSTED === '1';
  const mocha = new Mocha({ ui: 'bdd', color: false, timeout: 60_000, reporter: 'spec' });
  const files = fs
    .readdirSync(__dirname)
    .filter((f) => f.endsWith('.test.js'))
    .filter((f) => (f === 'untrusted.test.js') === untrusted)
    .sort();
  if (process.env.NB2PROD_E2E_GREP) mocha.grep(process.env.NB2PROD_E2E_GREP);
  for (const f of files) mocha.addFile(path.join(__dirname, f));
  await new Promise<void>((resolve, reject) => {
    mocha.run((failures) => (failures ? reject(new Error(`${failures} test(s) failed`)) : resolve()));
  });
}
