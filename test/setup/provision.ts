import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createConnection, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * What the test suite needs from the machine, and how it gets it. Debian packages are listed here
 * (later issues add theirs: chromium, jupyter…); a missing one is installed with apt-get when the
 * suite runs as root (as `.ci/run` does), otherwise the suite stops with the exact command to run.
 */

export interface DebianPackage {
  /** The Debian package name. */
  readonly name: string;
  /** Why the suite needs it (shown when it is missing). */
  readonly why: string;
}

export const REQUIRED_PACKAGES: readonly DebianPackage[] = [
  { name: 'redis-server', why: 'Redis for the distributed sweep queue (BullMQ) and event-bus tests' },
  { name: 'chromium', why: 'real Chromium for the HTML report tests (driven by playwright-core)' },
  { name: 'jupyter-nbconvert', why: 'runs the tslab notebooks headlessly' },
  { name: 'jupyter-client', why: 'the kernel launcher nbconvert uses' },
  { name: 'python3-ipykernel', why: 'Jupyter kernel machinery that tslab registers against' },
];

/** dpkg's own answer: "install ok installed" is the only state that means usable. */
export function isInstalled(name: string): boolean {
  const r = spawnSync('dpkg-query', ['-W', '-f=${Status}', name], { encoding: 'utf8' });
  return r.status === 0 && r.stdout.trim() === 'install ok installed';
}

export function installCommand(names: readonly string[], sudo = false): string {
  const s = sudo ? 'sudo ' : '';
  return `${s}apt-get update && ${s}DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends ${names.join(' ')}`;
}

export interface ProvisionOptions {
  readonly isRoot?: boolean;
  readonly isInstalled?: (name: string) => boolean;
  /** Runs a command (apt-get); throws when it fails. */
  readonly run?: (cmd: string, args: readonly string[]) => void;
  readonly log?: (line: string) => void;
}

function runInherit(cmd: string, args: readonly string[]): void {
  const r = spawnSync(cmd, args, { stdio: ['ignore', 'inherit', 'inherit'], env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
  if (r.error) throw r.error;
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} exited with ${r.status}`);
}

/** Installs what is missing (root) or explains how to (not root). Returns what it installed. */
export function provision(pkgs: readonly DebianPackage[] = REQUIRED_PACKAGES, o: ProvisionOptions = {}): string[] {
  const installed = o.isInstalled ?? isInstalled;
  const missing = pkgs.filter((p) => !installed(p.name));
  if (missing.length === 0) return [];
  const names = missing.map((p) => p.name);
  const why = missing.map((p) => `${p.name} (${p.why})`).join(', ');
  const isRoot = o.isRoot ?? process.getuid?.() === 0;
  if (!isRoot) {
    throw new Error(`the test suite needs Debian packages that are not installed: ${why}. Install them as root, then rerun:\n  ${installCommand(names, true)}`);
  }
  const run = o.run ?? runInherit;
  o.log?.(`installing ${names.join(' ')} (${why})`);
  run('apt-get', ['update']);
  run('apt-get', ['install', '-y', '--no-install-recommends', ...names]);
  const still = names.filter((n) => !installed(n));
  if (still.length) throw new Error(`apt-get ran but ${still.join(', ')} is still not installed; try: ${installCommand(still)}`);
  return names;
}

/** A port nobody listens on right now (the kernel picks it). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => resolve(port));
    });
  });
}

/** One round trip of the Redis protocol: true when the server answers PONG. */
export function ping(port: number, timeoutMs = 500): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = createConnection({ host: '127.0.0.1', port });
    let buf = '';
    const done = (ok: boolean): void => {
      sock.destroy();
      resolve(ok);
    };
    sock.setTimeout(timeoutMs, () => done(false));
    sock.once('error', () => done(false));
    sock.on('connect', () => sock.write('PING\r\n'));
    sock.on('data', (d) => {
      buf += d.toString();
      if (buf.includes('\r\n')) done(buf.startsWith('+PONG'));
    });
  });
}

export interface RedisServer {
  readonly url: string;
  readonly port: number;
  readonly pid: number;
  stop(): Promise<void>;
}

/** A throwaway redis-server on loopback: no persistence, its files in a temp dir removed on stop. */
export async function startRedis(opts: { binary?: string; timeoutMs?: number } = {}): Promise<RedisServer> {
  let lastErr = '';
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = await freePort();
    const dir = mkdtempSync(join(tmpdir(), 'cs-redis-'));
    const child = spawn(opts.binary ?? 'redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir, '--daemonize', 'no', '--loglevel', 'warning'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (d) => (output += d));
    child.stderr.on('data', (d) => (output += d));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    let spawnError: Error | undefined;
    child.once('error', (e) => (spawnError = e));
    const deadline = Date.now() + (opts.timeoutMs ?? 10_000);
    let up = false;
    while (Date.now() < deadline && child.exitCode === null && !spawnError) {
      if (await ping(port)) {
        up = true;
        break;
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    if (up) {
      return {
        url: `redis://127.0.0.1:${port}`,
        port,
        pid: child.pid!,
        stop: async () => {
          if (child.exitCode === null) child.kill('SIGTERM');
          await exited;
          rmSync(dir, { recursive: true, force: true });
        },
      };
    }
    if (child.exitCode === null) child.kill('SIGKILL');
    await exited.catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
    lastErr = spawnError ? spawnError.message : output.trim().split('\n').slice(-3).join(' | ') || 'no answer to PING';
    // Another process may have taken the port between the probe and the bind: try a new one.
  }
  throw new Error(`redis-server did not start: ${lastErr}`);
}
