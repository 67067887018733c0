import * as assert from 'assert';
import * as vscode from 'vscode';
import { createDockerEngine } from '../../../src/core/docker/dockerode-engine';
import { Command } from '../../../src/extension/constants';
import { CommandFailure, isCommandFailure } from '../../../src/extension/errors';
import type { LineageElement } from '../../../src/extension/lineageTree';
import { api, copyNotebook, lineageRecords } from './helpers';

// Builds and runs in a real Docker engine (DOCKER_HOST, the docker context, or the default
// socket). Without an engine this skips locally; under CI it fails, since CI provides one.
describe('container build and run', function () {
  this.timeout(240_000);
  const tags: string[] = [];

  before(async function () {
    try {
      await createDockerEngine(process.env).info();
    } catch (e) {
      if (process.env.CI) throw e;
      console.log(`      skipped: ${(e as Error).message}`);
      this.skip();
    }
  });

  after(async () => {
    const engine = createDockerEngine(process.env);
    for (const tag of tags) await engine.removeImage(tag).catch(() => undefined);
  });

  it('builds the image, records the build, and the tree offers its image id', async () => {
    const uri = copyNotebook('wordstats.ipynb', 'docker_nb.ipynb');
    const build = (await vscode.commands.executeCommand(Command.buildImage, uri)) as { status: string; imageId: string; tags: string[]; buildId: string } | CommandFailure;
    assert.ok(!isCommandFailure(build), JSON.stringify(build));
    tags.push(...build.tags);
    assert.match(build.status, /^(succeeded|up-to-date)$/);
    assert.match(build.imageId, /^sha256:/);
    const record = lineageRecords().find((r) => r.id === build.buildId)!;
    assert.strictEqual(record.type, 'build');
    assert.strictEqual(record.imageId, build.imageId);

    const { lineageTree } = await api();
    const nb = lineageTree.getChildren().find((e) => e.type === 'notebook' && e.node.path === 'docker_nb.ipynb')!;
    const buildEl = lineageTree.getChildren(lineageTree.getChildren(nb)[0]).find((e) => e.type === 'build')!;
    assert.strictEqual(lineageTree.getTreeItem(buildEl).contextValue, 'build+image');
    const copied = await vscode.commands.executeCommand(Command.copyImageId, buildEl);
    assert.strictEqual(copied, build.imageId);
    assert.strictEqual(await vscode.env.clipboard.readText(), build.imageId);
  });

  it('runs the pipeline in its container, then re-runs the same image from the tree', async () => {
    const uri = copyNotebook('wordstats.ipynb', 'docker_nb.ipynb');
    const run = (await vscode.commands.executeCommand(Command.runPipeline, uri)) as { status: string; recordId: string } | CommandFailure;
    assert.ok(!isCommandFailure(run), JSON.stringify(run));
    assert.strictEqual(run.status, 'succeeded');
    const record = lineageRecords().find((r) => r.id === run.recordId)!;
    assert.strictEqual(record.local, false);
    assert.ok(record.buildId, 'the run names its build');

    const { lineageTree } = await api();
    const nb = lineageTree.getChildren().find((e) => e.type === 'notebook' && e.node.path === 'docker_nb.ipynb')!;
    const builds = lineageTree.getChildren(lineageTree.getChildren(nb)[0]).filter((e) => e.type === 'build');
    const runEl = builds.flatMap((b) => lineageTree.getChildren(b)).find((e) => e.type === 'run' && e.node.id === run.recordId) as Extract<LineageElement, { type: 'run' }>;
    assert.ok(runEl, 'the run sits under its build');
    assert.match(String(lineageTree.getTreeItem(runEl).description), /^succeeded · container/);

    const again = (await vscode.commands.executeCommand(Command.rerun, runEl)) as { status: string; recordId: string } | CommandFailure;
    assert.ok(!isCommandFailure(again), JSON.stringify(again));
    const rerun = lineageRecords().find((r) => r.id === again.recordId)!;
    assert.strictEqual(rerun.image, runEl.node.record.image, 'the same image, not a rebuild');
  });
});
