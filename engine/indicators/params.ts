import { z } from 'zod';

/**
 * A whole-number period with a default. The upper bound only stops a typo from allocating
 * gigabytes of ring buffer.
 */
export function period(def: number, min = 1) {
  return z.number().int().min(min).max(1_000_000).default(def);
}
