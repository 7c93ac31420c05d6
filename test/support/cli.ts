import { spawn, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { vi } from 'vitest';
import { main } from '../../lab/cli/main.ts';

export const ROOT = join(import.meta.dirname, '..', '..');
export const CS_BIN = join(ROOT, 'bin', 'cs.js');

export interface CliResult {
  readonly code: number | null;
  readonly out: string;
  readonly err: string;
}

/** The real `cs` in a child process (what a user runs); slower, so use it where the process matters. */
export function csSpawn(args: readonly string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): CliResult {
  const r = spawnSync(process.execPath, [CS_BIN, ...args], { cwd: opts.cwd ?? ROOT, env: { ...process.env, ...opts.env }, encoding: 'utf8' });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

/** Async variant, for tests that must do something while the command runs. */
export function csSpawnAsync(args: readonly string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CS_BIN, ...args], { cwd: opts.cwd ?? ROOT, env: { ...process.env, ...opts.env } });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, out, err }));
  });
}

/** The same CLI inside the test process, stdout and stderr captured. */
export async function csInProcess(args: readonly string[]): Promise<CliResult> {
  let out = '';
  let err = '';
  const o = vi.spyOn(process.stdout, 'write').mockImplementation((c: string | Uint8Array) => ((out += String(c)), true));
  const e = vi.spyOn(process.stderr, 'write').mockImplementation((c: string | Uint8Array) => ((err += String(c)), true));
  const before = process.exitCode;
  try {
    const code = await main(['node', 'cs', ...args]);
    return { code, out, err };
  } finally {
    process.exitCode = before;
    o.mockRestore();
    e.mockRestore();
  }
}
