/**
 * PLACEHOLDER until the serve-cli branch is merged: the types of the serving contract only
 * (section 4), so the extension compiles against them. The implementation comes with that branch.
 */
import type { ContainerEngine } from '../docker/engine';

export interface ServeOptions {
  workspaceDir: string;
  target: string;
  runId?: string;
  port?: number;
  host?: string;
  local?: boolean;
  python?: string;
  baseImage?: string;
  engine?: ContainerEngine;
  signal?: AbortSignal;
  log?: (line: string) => void;
  env?: NodeJS.ProcessEnv;
}

export interface ServeSession {
  url: string;
  model: string;
  runId: string;
  image?: string;
  docsUrl: string;
  curlExample: string;
  stop(): Promise<void>;
  done: Promise<{ code: number }>;
}

export declare function startServe(options: ServeOptions): Promise<ServeSession>;
