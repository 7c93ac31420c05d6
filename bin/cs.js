#!/usr/bin/env -S node --single-threaded-gc --max-semi-space-size=64
// --single-threaded-gc: V8's parallel GC helpers otherwise compete with sweep worker threads for
// the cores (measured on 2 cores: a 2-worker sweep scales 1.4× with them, 2.0× without); a single
// backtest runs no slower.
// --max-semi-space-size=64 (MB; Node's default is 16): a backtest allocates per order and keeps
// its logs until the run ends, so with the default young generation every run is scavenged several
// times and its live records copied each time. SMA-cross over a year of 1-minute bars (11.7 k
// orders): 7–8 M bars/s → 10.5–12 M (`npm run bench -- engine.ts`). Sweep workers get the same
// young generation (lab/pool.ts); `npm run bench` runs with these flags, read from this line.
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
