import type { Command } from 'commander';
import { register as metrics } from './metrics.ts';
import { register as indicator } from './indicator.ts';

/** Each command module registers itself on the root program. */
export type RegisterCommand = (program: Command) => void;

export const commands: RegisterCommand[] = [metrics, indicator];
