/**
 * Which image an exported pipeline runs. A cluster pulls it from a registry, so in order of
 * preference: the reference the user passed, the digest reference the pipeline was last pushed
 * as, and only then the local tag `nb2prod build` gives it (with a warning: no cluster can pull it).
 */
import { collectContext } from '../docker/context';
import { imageRepository } from '../docker/pipeline-dir';
import { Nb2prodError } from '../errors';
import { IMAGE_REFERENCE } from '../generate/dockerfile';
import type { PipelineManifest } from '../generate/manifest';

export type ImageSource = 'option' | 'pushed' | 'local';

/**
 * Seam for registry pushes: the last pushed digest reference (`registry/repo@sha256:...`) of the
 * pipeline in `dir`, or undefined when it was never pushed. Replace the default with the push
 * module's lookup once it records pushes.
 */
export type PushedImageLookup = (dir: string, manifest: PipelineManifest) => Promise<string | undefined>;

export const noPushedImage: PushedImageLookup = async () => undefined;

export interface ResolvedImage {
  image: string;
  source: ImageSource;
  warning?: string;
}

export async function resolveExportImage(opts: { dir: string; manifest: PipelineManifest; option?: string; pushed?: PushedImageLookup }): Promise<ResolvedImage> {
  if (opts.option !== undefined) return { image: validateImageReference(opts.option), source: 'option' };
  const pushed = await (opts.pushed ?? noPushedImage)(opts.dir, opts.manifest);
  if (pushed) return { image: validateImageReference(pushed), source: 'pushed' };
  const image = await localImageTag(opts.dir, opts.manifest);
  return {
    image,
    source: 'local',
    warning: `${image} is the local tag of this pipeline's image: a cluster cannot pull it. Push the image to a registry and pass --image REF`,
  };
}

/** The content tag `nb2prod build` gives this directory's image (the hash of its build context). */
export async function localImageTag(dir: string, manifest: PipelineManifest): Promise<string> {
  const context = await collectContext(dir);
  return `${imageRepository(manifest.slug)}:${context.hash.slice(0, 12)}`;
}

/** An image reference a kubelet can pull, tag or digest required (no implicit `latest`). */
export function validateImageReference(ref: string): string {
  const m = IMAGE_REFERENCE.exec(ref);
  if (!m || (!m[2] && !m[3])) {
    throw new Nb2prodError(`image ${JSON.stringify(ref)} is not a reference with a tag or digest (registry/name:tag or registry/name@sha256:...)`);
  }
  return ref;
}
