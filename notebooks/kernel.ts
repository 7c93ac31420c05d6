import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { delimiter, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * What the tslab notebooks need besides Jupyter itself (run `npx tsx notebooks/kernel.ts` once, or
 * let the test setup do it):
 *
 * 1. The tslab and jslab kernel specs, registered with Debian's Jupyter (`/usr/bin/python3`: the
 *    first python3 on PATH may be another interpreter without Jupyter). The spec starts the command
 *    `tslab`, so Jupyter must run with node_modules/.bin on PATH (`notebookEnv()` gives that env).
 * 2. Type declarations of the public API for `import … from 'cryptosentinel'`. tslab type-checks
 *    cells with its own TypeScript 5.0 and "node10" module resolution, which neither follows the
 *    package's self-reference ("exports") nor accepts our `.ts` import paths. Checking the sources
 *    through that compiler took ~50 s per notebook; the declarations take ~1 s. They go into
 *    node_modules/cryptosentinel (a types-only package: at run time Node resolves the name by the
 *    package's self-reference to index.ts, loaded through tsx, see `notebookEnv()`).
 */
const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const JUPYTER = '/usr/bin/jupyter';
const SYSTEM_PYTHON = '/usr/bin/python3';
const TYPES_PKG = join(ROOT, 'node_modules', 'cryptosentinel');
const STAMP = join(TYPES_PKG, 'built-from.json');
/**
 * Packages whose types the API mentions but a notebook never needs in detail (exchange clients, the
 * LLM SDK, queues, DuckDB connections). Parsing their declarations was ~70 % of the 1,250 files
 * tslab read for one import; inside the types-only package they resolve to `any` stand-ins instead.
 * Run time is unaffected: Node loads the real packages.
 */
const STUBBED = ['ccxt', '@anthropic-ai/sdk', 'bullmq', '@duckdb/node-api'];
/** Folders whose sources the public API re-exports. */
const API_SOURCES = ['index.ts', 'engine', 'datasets', 'lab', 'live', 'reports'];

export interface KernelStatus {
  readonly installedKernel: boolean;
  readonly builtTypes: boolean;
}

function run(cmd: string, args: readonly string[]): { status: number | null; stdout: string; out: string } {
  const r = spawnSync(cmd, args, { cwd: ROOT, encoding: 'utf8', maxBuffer: 64 << 20 });
  if (r.error) throw r.error;
  return { status: r.status, stdout: r.stdout, out: `${r.stdout}${r.stderr}` };
}

/** The kernel names Debian's Jupyter knows. */
export function kernelNames(): string[] {
  const r = run(JUPYTER, ['kernelspec', 'list', '--json']);
  if (r.status !== 0) throw new Error(`${JUPYTER} kernelspec list failed: ${r.out}`);
  const json = JSON.parse(r.stdout) as { kernelspecs: Record<string, unknown> };
  return Object.keys(json.kernelspecs);
}

/** Registers tslab/jslab unless both are there already. Returns whether it installed them. */
export function installKernel(): boolean {
  const have = kernelNames();
  if (have.includes('tslab') && have.includes('jslab')) return false;
  const r = run(process.execPath, [join(ROOT, 'node_modules', 'tslab', 'bin', 'tslab'), 'install', `--python=${SYSTEM_PYTHON}`]);
  if (r.status !== 0) throw new Error(`tslab install --python=${SYSTEM_PYTHON} failed: ${r.out}`);
  return true;
}

function newestMtime(path: string): number {
  const s = statSync(path);
  if (!s.isDirectory()) return path.endsWith('.ts') ? s.mtimeMs : 0;
  let m = 0;
  for (const name of readdirSync(path)) if (name !== 'node_modules') m = Math.max(m, newestMtime(join(path, name)));
  return m;
}

/** Builds the API declarations when any source is newer than the last build. Returns whether it built. */
export function buildApiTypes(): boolean {
  const newest = Math.max(...API_SOURCES.filter((p) => existsSync(join(ROOT, p))).map((p) => newestMtime(join(ROOT, p))));
  if (existsSync(STAMP)) {
    const stamp = JSON.parse(readFileSync(STAMP, 'utf8')) as { newestSource: number };
    if (stamp.newestSource >= newest && existsSync(join(TYPES_PKG, 'types', 'index.d.ts'))) return false;
  }
  mkdirSync(TYPES_PKG, { recursive: true });
  // Type errors elsewhere in the tree (work in progress) still leave usable declarations: judge by the output.
  const r = run(process.execPath, [join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', join(ROOT, 'notebooks', 'tsconfig.api-types.json')]);
  if (!existsSync(join(TYPES_PKG, 'types', 'index.d.ts'))) throw new Error(`building the API declarations for the notebooks failed: ${r.out}`);
  for (const name of STUBBED) {
    const dir = join(TYPES_PKG, 'node_modules', name);
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'package.json'), JSON.stringify({ name, private: true, types: './index.d.ts' }) + '\n');
    writeFileSync(join(dir, 'index.d.ts'), '// A stand-in for the notebooks\' type check (notebooks/kernel.ts): everything from here is `any`.\ndeclare const stub: any;\nexport = stub;\n');
  }
  writeFileSync(join(TYPES_PKG, 'package.json'), JSON.stringify({ name: 'cryptosentinel', private: true, types: './types/index.d.ts' }, null, 2) + '\n');
  writeFileSync(STAMP, JSON.stringify({ newestSource: newest }) + '\n');
  return true;
}

/**
 * The environment Jupyter needs to run the notebooks: the `tslab` command on PATH, and tsx
 * registered in the kernel's Node so `require('cryptosentinel')` can load index.ts.
 */
export function notebookEnv(base: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const opts = base.NODE_OPTIONS ?? '';
  return {
    ...base,
    PATH: `${join(ROOT, 'node_modules', '.bin')}${delimiter}${base.PATH ?? ''}`,
    NODE_OPTIONS: opts.includes('--import tsx') ? opts : `${opts} --import tsx`.trim(),
  };
}

export function prepareNotebooks(): KernelStatus {
  return { installedKernel: installKernel(), builtTypes: buildApiTypes() };
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const s = prepareNotebooks();
  process.stdout.write(`tslab kernel: ${s.installedKernel ? 'installed' : 'already installed'}; API declarations: ${s.builtTypes ? 'built' : 'up to date'}\n`);
  process.stdout.write(`run Jupyter with: PATH=${join(ROOT, 'node_modules', '.bin')}:$PATH NODE_OPTIONS='--import tsx' ${JUPYTER} lab ${join(ROOT, 'notebooks')}\n`);
}
