import type { CliContext } from './context';
import { Nb2prodError } from '../core/errors';

// Placeholder until the run command lands; keeps the CLI bundle building.
export async function runCommand(_argv: string[], _ctx: CliContext): Promise<number> {
  throw new Nb2prodError('nb2prod run is not available in this build yet');
}
