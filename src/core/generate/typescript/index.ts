/** Plan -> the files of a runnable Node (or Deno) package of ES modules. */
import { loadTypeScriptEngine } from '../../analysis/typescript/load';
import type { Plan } from '../../plan/model';
import { planHash } from '../../plan/planner';
import { generateDockerignore } from '../dockerignore';
import type { GeneratedFile, GenerateOptions } from '../files';
import { generateNodeDockerfile } from './dockerfile';
import { ModuleContext, mainModule, needsSharedModule, sharedModule, stepModule } from './modules';
import { packageJson } from './packageJson';
// Copied verbatim into every generated package: it must depend on nothing of ours.
import RUNTIME_MJS from './_runtime.mjs';
import type { Runtime } from './specifiers';

export interface TypeScriptPackageOptions extends GenerateOptions {
  runtime: Runtime;
  /** Hash of the plan, for the image's lineage label. */
  planHash?: string;
  /** Top-level entries (files/dirs) copied beside the package, for the Dockerfile. */
  extraPaths?: string[];
}

export function generateTypeScriptPackage(plan: Plan, opts: TypeScriptPackageOptions): GeneratedFile[] {
  const ctx: ModuleContext = { plan, engine: loadTypeScriptEngine(), runtime: opts.runtime, notebookPath: opts.notebookPath };
  const files: GeneratedFile[] = [
    { path: 'main.mjs', content: mainModule(ctx) },
    { path: '_runtime.mjs', content: RUNTIME_MJS },
    ...plan.steps.map((step) => ({ path: `steps/${step.name}.mjs`, content: stepModule(step, ctx) })),
  ];
  if (needsSharedModule(plan)) files.push({ path: 'shared.mjs', content: sharedModule(ctx) });
  files.push({ path: 'package.json', content: packageJson(plan, { slug: opts.slug, notebookPath: opts.notebookPath, pins: opts.pins, runtime: opts.runtime }) });
  files.push({
    path: 'Dockerfile',
    content: generateNodeDockerfile({
      baseImage: opts.baseImage,
      runtime: opts.runtime,
      notebookPath: opts.notebookPath,
      notebookHash: plan.notebookHash,
      planHash: opts.planHash ?? planHash(plan),
      title: opts.packageName,
      sources: [...files.filter((f) => !f.path.includes('/') && f.path !== 'package.json').map((f) => f.path), 'steps/'],
      hasDependencies: plan.requirements.modules.length > 0,
      extraPaths: opts.extraPaths ?? [],
    }),
  });
  files.push({ path: '.dockerignore', content: generateDockerignore() });
  return files;
}
