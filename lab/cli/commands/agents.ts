import type { Command } from 'commander';
import { registerAgentScore } from './agents-score.ts';

/** `cs agents …`: trading agents (personas, debate, scoring). */
export function register(program: Command): void {
  const agents = program.command('agents').description('trading agents: personas, debate and their scores');
  registerAgentScore(agents);
}
