/**
 * The extension's settings through one typed accessor. Nothing caches them: every command reads
 * them when it starts, so a changed setting applies to the next command without a reload.
 */
import * as vscode from 'vscode';
import { Setting } from './constants';

export interface Settings {
  /** Relative to the workspace folder (or absolute). */
  outputDirectory: string;
  /** Empty: the generator's default. */
  baseImage: string;
  /** Empty: DOCKER_HOST, then the docker context, then the default socket. */
  dockerHost: string;
  /** Empty: `python3`. */
  pythonPath: string;
  /** Where Push Image sends images (`host[:port][/namespace]`). Empty: Push Image asks. */
  registry: string;
  /** Steps Run Pipeline runs at once, each in its own container or process; 'auto': the CPUs. */
  jobs: number | 'auto';
  /** Empty: NB2PROD_OBJECTS, then `.nb2prod/objects` in the workspace. */
  objectStore: string;
  /** Port Serve Model listens on (127.0.0.1); 0: a free port. */
  servePort: number;
  /** Serve Model runs the endpoint with the configured Python instead of in a container. */
  serveLocal: boolean;
}

export class Config {
  /** Settings for a resource (settings are `resource`-scoped, so multi-root folders may differ). */
  get(scope?: vscode.Uri): Settings {
    const c = vscode.workspace.getConfiguration(Setting.section, scope);
    const str = (key: string, fallback: string) => (c.get<string>(key) ?? fallback).trim() || fallback;
    return {
      outputDirectory: str(Setting.outputDirectory, 'pipelines'),
      baseImage: str(Setting.baseImage, ''),
      dockerHost: str(Setting.dockerHost, ''),
      pythonPath: str(Setting.pythonPath, ''),
      registry: str(Setting.registry, ''),
      jobs: jobs(c.get<number>(Setting.jobs)),
      objectStore: str(Setting.objectStore, ''),
      servePort: port(c.get<number>(Setting.servePort)),
      serveLocal: c.get<boolean>(Setting.serveLocal) === true,
    };
  }

  /**
   * Remembers the registry Push Image was given, at the most specific level that already sets
   * it (so a folder's or the team's committed value is updated in place), else in user
   * settings: typing a registry once should not dirty the repository's .vscode/settings.json.
   */
  async rememberRegistry(registry: string, scope?: vscode.Uri): Promise<void> {
    const c = vscode.workspace.getConfiguration(Setting.section, scope);
    if (c.get<string>(Setting.registry)?.trim() === registry) return;
    const seen = c.inspect<string>(Setting.registry);
    const target =
      seen?.workspaceFolderValue !== undefined
        ? vscode.ConfigurationTarget.WorkspaceFolder
        : seen?.workspaceValue !== undefined
          ? vscode.ConfigurationTarget.Workspace
          : vscode.ConfigurationTarget.Global;
    await c.update(Setting.registry, registry, target);
  }

  /** The process environment the core sees: the dockerHost setting wins over DOCKER_HOST. */
  env(scope?: vscode.Uri): NodeJS.ProcessEnv {
    const { dockerHost } = this.get(scope);
    return dockerHost ? { ...process.env, DOCKER_HOST: dockerHost } : { ...process.env };
  }
}

/** 0 (the default), or anything but a whole number from 1 on: as many as the CPUs and the pipeline allow. */
function jobs(value: number | undefined): number | 'auto' {
  return Number.isInteger(value) && value! >= 1 ? value! : 'auto';
}

/** A TCP port, 0 for a free one; anything else falls back to the default 8080. */
function port(value: number | undefined): number {
  return Number.isInteger(value) && value! >= 0 && value! <= 65535 ? value! : 8080;
}
