/**
 * `nb2prod reproduce RUN [--local [--python PY]] [--workspace DIR] [--json]`
 * Runs a recorded run's version again with the same parameters (in the same image when it was a
 * container run and the image is still here), compares every artifact and metric lineage lists,
 * prints same / differs / new / missing, and records the comparison. Exit 0 only when all are the same.
 * When the workspace no longer holds that version, it runs in a temporary directory the object
 * store restores the version into; artifacts still go beside the original run's.
 */
import { createDockerEngine } from '../core/docker/dockerode-engine';
import { RunOptions, RunOutcome, runInContainer, runLocal } from '../core/docker/run';
import { Nb2prodError } from '../core/errors';
import { openStore, RunRecord } from '../core/lineage';
import { short } from '../core/lineage/render';
import { Comparison, nondeterminismHint } from '../core/reproduce/compare';
import { prepareReproduction } from '../core/reproduce/prepare';
import { reproduceRun, RunAgain, sameImage, stagingMessage } from '../core/reproduce/reproduce';
import { CommandSpec, OPTIONS, ParsedArgs, stringFlag } from './args';
import { buildForCli } from './build';
import { CliContext, EXIT, UsageError } from './context';
import { loadLineage } from './lineage';
import { objectsOf, recordBuildOutcome, recordRunOutcome, workspaceDir } from './recording';
import { lineWriter } from './run';

export const reproduceSpec: CommandSpec = {
  name: 'reproduce',
  arguments: '<run>',
  summary: 'run a recorded run again (same version, parameters, image) and compare every artifact and metric',
  options: [
    OPTIONS.local,
    OPTIONS.python,
    OPTIONS.workspace,
    OPTIONS.objects,
    OPTIONS.verbose,
    OPTIONS.json,
  ],
  handler: reproduceCommand,
};

async function reproduceCommand(args: ParsedArgs, ctx: CliContext): Promise<number> {
  if (args.flags.has('python') && !args.flags.has('local')) throw new UsageError('--python only applies with --local');
  const workspace = stringFlag(args, 'workspace');
  const ws = workspaceDir(ctx, workspace);
  const plan = await prepareReproduction(loadLineage(ws, ctx), args.positionals[0], ws);
  const original = plan.run.record;
  const local = args.flags.has('local') || original.local;
  if (args.flags.has('local') && !original.local) ctx.err(`run ${original.runId} ran in image ${short(original.image)}; running it with a local interpreter instead`);

  let error: Nb2prodError | undefined;
  const result = await reproduceRun(
    plan,
    {
      workspaceDir: ws,
      objects: objectsOf(ctx, args),
      records: () => openStore(ws).read().records,
      onStaging: (p) => ctx.err(stagingMessage(p)),
      onStaged: (staged) => {
        if (staged.copied > 0) ctx.err(`${staged.copied} file(s) not in the object store were copied from the workspace, where they are still as recorded`);
      },
    },
    async (dir, artifactsDir): Promise<RunAgain> => {
      ctx.err(`reproducing run ${original.runId} (${plan.run.id}) of version ${plan.version.id}`);
      const output = lineWriter(ctx);
      const options: RunOptions = { dir, params: plan.params, artifactsDir, onOutput: output.write, signal: ctx.signal, objects: objectsOf(ctx, args).dir };
      let outcome: RunOutcome;
      let built: { id: string; imageId?: string } | undefined;
      let rebuilt = false;
      if (local) {
        const python = stringFlag(args, 'python') ?? ctx.env.NB2PROD_PYTHON ?? 'python3';
        outcome = await runLocal({ ...options, python, env: ctx.env });
      } else {
        const engine = createDockerEngine(ctx.env);
        const image = await sameImage(plan, engine, ctx.signal);
        if (image) {
          built = { id: plan.run.build!.id, imageId: image };
          outcome = await runInContainer({ ...options, engine, image });
        } else {
          const build = await buildForCli({ dir }, args, ctx, engine);
          const buildId = await recordBuildOutcome(ctx, workspace, plan.pipelineDir, build);
          if (build.status !== 'succeeded' && build.status !== 'up-to-date') throw new Nb2prodError(`the image of run ${original.runId} could not be built again`);
          ctx.err(`image ${short(original.image)} of run ${original.runId} is gone: rebuilt as ${short(build.imageId)} (a newer base image or package may change results)`);
          rebuilt = true;
          built = { id: buildId, imageId: build.imageId };
          outcome = await runInContainer({ ...options, engine, image: build.tags[0] });
        }
      }
      output.flush();
      error = outcome.error;
      // Recorded against the workspace's pipeline directory, not a temporary one: the manifest names the notebook relative to it.
      const record = await recordRunOutcome(ctx, args, plan.pipelineDir, outcome, built, plan.version.id);
      return { record, local, ...(built?.imageId ? { image: built.imageId } : {}), ...(rebuilt ? { rebuilt } : {}) };
    },
  );
  if (result.status === 'cancelled') return EXIT.cancelled;

  const { comparison, again, record } = result;
  if (args.flags.has('json')) ctx.out(JSON.stringify({ id: record.id, original: original.runId, reproduction: again.record.runId, ...comparison }, null, 2));
  else printComparison(comparison, original, again.record, ctx);
  if (error) ctx.err(`error: ${error.describe()}`);
  return comparison.status === 'identical' ? EXIT.ok : EXIT.failed;
}

const OUTCOME_WIDTH = 'missing'.length;

function printComparison(c: Comparison, original: RunRecord, again: RunRecord, ctx: CliContext): void {
  const names = c.entries.map((e) => (e.kind === 'metric' ? `metric ${e.name}` : e.name));
  const header = 'artifact or metric';
  const width = Math.max(...names.map((n) => n.length), header.length);
  ctx.out(`${'result'.padEnd(OUTCOME_WIDTH)}  ${header.padEnd(width)}  run ${original.runId} → run ${again.runId}`);
  c.entries.forEach((e, i) => {
    const value = (v: string | undefined) => (v === undefined ? '-' : e.kind === 'artifact' ? short(v) : v);
    const change = e.outcome === 'same' ? value(e.was) : `${value(e.was)} → ${value(e.now)}`;
    ctx.out(`${e.outcome.padEnd(OUTCOME_WIDTH)}  ${names[i].padEnd(width)}  ${change}`);
  });
  const { same, differs, new: added, missing } = c.counts;
  ctx.out(`${c.status}: ${same} same, ${differs} differs, ${added} new, ${missing} missing`);
  if (c.status === 'failed') ctx.err(`the new run ${again.status}${again.error ? `: ${again.error}` : ''}`);
  for (const n of c.nondeterministic) ctx.err(nondeterminismHint(n.step, n.artifact));
}
