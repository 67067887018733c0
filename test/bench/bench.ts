/** `npm run bench`: every area's figures in one run, each beside its baseline. */
import { existsSync } from 'fs';
import * as path from 'path';

type Section = { title: string; module: string; fn: string };

const SECTIONS: Section[] = [
  { title: 'Core: plan + generate', module: './core', fn: 'benchCore' },
  { title: 'Python parser choice', module: './parser', fn: 'benchParser' },
  { title: 'Lineage store', module: './lineage', fn: 'benchLineage' },
  { title: 'Export (nb2prod export kfp|argo)', module: './export', fn: 'benchExport' },
  { title: 'Pipeline Graph layout', module: './graph', fn: 'benchGraph' },
  { title: 'Containers', module: './docker', fn: 'benchDocker' },
  { title: 'Parallel steps (run --jobs)', module: './jobs', fn: 'benchJobs' },
  { title: 'Object store (checkout)', module: './store', fn: 'benchStore' },
  { title: 'Three million rows (python -m beside the notebook as a script)', module: './rows', fn: 'benchRows' },
  { title: 'Serving (python -m <pkg>._serve: HTTP beside predict in-process)', module: './serve', fn: 'benchServe' },
];

async function main(): Promise<void> {
  const only = process.argv[2];
  for (const section of SECTIONS) {
    if (only && !section.module.endsWith(only)) continue;
    if (!existsSync(path.join(__dirname, `${section.module}.js`))) continue;
    console.log(`\n## ${section.title}`);
    const started = Date.now();
    try {
      const mod = await import(section.module);
      await mod[section.fn]((row: string) => console.log(row));
    } catch (e) {
      console.log(`  failed: ${e instanceof Error ? e.message : e}`);
      process.exitCode = 1;
    }
    console.log(`  (${((Date.now() - started) / 1000).toFixed(1)}s)`);
  }
}

void main();
