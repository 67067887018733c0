/**
 * The serving bundle (see serve.json below): the generated package of a run's version and the
 * artifacts its serving function needs, restored by sha256 from the object store into a
 * temporary directory. Nothing is read from the workspace's current package: a bundle serves
 * exactly what the run used, even after the notebook moved on.
 *
 * Layout of the directory returned (the serving image's build context):
 *   Dockerfile            written by image.ts
 *   requirements.txt      the version's
 *   srv/                  the bundle, /srv in the image
 *     <pkg>/...           the version's package
 *     artifacts/<sha256>  each needed artifact and the calls file
 *     serve.json
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { Nb2prodError } from '../errors';
import { hashFile } from '../lineage/hashing';
import type { RunNode, VersionNode } from '../lineage/model';
import type { ArtifactHash, FileHash, LineageRecord } from '../lineage/records';
import { mapLimited } from '../mapLimited';
import { prunedObjects } from '../store/checkout';
import type { ObjectStore } from '../store/objects';
import type { ServeManifest } from '../generate/manifest';

export const SERVE_SCHEMA = 1;
/** The bundle inside the image context, and where the image keeps it. */
export const BUNDLE_DIR = 'srv';
export const CONTAINER_BUNDLE = '/srv';

/** pipeline.json's `serve` section (made by the planner from the `serve` cell). */
export type ServeSection = ServeManifest;

export interface BundleArtifact {
  name: string;
  step: string;
  sha256: string;
  /** `artifacts/<sha256>`, relative to the bundle. */
  path: string;
  /** The file name the run wrote (`model.pkl`, `X.npy`): its suffix tells the runtime's loader the format. */
  file: string;
}

/** serve.json: what the server loads, checks and answers to. */
export interface ServeJson {
  schema: number;
  model: string;
  package: string;
  module: string;
  function: string;
  form: ServeSection['form'];
  fields: ServeSection['fields'];
  fieldsFrom: ServeSection['fieldsFrom'];
  runId: string;
  /** The lineage record id of the run's version. */
  version: string;
  artifacts: BundleArtifact[];
  calls: { sha256: string; path: string; file: string; step: string } | null;
  /** Parameters the function reads whose value in the run is not the pipeline's default (bound like the artifacts). */
  params: Record<string, unknown>;
}

export interface Bundle {
  /** The temporary directory: the image's build context. */
  root: string;
  /** `<root>/srv`: what `--bundle` points at. */
  dir: string;
  serve: ServeJson;
  section: ServeSection;
  run: RunNode;
  version: VersionNode;
  /** The pipeline's base image, as its Dockerfile names it. */
  baseImage: string;
  /** Removes the temporary directory; safe to call twice. */
  dispose(): Promise<void>;
}

export interface BundleOptions {
  run: RunNode;
  objects: ObjectStore;
  workspaceDir: string;
  /** Every record, read only to say when gc pruned something the bundle needs. */
  records?: () => readonly LineageRecord[];
}

const FILES_AT_ONCE = 8;
const SHA256 = /^[0-9a-f]{64}$/;

