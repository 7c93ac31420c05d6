#!/usr/bin/env -S node --single-threaded-gc
// --single-threaded-gc: V8's parallel GC helpers otherwise compete with sweep worker threads for
// the cores (measured on 2 cores: a 2-worker sweep scales 1.4× with them, 2.0× without); a single
// backtest runs no slower. (A larger young generation, --max-semi-space-size=64, was tried: the
// best of ten runs of the engine benchmark rose, but the mean over thirty — what a sweep sees —
// did not, and each run faulted in more fresh pages.) `npm run bench` runs with these flags, read
// from this line.
// The CLI is TypeScript run through tsx, so `npm ci && npx cs` needs no build step and a user's
// strategy file (`--strategy ./my.ts`) loads the same way as the built-in ones.
import { register } from 'tsx/esm/api';
// `cs ... | head` closes stdout early: that is the reader's choice, not an error.
process.stdout.on('error', (err) => {
  if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  throw err;
});
register();
const { main } = await import('../lab/cli/main.ts');
process.exitCode = await main(process.argv);
