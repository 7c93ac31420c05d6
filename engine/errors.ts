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

/** The part of a zod issue a message needs; structural so a caller may pass a trimmed list of issues. */
interface IssueLike {
  readonly path: readonly PropertyKey[];
  readonly message: string;
}

/**
 * Zod issues as one line a user can act on: "fees.maker: Too small; symbol: Required". An issue at
 * the top level has an empty path, so it is labelled `root` (e.g. '(options)', 'request') instead.
 */
export function describeIssues(error: { readonly issues: readonly IssueLike[] }, root = '(input)', separator = '; '): string {
  return error.issues.map((i) => `${i.path.map(String).join('.') || root}: ${i.message}`).join(separator);
}
