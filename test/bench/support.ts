/** What every benchmark script shares: one JSON line per figure, and a best-of-N wall timer. */
export const emit = (o: Record<string, unknown>): void => void process.stdout.write(JSON.stringify(o) + '\n');

/**
 * Best wall time in seconds of `runs` after `warm` unmeasured runs: a sweep runs the engine
 * thousands of times, so the JIT-compiled steady state is the figure that matters.
 */
export function best(runs: number, f: () => void, warm = 3): number {
  for (let r = 0; r < warm; r++) f();
  let b = Infinity;
  for (let r = 0; r < runs; r++) {
    const t0 = performance.now();
    f();
    b = Math.min(b, performance.now() - t0);
  }
  return b / 1000;
}
