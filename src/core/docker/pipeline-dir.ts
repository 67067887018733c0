/**
 * What build and run read from a generated pipeline directory: pipeline.json (the manifest)
 * and, after a run, `<artifacts>/<run-id>/run.json`. Names and steps come only from these.
 */
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import { Nb2prodError } from '../errors';

export type { PipelineManifest } from '../generate/manifest';
import type { PipelineManifest } from '../generate/manifest';

export interface RunStepRecord {
  name: string;
  status: string;
  seconds: number;
  error?: string;
}

export interface RunArtifact {
  /** Relative to the run directory. */
  path: string;
  sha256: string;
  bytes: number;
  step: string;
  name: string;
}

export interface RunRecord {
  run_id: string;
  params: Record<string, unknown>;
  /**
   * 'partial': merged from the step records of a run whose steps ran one by one (`--only`), not
   * all yet. 'cancelled': written by `run --jobs` when the run was stopped.
   */
  status: 'succeeded' | 'failed' | 'partial' | 'cancelled';
  started: string;
  finished: string;
  steps: RunStepRecord[];
  artifacts: RunArtifact[];
  metrics: Record<string, unknown>;
}

export async function readManifest(dir: string): Promise<PipelineManifest> {
  const file = path.join(dir, 'pipeline.json');
  let text: string;
  try {
    text = await fs.promises.readFile(file, 'utf8');
  } catch {
    throw new Nb2prodError(`${dir} is not a pipeline directory (no pipeline.json); run nb2prod productionize first`);
  }
  let manifest: PipelineManifest;
  try {
    manifest = JSON.parse(text);
  } catch (e) {
    throw new Nb2prodError(`pipeline.json is not valid JSON: ${(e as Error).message}`, { file });
  }
  if (typeof manifest.package !== 'string' || !/^[A-Za-z_][A-Za-z0-9_]*$/.test(manifest.package)) {
    throw new Nb2prodError('pipeline.json has no valid "package" name', { file });
  }
  if (typeof manifest.slug !== 'string' || !manifest.slug) {
    throw new Nb2prodError('pipeline.json has no "slug"', { file });
  }
  return manifest;
}

export async function readRunRecord(file: string): Promise<RunRecord> {
  const record = JSON.parse(await fs.promises.readFile(file, 'utf8')) as RunRecord;
  if (typeof record.run_id !== 'string' || !Array.isArray(record.steps)) {
    throw new Nb2prodError('run.json lacks run_id or steps', { file });
  }
  return record;
}

/** `20250101-120000-a1b2c3`: sorts by time, unique enough for one workspace. */
export function newRunId(now = new Date()): string {
  const stamp = now.toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
  return `${stamp}-${crypto.randomBytes(3).toString('hex')}`;
}

export interface RunnerArgs {
  params: string[];
  only?: string;
  from?: string;
  runId: string;
  artifactsDir: string;
}

/** Arguments for `python -m <pkg>`; params are checked here so a typo fails before a container starts. */
export function runnerArgs(opts: RunnerArgs): string[] {
  const args: string[] = [];
  for (const p of opts.params) {
    if (!/^[A-Za-z_][A-Za-z0-9_]*=/.test(p)) throw new Nb2prodError(`--param '${p}' is not NAME=VALUE`);
    args.push('--param', p);
  }
  if (opts.only) args.push('--only', opts.only);
  if (opts.from) args.push('--from', opts.from);
  args.push('--artifacts', opts.artifactsDir, '--run-id', opts.runId);
  return args;
}

/** Image repository for a slug: `nb2prod/<imageName(slug)>`. */
export function imageRepository(slug: string): string {
  return `nb2prod/${imageName(slug)}`;
}

/** A slug as one repository path component: Docker wants lowercase `[a-z0-9]` runs joined by `.`, `_` or `-`. */
export function imageName(slug: string): string {
  const safe = slug
    .toLowerCase()
    .replace(/[^a-z0-9._-]+/g, '-')
    .replace(/^[._-]+|[._-]+$/g, '')
    .replace(/[._-]{2,}/g, '-');
  return safe || 'pipeline';
}
