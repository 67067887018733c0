/**
 * Containers: cold build (no layer cache), rebuild after editing one step, unchanged build,
 * and the bytes sent as context, with the real engine, as ratios of the cold build of this run.
 */
import * as fs from 'fs';
import * as path from 'path';
import { buildPipeline } from '../../src/core/docker/build';
import { createDockerEngine } from '../../src/core/docker/dockerode-engine';
import { copyFixture, removeRepository, removeTempDirs, testRepository } from '../docker/helpers';

export async function benchDocker(print: (row: string) => void): Promise<void> {
  const engine = createDockerEngine(process.env);
  try {
    await engine.info();
  } catch (e) {
    print(`  skipped: ${(e as Error).message}`);
    return;
  }
  const repository = testRepository();
  const dir = await copyFixture();
  try {
    const cold = await buildPipeline({ dir, engine, repository, noCache: true });
    if (cold.status !== 'succeeded') throw new Error(`cold build ${cold.status}: ${cold.error?.describe()}`);
    await fs.promises.appendFile(path.join(dir, 'basic', 'steps', 'train.py'), '\n# one-step edit\n');
    const rebuild = await buildPipeline({ dir, engine, repository });
    if (rebuild.status !== 'succeeded') throw new Error(`rebuild ${rebuild.status}: ${rebuild.error?.describe()}`);
    const unchanged = await buildPipeline({ dir, engine, repository });
    const pip = rebuild.steps.find((s) => s.instruction.startsWith('RUN pip install'));

    const row = (name: string, seconds: number, note: string) =>
      print(`  ${name.padEnd(26)} ${seconds.toFixed(2).padStart(6)} s  ${(seconds / cold.seconds).toFixed(3).padStart(6)} x cold  ${note}`);
    row('cold build (no cache)', cold.seconds, `${cold.steps.length} steps`);
    row('rebuild after 1-step edit', rebuild.seconds, `${rebuild.cacheHits}/${rebuild.steps.length} steps cached; requirements layer ${pip?.cached ? 'reused' : 'REBUILT'}`);
    row('unchanged build', unchanged.seconds, `${unchanged.status}, ${unchanged.sentBytes} bytes sent`);
    print(`  context: ${cold.contextFiles} files, ${cold.contextBytes} bytes of files, ${cold.sentBytes} bytes of tar`);
  } finally {
    await removeRepository(engine, repository);
    await removeTempDirs();
  }
}
