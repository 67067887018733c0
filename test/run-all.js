#!/usr/bin/env node
// `npm test`: unit tests (plain node), then Docker tests (real engine), then VS Code tests (real VS Code server).
// Each suite is a separate process so one failing does not hide the others; the exit code is the worst.
const { spawnSync } = require('child_process');
const fs = require('fs');
const path = require('path');

const root = path.resolve(__dirname, '..');
const out = path.join(root, 'out', 'test');

function testFiles(dir) {
  if (!fs.existsSync(dir)) return [];
  return fs
    .readdirSync(dir, { recursive: true })
    .filter((f) => f.endsWith('.test.js'))
    .map((f) => path.join(dir, f))
    .sort();
}

const suites = [
  { name: 'unit', args: ['--test', '--test-reporter=spec', ...testFiles(path.join(out, 'unit'))] },
  {
    name: 'docker',
    args: ['--test', '--test-reporter=spec', '--test-concurrency=1', ...testFiles(path.join(out, 'docker'))],
  },
  { name: 'vscode', args: [path.join(out, 'e2e', 'run.js')], when: fs.existsSync(path.join(out, 'e2e', 'run.js')) },
];

const only = process.argv[2];
let worst = 0;
for (const suite of suites) {
  if (only && suite.name !== only) continue;
  if (suite.when === false || (suite.args[0] === '--test' && suite.args.length <= 3 + (suite.name === 'docker'))) {
    console.log(`\n=== ${suite.name}: no tests ===`);
    continue;
  }
  console.log(`\n=== ${suite.name} tests ===`);
  const started = Date.now();
  const r = spawnSync(process.execPath, suite.args, { stdio: 'inherit', cwd: root });
  const code = r.status ?? 1;
  console.log(`=== ${suite.name}: ${code === 0 ? 'passed' : `FAILED (exit ${code})`} in ${((Date.now() - started) / 1000).toFixed(1)}s ===`);
  worst = Math.max(worst, code);
}
process.exit(worst);
