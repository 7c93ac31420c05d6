#!/usr/bin/env node
// The CLI is TypeScript run through tsx, so `npm ci && npx cs` needs no build step and a user's
// strategy file (`--strategy ./my.ts`) loads the same way as the built-in ones.
import { register } from 'tsx/esm/api';
register();
const { main } = await import('../lab/cli/main.ts');
process.exitCode = await main(process.argv);
