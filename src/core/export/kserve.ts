/**
 * `nb2prod export kserve`: a KServe InferenceService (serving.kserve.io/v1beta1) whose predictor
 * is the serving image as a custom container. The image already holds the run's artifacts and
 * speaks the Open Inference Protocol on port 8080, so the resource only names the image, the
 * port and the health routes for the probes: no storageUri, no model format.
 */
import * as path from 'path';
import { loadModel, openStore } from '../lineage';
import { assembleBundle } from '../serve/bundle';
import { SERVE_LABELS, SERVE_PORT, writeServeDockerfile } from '../serve/image';
import { notebookOfTarget, selectRun } from '../serve/select';
import { resolveBaseImage, validateBaseImage } from '../generate/dockerfile';
import { objectStoreDir, openObjectStore } from '../store/objects';
import { sha256 } from '../hash';
import { exportYaml, writeAtomically } from './export';
import { ImageSource, validateImageReference } from './image';

export const KSERVE_API_VERSION = 'serving.kserve.io/v1beta1';
/** The container name KServe looks for in a custom predictor. */
export const KSERVE_CONTAINER = 'kserve-container';

export interface InferenceServiceOptions {
  /** The pipeline's slug; the resource's name is derived from it. */
  model: string;
  image: string;
  runId: string;
  /** Lineage record id of the run's version. */
  version: string;
}

export function inferenceService(opts: InferenceServiceOptions): Record<string, unknown> {
  const probe = (route: string, initialDelaySeconds: number) => ({ httpGet: { path: route, port: SERVE_PORT }, initialDelaySeconds, periodSeconds: 10 });
  return {
    apiVersion: KSERVE_API_VERSION,
    kind: 'InferenceService',
    metadata: {
      name: resourceName(opts.model),
      labels: { 'app.kubernetes.io/name': resourceName(opts.model), 'app.kubernetes.io/managed-by': 'nb2prod' },
      // The same keys as the image's labels: a deployed service names the run it answers for.
      annotations: { [SERVE_LABELS.model]: opts.model, [SERVE_LABELS.run]: opts.runId, [SERVE_LABELS.version]: opts.version },
    },
    spec: {
      predictor: {
        containers: [
          {
            name: KSERVE_CONTAINER,
            image: opts.image,
            ports: [{ containerPort: SERVE_PORT, protocol: 'TCP' }],
            readinessProbe: probe('/v2/health/ready', 2),
            livenessProbe: probe('/v2/health/live', 10),
          },
        ],
      },
    },
  };
}

/** A Kubernetes object name (RFC 1035 label): lower-case letters, digits and `-`, starting with a letter, at most 63 characters. */
export function resourceName(slug: string): string {
  const name = slug
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, '-')
    .replace(/^[^a-z]+/, '')
    .replace(/-+$/, '')
    .slice(0, 63)
    .replace(/-+$/, '');
  return name || 'model';
}

export interface KserveExportOptions {
  workspaceDir: string;
  /** A notebook or its pipeline directory. */
  target: string;
  runId?: string;
  image?: string;
  /** Default `<pipeline dir>/<slug>.kserve.yaml`. */
  out?: string;
  /** Base of the serving image whose tag is named when no --image is given; default the pipeline's. */
  baseImage?: string;
  objectsDir?: string;
  env?: NodeJS.ProcessEnv;
}

export interface KserveExportResult {
  file: string;
  sha256: string;
  bytes: number;
  image: string;
  imageSource: ImageSource;
  runId: string;
  /** Lineage ids of the run and its version. */
  runRecord: string;
  versionId: string;
  notebook: string;
  warnings: string[];
}

export async function exportKserve(opts: KserveExportOptions): Promise<KserveExportResult> {
  const ws = path.resolve(opts.workspaceDir);
  const env = opts.env ?? process.env;
  const store = openStore(ws);
  const { model } = loadModel(store, { strict: true });
  const run = selectRun(model, await notebookOfTarget(ws, opts.target), opts.runId);
  const bundle = await assembleBundle({ run, objects: openObjectStore(objectStoreDir(ws, env, opts.objectsDir)), workspaceDir: ws, records: () => store.read().records });
  try {
    let image: string;
    let source: ImageSource;
    const warnings: string[] = [];
    if (opts.image !== undefined) {
      image = validateImageReference(opts.image);
      source = 'option';
    } else {
      // The tag `nb2prod serve` gives this run's serving image: the same bundle, base and Dockerfile hash.
      const base = opts.baseImage ? validateBaseImage(opts.baseImage) : bundle.baseImage ? validateBaseImage(bundle.baseImage) : resolveBaseImage({ env });
      image = (await writeServeDockerfile(bundle.root, bundle.serve, base)).tag;
      source = 'local';
      warnings.push(`${image} is the local tag of the serving image (nb2prod serve builds it): a cluster cannot pull it. Push it to a registry and pass --image REF`);
    }
    const document = inferenceService({ model: bundle.serve.model, image, runId: run.record.runId, version: bundle.version.id });
    const text = await exportYaml(
      document,
      `Generated by nb2prod from ${run.record.notebook}, run ${run.record.runId} (nb2prod export kserve). Regenerate it rather than editing it.`,
    );
    const file = path.resolve(opts.out ?? path.join(ws, bundle.version.record.outDir, `${bundle.serve.model}.kserve.yaml`));
    await writeAtomically(file, text);
    return {
      file,
      sha256: sha256(text),
      bytes: Buffer.byteLength(text),
      image,
      imageSource: source,
      runId: run.record.runId,
      runRecord: run.id,
      versionId: bundle.version.id,
      notebook: run.record.notebook,
      warnings,
    };
  } finally {
    await bundle.dispose();
  }
}
