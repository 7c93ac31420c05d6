import { Command, CommanderError } from 'commander';
import { ZodError } from 'zod';
import { CheckFailedError, InputError, describeIssues } from '../../engine/errors.ts';
import { commands } from './commands/index.ts';

/**
 * Exit codes: 0 success, 1 a check failed, 2 bad usage or input. Errors print one clear line on
 * stderr (no stack unless CS_DEBUG is set).
 */
export async function main(argv: readonly string[]): Promise<number> {
  const program = new Command('cs')
    .description('CryptoSentinel: backtesting and simulation lab for crypto strategies and agents')
    .showHelpAfterError()
    .exitOverride();
  for (const register of commands) register(program);
  try {
    await program.parseAsync(argv as string[]);
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (err) {
    return reportError(err);
  }
}

export function reportError(err: unknown): number {
  if (err instanceof CommanderError) {
    if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.code === 'commander.help') return 0;
    return 2;
  }
  if (err instanceof InputError) {
    process.stderr.write(`error: ${err.message}\n`);
    return 2;
  }
  if (err instanceof ZodError) {
    process.stderr.write(`error: invalid input: ${describeIssues(err, '(root)')}\n`);
    return 2;
  }
  if (err instanceof CheckFailedError) {
    process.stderr.write(`check failed: ${err.message}\n`);
    return 1;
  }
  const msg = err instanceof Error ? err.message : String(err);
  process.stderr.write(`error: ${msg}\n`);
  if (process.env.CS_DEBUG && err instanceof Error) process.stderr.write(`${err.stack}\n`);
  return 1;
}
