/**
 * `npm run bench`: every benchmark script in this folder, one after another in its own process
 * (so one's heap and JIT state cannot colour another's figures). Each prints JSON lines.
 */
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const dir = import.meta.dirname;
const only = process.argv.slice(2);
const scripts = readdirSync(dir)
  .filter((f) => f.endsWith('.ts') && f !== 'run-all.ts' && !f.includes('.support.') && !f.includes('.child.'))
  .filter((f) => only.length === 0 || only.some((o) => f.includes(o)))
  .sort();
// The V8 flags the `cs` command runs with, read from its shebang (`#!/usr/bin/env -S node <flags>`),
// so the figures are those of the engine as users run it.
const shebang = readFileSync(join(dir, '../../bin/cs.js'), 'utf8').split('\n', 1)[0]!;
const cliFlags = shebang.split(/\s+/).filter((w) => w.startsWith('--'));
let failed = 0;
for (const f of scripts) {
  process.stderr.write(`# ${f} (node ${cliFlags.join(' ')})\n`);
  const r = spawnSync(process.execPath, [...cliFlags, '--expose-gc', '--import', 'tsx', join(dir, f)], { stdio: 'inherit' });
  if (r.status !== 0) {
    failed++;
    process.stderr.write(`# ${f} exited ${r.status}\n`);
  }
}
process.exitCode = failed === 0 ? 0 : 1;