export async function assembleBundle(options: BundleOptions): Promise<Bundle> {
  const { run } = options;
  const version = run.version;
  if (!version) throw new Nb2prodError(`run ${run.record.runId} names no version in the lineage store, so the code it ran is unknown`);
  if (run.record.status !== 'succeeded') throw new Nb2prodError(`run ${run.record.runId} ${run.record.status}: only a run that succeeded can be served`);
  const v = version.record;
  const byPath = new Map(v.files.map((f) => [f.path, f]));
  const at = (rel: string) => byPath.get(path.posix.join(v.outDir, rel));
  const restorer = new Restorer(options);

  const manifestFile = at('pipeline.json');
  if (!manifestFile) throw new Nb2prodError(`version ${version.id} recorded no pipeline.json, so what it serves is unknown; productionize the notebook again and run it`);
  let manifest: { slug?: string; package?: string; baseImage?: string; params?: Record<string, unknown>; serve?: ServeSection };
  try {
    manifest = JSON.parse(await restorer.read(manifestFile));
  } catch (e) {
    if (e instanceof Nb2prodError) throw e;
    throw new Nb2prodError(`the pipeline.json of version ${version.id} is not valid JSON: ${(e as Error).message}`);
  }
  const section = manifest.serve;
  if (!section) {
    throw new Nb2prodError(
      `version ${version.id} of ${v.notebook} has no serving function: tag the cell that defines it (e.g. def predict(features: dict) -> dict) serve, then productionize and run the notebook again`,
      undefined,
      'NO_SERVE_CELL',
    );
  }
  const pkg = v.package;
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(pkg)) throw new Nb2prodError(`version ${version.id} names no valid package (${JSON.stringify(pkg)})`);
  const model = manifest.slug ?? pkg;

  const find = (name: string, step: string): ArtifactHash => {
    const hit = (run.record.artifacts ?? []).find((a) => a.step === step && a.name === name);
    if (!hit) {
      throw new Nb2prodError(
        `run ${run.record.runId} recorded no artifact '${name}' of step ${step}, which ${section.function} needs: run the pipeline again with this version (a run of only some steps does not save it)`,
      );
    }
    return hit;
  };
  const needed = section.needs.map((n) => ({ ...n, artifact: find(n.name, n.step) }));
  const callsArtifact = section.calls ? find(section.calls.artifact, section.calls.step) : undefined;
  const entry = (a: ArtifactHash) => ({ sha256: a.sha256, path: `artifacts/${a.sha256}`, file: path.posix.basename(a.path) });

  const root = await fs.promises.mkdtemp(path.join(os.tmpdir(), 'nb2prod-serve-'));
  const dispose = () => fs.promises.rm(root, { recursive: true, force: true });
  try {
    const dir = path.join(root, BUNDLE_DIR);
    const packagePrefix = path.posix.join(v.outDir, pkg) + '/';
    const packageFiles = v.files.filter((f) => f.path.startsWith(packagePrefix));
    if (packageFiles.length === 0) throw new Nb2prodError(`version ${version.id} recorded no files of package ${pkg}`);
    if (!packageFiles.some((f) => f.path === `${packagePrefix}_serve.py`)) {
      throw new Nb2prodError(`version ${version.id} was generated without the server (${pkg}/_serve.py): productionize the notebook again with this nb2prod and run it`, undefined, 'NO_SERVER');
    }
    const copies: { file: FileHash; dest: string; link: boolean }[] = [
      ...packageFiles.map((file) => ({ file, dest: path.join(dir, pkg, ...file.path.slice(packagePrefix.length).split('/')), link: false })),
      // Artifacts may be large: a read-only view of the object where the file system allows.
      ...[...needed.map((n) => n.artifact), ...(callsArtifact ? [callsArtifact] : [])].map((file) => ({ file, dest: path.join(dir, 'artifacts', file.sha256), link: true })),
    ];
    const requirements = at('requirements.txt');
    if (requirements) copies.push({ file: requirements, dest: path.join(root, 'requirements.txt'), link: false });
    // Recorded names become paths here: a hand-edited lineage line must not write outside the bundle.
    for (const c of copies) {
      const inside = path.relative(root, c.dest);
      if (!SHA256.test(c.file.sha256) || inside.startsWith('..') || path.isAbsolute(inside) || inside.split(path.sep).some((p) => p === '..' || p === '.' || p === '')) {
        throw new Nb2prodError(`run ${run.record.runId} records ${JSON.stringify(c.file.path)} with sha256 ${JSON.stringify(c.file.sha256)}, which cannot be part of a bundle; check the lineage (nb2prod lineage verify)`);
      }
    }
    await mapLimited(copies, FILES_AT_ONCE, (c) => restorer.restore(c.file, c.dest, c.link));
    restorer.check();
    if (!requirements) await fs.promises.writeFile(path.join(root, 'requirements.txt'), '');

    const serve: ServeJson = {
      schema: SERVE_SCHEMA,
      model,
      package: pkg,
      module: section.module,
      function: section.function,
      form: section.form,
      fields: section.fields,
      fieldsFrom: section.fieldsFrom,
      runId: run.record.runId,
      version: version.id,
      artifacts: needed.map((n) => ({ name: n.name, step: n.step, ...entry(n.artifact) })),
      calls: callsArtifact && section.calls ? { ...entry(callsArtifact), step: section.calls.step } : null,
      params: runParams(section, manifest.params ?? {}, run.record.params ?? {}),
    };
    await fs.promises.writeFile(path.join(dir, 'serve.json'), JSON.stringify(serve, null, 2) + '\n');
    return { root, dir, serve, section, run, version, baseImage: manifest.baseImage ?? '', dispose };
  } catch (e) {
    await dispose();
    throw e;
  }
}

/**
 * The run's values of the parameters the function reads, where they are not the defaults
 * serving.py starts from. Only those: a default travels as the notebook wrote it, never through
 * JSON numbers (where 1.0 would come back as 1).
 */
function runParams(section: ServeSection, defaults: Record<string, unknown>, used: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const name of section.params ?? []) {
    if (name in used && JSON.stringify(used[name]) !== JSON.stringify(defaults[name])) out[name] = used[name];
  }
  return out;
}

/**
 * Restores recorded files from the object store; a file whose object is gone but whose workspace
 * copy still has the recorded hash is copied from there. What can be had neither way is collected
 * and reported at once by `check`, naming each file and, when gc pruned it, when.
 */
class Restorer {
  private readonly lost: FileHash[] = [];
  constructor(private readonly options: BundleOptions) {}

  async read(file: FileHash): Promise<string> {
    const { objects } = this.options;
    if (objects.has(file.sha256)) return fs.promises.readFile(objects.pathOf(file.sha256), 'utf8');
    const local = path.resolve(this.options.workspaceDir, file.path);
    if ((await hashFile(local).catch(() => undefined))?.sha256 === file.sha256) return fs.promises.readFile(local, 'utf8');
    throw this.error([file]);
  }

  async restore(file: FileHash, dest: string, link: boolean): Promise<void> {
    const { objects } = this.options;
    await fs.promises.mkdir(path.dirname(dest), { recursive: true });
    if (objects.has(file.sha256)) {
      if (!link || (await objects.restore(file.sha256, dest, { link: true })) !== 'linked') await objects.restore(file.sha256, dest, { mode: 0o644 });
      return;
    }
    const local = path.resolve(this.options.workspaceDir, file.path);
    if ((await hashFile(local).catch(() => undefined))?.sha256 === file.sha256) await fs.promises.copyFile(local, dest);
    else this.lost.push(file);
  }

  check(): void {
    if (this.lost.length > 0) throw this.error(this.lost);
  }

  private error(lost: FileHash[]): Nb2prodError {
    const pruned = prunedObjects(this.options.records?.() ?? []);
    const why = (f: FileHash) => {
      const on = pruned.get(f.sha256);
      return `${f.path} (object ${f.sha256.slice(0, 12)} ${on ? `pruned by gc on ${on}` : 'not in the object store'})`;
    };
    return new Nb2prodError(
      `cannot assemble what run ${this.options.run.record.runId} serves: ${lost.map(why).join(', ')}` +
        (pruned.size > 0 ? '. gc removed what it needs: a later gc keeps more with --keep-runs / --keep-days' : ''),
      undefined,
      'NOT_RESTORABLE',
    );
  }
}
