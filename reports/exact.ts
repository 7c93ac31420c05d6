/**
 * Exact rational numbers on BigInt, for money people file. Fill quantities, prices and fees enter
 * as decimals (a float is read through its shortest decimal string, `String(x)`, which is the
 * decimal the exchange or the engine meant), so sums and products stay exact; only a pro-rata
 * split divides, and a rational keeps that exact too until the one rounding to cents.
 */
export interface Exact {
  /** numerator; the value is n / d */
  readonly n: bigint;
  /**
   * denominator, always > 0. Not always in lowest terms: sums and products of decimals keep a
   * power-of-ten denominator instead of paying for a gcd on every step (compare with `cmp`).
   */
  readonly d: bigint;
}

const gcd = (a: bigint, b: bigint): bigint => {
  if (a < 0n) a = -a;
  while (b !== 0n) [a, b] = [b, a % b];
  return a;
};

export function exact(n: bigint, d = 1n): Exact {
  if (d === 0n) throw new RangeError('division by zero');
  if (d < 0n) [n, d] = [-n, -d];
  const g = gcd(n, d);
  return g > 1n ? { n: n / g, d: d / g } : { n, d };
}

export const ZERO: Exact = { n: 0n, d: 1n };

const DECIMAL = /^([+-])?(\d+)(?:\.(\d*))?(?:[eE]([+-]?\d+))?$|^([+-])?\.(\d+)(?:[eE]([+-]?\d+))?$/;

/**
 * A decimal from text ("0.5", "1e-7", "-12.30") or from a finite number via `String(x)`.
 * Returns null when the text is not a plain decimal (so callers can name the field).
 */
export function parseExact(v: string | number): Exact | null {
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) return null;
    v = String(v);
  }
  const m = DECIMAL.exec(v.trim());
  if (!m) return null;
  const sign = m[1] ?? m[5];
  const int = m[2] ?? '0';
  const frac = m[3] ?? m[6] ?? '';
  const e = Number(m[4] ?? m[7] ?? '0');
  if (!Number.isSafeInteger(e) || Math.abs(e) > 400) return null;
  let n = BigInt(int + frac);
  const scale = frac.length - e;
  if (sign === '-') n = -n;
  if (scale <= 0) return { n: n * pow10(-scale), d: 1n };
  return { n, d: pow10(scale) };
}

const POW10: bigint[] = [];
const pow10 = (k: number): bigint => (POW10[k] ??= 10n ** BigInt(k));

/**
 * Sum or difference. Decimal denominators (powers of ten) usually divide one another, so the
 * result keeps the larger one with no gcd; only unrelated denominators are reduced.
 */
function combine(a: Exact, b: Exact, s: 1n | -1n): Exact {
  if (a.d === b.d) return { n: a.n + s * b.n, d: a.d };
  if (a.d > b.d && a.d % b.d === 0n) return { n: a.n + s * b.n * (a.d / b.d), d: a.d };
  if (b.d > a.d && b.d % a.d === 0n) return { n: a.n * (b.d / a.d) + s * b.n, d: b.d };
  return exact(a.n * b.d + s * b.n * a.d, a.d * b.d);
}
export const add = (a: Exact, b: Exact): Exact => combine(a, b, 1n);
export const sub = (a: Exact, b: Exact): Exact => combine(a, b, -1n);
/** Product; of two decimals a decimal (denominators multiply), so no reduction. */
export const mul = (a: Exact, b: Exact): Exact => ({ n: a.n * b.n, d: a.d * b.d });
export const div = (a: Exact, b: Exact): Exact => exact(a.n * b.d, a.d * b.n);
export const cmp = (a: Exact, b: Exact): number => {
  const x = a.n * b.d - b.n * a.d;
  return x < 0n ? -1 : x > 0n ? 1 : 0;
};
export const isZero = (a: Exact): boolean => a.n === 0n;
export const sign = (a: Exact): number => (a.n < 0n ? -1 : a.n > 0n ? 1 : 0);
export const min = (a: Exact, b: Exact): Exact => (cmp(a, b) <= 0 ? a : b);

/** n / d rounded to an integer, halves away from zero (for non-negative values: half up). */
export function divRound(n: bigint, d: bigint): bigint {
  if (d < 0n) [n, d] = [-n, -d];
  const neg = n < 0n;
  const a = neg ? -n : n;
  const q = (2n * a + d) / (2n * d);
  return neg ? -q : q;
}

/** The value in cents, rounded half away from zero. */
export const toCents = (a: Exact): bigint => divRound(a.n * 100n, a.d);

/** Cents as "1234.56" / "-0.05". */
export function formatCents(c: bigint): string {
  const neg = c < 0n;
  const a = neg ? -c : c;
  const s = `${a / 100n}.${String(a % 100n).padStart(2, '0')}`;
  return neg ? `-${s}` : s;
}

/** "1234.56" / "-0.05" back to cents (the inverse of formatCents, for readers of a report). */
export function parseCents(s: string): bigint {
  const m = /^(-)?(\d+)\.(\d{2})$/.exec(s);
  if (!m) throw new RangeError(`not a money amount with 2 decimals: "${s}"`);
  const c = BigInt(m[2]! + m[3]!);
  return m[1] ? -c : c;
}

/**
 * A terminating decimal written out in full ("0.5", "0.00000001", "12"). Quantities here are
 * always terminating (sums and differences of decimals); anything else is a bug, not input.
 */
export function formatExact(a: Exact): string {
  let d = a.d;
  let twos = 0;
  let fives = 0;
  while (d % 2n === 0n) (d /= 2n), twos++;
  while (d % 5n === 0n) (d /= 5n), fives++;
  if (d !== 1n) throw new RangeError(`${a.n}/${a.d} has no finite decimal form`);
  const k = Math.max(twos, fives);
  const scaled = (a.n * 10n ** BigInt(k)) / a.d;
  const neg = scaled < 0n;
  const digits = (neg ? -scaled : scaled).toString().padStart(k + 1, '0');
  const int = digits.slice(0, digits.length - k);
  const frac = k > 0 ? digits.slice(digits.length - k).replace(/0+$/, '') : '';
  return `${neg ? '-' : ''}${int}${frac ? `.${frac}` : ''}`;
}
