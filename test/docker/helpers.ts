/**
 * Shared by the Docker tests: a real engine or a loud skip (a failure when CI=true), fresh copies
 * of the fixture pipeline in temp dirs, and cleanup of the images a test tagged.
 */
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import type { TestContext } from 'node:test';
import { createDockerEngine } from '../../src/core/docker/dockerode-engine';
import type { ContainerEngine } from '../../src/core/docker/engine';
import { DEFAULT_BASE_IMAGE, generateDockerfile } from '../../src/core/generate/dockerfile';
import { generateDockerignore } from '../../src/core/generate/dockerignore';

export const ROOT = path.resolve(__dirname, '..', '..', '..');
export const FIXTURE = path.join(ROOT, 'test', 'fixtures', 'pipeline-basic');

let probe: Promise<{ engine?: ContainerEngine; reason?: string }> | undefined;

/** The real engine, or undefined after skipping the test with a loud notice (never in CI). */
export async function requireEngine(t: TestContext): Promise<ContainerEngine | undefined> {
  probe ??= (async () => {
    const engine = createDockerEngine(process.env);
    try {
      await engine.info();
    } catch (e) {
      return { reason: (e as Error).message };
    }
    const base = await engine.findImages({}).then((images) => images.some((i) => i.tags.includes(DEFAULT_BASE_IMAGE)));
    if (!base) return { reason: `base image ${DEFAULT_BASE_IMAGE} is missing: run bash test/setup/base-image.sh` };
    return { engine };
  })();
  const { engine, reason } = await probe;
  if (engine) return engine;
  if (process.env.CI === 'true') throw new Error(`Docker tests must run in CI: ${reason}`);
  process.stderr.write(`\n!!! SKIPPING Docker test "${t.name}": ${reason}\n!!! Run bash test/setup/docker.sh to get an engine.\n\n`);
  t.skip(`no Docker engine: ${reason}`);
  return undefined;
}

const temps: string[] = [];

export async function tempDir(prefix = 'nb2prod-docker-'): Promise<string> {
  const dir = await fs.promises.mkdtemp(path.join(os.tmpdir(), prefix));
  temps.push(dir);
  return dir;
}

/** Call from after(): the context tests leave 50 MB files behind otherwise. */
export async function removeTempDirs(): Promise<void> {
  for (const dir of temps.splice(0)) await fs.promises.rm(dir, { recursive: true, force: true });
}

/** A fresh copy of the fixture pipeline whose Dockerfile and .dockerignore come from today's generators. */
export async function copyFixture(parent?: string, notebookPath?: string): Promise<string> {
  const dir = path.join(parent ?? (await tempDir()), 'pipeline');
  await fs.promises.cp(FIXTURE, dir, { recursive: true, filter: (src) => !src.includes('__pycache__') });
  const manifest = JSON.parse(await fs.promises.readFile(path.join(dir, 'pipeline.json'), 'utf8'));
  const dockerfile = generateDockerfile({
    baseImage: DEFAULT_BASE_IMAGE,
    packageName: manifest.package,
    notebookPath: notebookPath ?? manifest.notebook.path,
    notebookHash: manifest.notebook.hash,
    planHash: manifest.planHash,
  });
  await fs.promises.writeFile(path.join(dir, 'Dockerfile'), dockerfile);
  await fs.promises.writeFile(path.join(dir, '.dockerignore'), generateDockerignore());
  // A unique context per copy: identical contexts share an image ("up to date") across tests.
  await fs.promises.appendFile(path.join(dir, 'basic', '__init__.py'), `# test copy ${crypto.randomBytes(6).toString('hex')}\n`);
  return dir;
}

/** A repository name no other test or user shares, so cleanup removes only what we made. */
export function testRepository(): string {
  return `nb2prod-test/t${crypto.randomBytes(4).toString('hex')}`;
}

/** Removes every tag in `repository`; an image shared with other tags (base images) stays. */
export async function removeRepository(engine: ContainerEngine, repository: string): Promise<void> {
  const images = await engine.findImages({});
  for (const tag of images.flatMap((i) => i.tags).filter((t) => t.startsWith(`${repository}:`))) {
    await engine.removeImage(tag).catch(() => undefined);
  }
}

export async function sha256File(file: string): Promise<string> {
  return crypto.createHash('sha256').update(await fs.promises.readFile(file)).digest('hex');
}

/** The CLI in this process: Docker tests read what a command printed. */
export { cliInProcess as cli } from '../helpers/cli';
