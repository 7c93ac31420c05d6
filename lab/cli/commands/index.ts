import type { Command } from 'commander';
import { register as metrics } from './metrics.ts';

/** Each command module registers itself on the root program. */
export type RegisterCommand = (program: Command) => void;

export const commands: RegisterCommand[] = [metrics];
