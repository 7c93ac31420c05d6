#!/usr/bin/env node
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
