/** The extension's settings through one typed accessor, re-read when they change. */
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
}

export class Config implements vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<void>();
  readonly onDidChange = this.changed.event;
  private readonly listener: vscode.Disposable;

  constructor() {
    this.listener = vscode.workspace.onDidChangeConfiguration((e) => {
      if (e.affectsConfiguration(Setting.section)) this.changed.fire();
    });
  }

  /** Settings for a resource (settings are `resource`-scoped, so multi-root folders may differ). */
  get(scope?: vscode.Uri): Settings {
    const c = vscode.workspace.getConfiguration(Setting.section, scope);
    const str = (key: string, fallback: string) => (c.get<string>(key) ?? fallback).trim() || fallback;
    return {
      outputDirectory: str(Setting.outputDirectory, 'pipelines'),
      baseImage: str(Setting.baseImage, ''),
      dockerHost: str(Setting.dockerHost, ''),
      pythonPath: str(Setting.pythonPath, ''),
    };
  }

  /** The process environment the core sees: the dockerHost setting wins over DOCKER_HOST. */
  env(scope?: vscode.Uri): NodeJS.ProcessEnv {
    const { dockerHost } = this.get(scope);
    return dockerHost ? { ...process.env, DOCKER_HOST: dockerHost } : { ...process.env };
  }

  dispose(): void {
    this.listener.dispose();
    this.changed.dispose();
  }
}
