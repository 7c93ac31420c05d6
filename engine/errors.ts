/**
 * Bad input from a user, a file or a config: the CLI maps it to exit code 2. The message must say
 * what was wrong and where (file, line, field) and must never contain a secret.
 */
export class InputError extends Error {
  override readonly name = 'InputError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** A check ran and said no (a gate, a validation report): exit code 1. */
export class CheckFailedError extends Error {
  override readonly name = 'CheckFailedError';
}
