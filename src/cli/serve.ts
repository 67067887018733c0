/**
 * `nb2prod serve NB|DIR [--run RUN] [--port P] [--host H] [--local [--python PY]] [--base-image REF]`
 * Serves a run's model in the foreground: stdout says where (`Serving <model> (run <id>) at URL`,
 * `model: <slug>`), stderr carries the build progress and the server's request log; Ctrl-C stops
 * it and removes its container.
 */
import * as path from 'path';
import { startServe } from '../core/serve/session';
import { CommandSpec, OPTIONS, ParsedArgs, stringFlag } from './args';
import { PIPELINE_ARGUMENT } from './build';
import { CliContext, EXIT, UsageError } from './context';
import { workspaceDir } from './recording';

export const serveSpec: CommandSpec = {
  name: 'serve',
  arguments: PIPELINE_ARGUMENT,
  summary: "serve a run's model over HTTP (KServe V2 and POST /predict) with the notebook's own code",
  options: [
    { flags: '--run <run>', help: 'run to serve: run id or lineage id (default: the latest run that succeeded)' },
    { flags: '--port <port>', help: 'port on this machine (default: 8080; 0: a free one)' },
    { flags: '--host <address>', help: 'address to listen on (default: 127.0.0.1, this machine only)' },
    { flags: '--local', help: 'serve with a local interpreter instead of in a container' },
    OPTIONS.python,
    { flags: '--base-image <ref>', help: "base of the serving image (default: the pipeline's)" },
    OPTIONS.workspace,
    OPTIONS.objects,
  ],
  handler: serveCommand,
};

async function serveCommand(args: ParsedArgs, ctx: CliContext): Promise<number> {
  if (args.flags.has('python') && !args.flags.has('local')) throw new UsageError('--python only applies with --local');
  if (args.flags.has('base-image') && args.flags.has('local')) throw new UsageError('--base-image is for the serving image; --local builds none');
  const objects = stringFlag(args, 'objects');
  const session = await startServe({
    workspaceDir: workspaceDir(ctx, stringFlag(args, 'workspace')),
    target: path.resolve(ctx.cwd, args.positionals[0]),
    runId: stringFlag(args, 'run'),
    port: portOption(stringFlag(args, 'port')),
    host: stringFlag(args, 'host'),
    local: args.flags.has('local'),
    python: stringFlag(args, 'python'),
    baseImage: stringFlag(args, 'base-image'),
    objectsDir: objects === undefined ? undefined : path.resolve(ctx.cwd, objects),
    env: ctx.env,
    signal: ctx.signal,
    log: ctx.err,
  });
  ctx.out(`Serving ${session.model} (run ${session.runId}) at ${session.url}`);
  ctx.out(`model: ${session.model}`);
  ctx.err(`try: ${session.curlExample}`);
  ctx.err(`docs: ${session.docsUrl}; Ctrl-C stops it`);
  const { code } = await session.done;
  if (ctx.signal.aborted) return EXIT.cancelled;
  ctx.err(`the server exited with code ${code}`);
  return code === 0 ? EXIT.ok : EXIT.failed;
}

function portOption(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (!/^[0-9]{1,5}$/.test(value) || Number(value) > 65535) throw new UsageError(`--port expects a port number from 0 to 65535, got '${value}'`);
  return Number(value);
}
