import type { CliContext } from './context';
import { Nb2prodError } from '../core/errors';

// Placeholder until the lineage command lands; keeps the CLI bundle building.
export async function lineageCommand(_argv: string[], _ctx: CliContext): Promise<number> {
  throw new Nb2prodError('nb2prod lineage is not available in this build yet');
}
