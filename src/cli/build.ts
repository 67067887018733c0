import type { CliContext } from './context';
import { Nb2prodError } from '../core/errors';

// Placeholder until the build command lands; keeps the CLI bundle building.
export async function buildCommand(_argv: string[], _ctx: CliContext): Promise<number> {
  throw new Nb2prodError('nb2prod build is not available in this build yet');
}
