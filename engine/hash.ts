import { createHash } from 'node:crypto';

/**
 * Canonical JSON: object keys sorted, no whitespace, numbers in JS shortest round-trip form,
 * non-finite numbers as strings ("NaN", "Infinity") so they survive hashing distinctly.
 * The same value always gives the same bytes, so hashes are stable across machines.
 */
export function canonicalJson(value: unknown): string {
  return encode(value);
}

function encode(v: unknown): string {
  if (v === null || v === undefined) return 'null';
  switch (typeof v) {
    case 'number':
      return Number.isFinite(v) ? (Object.is(v, -0) ? '0' : JSON.stringify(v)) : JSON.stringify(String(v));
    case 'string':
      return JSON.stringify(v);
    case 'boolean':
      return v ? 'true' : 'false';
    case 'bigint':
      return JSON.stringify(v.toString());
    case 'object': {
      if (ArrayBuffer.isView(v) && !(v instanceof DataView)) {
        return '[' + Array.from(v as unknown as ArrayLike<number>, (x) => encode(x)).join(',') + ']';
      }
      if (Array.isArray(v)) return '[' + v.map(encode).join(',') + ']';
      const o = v as Record<string, unknown>;
      const keys = Object.keys(o).filter((k) => o[k] !== undefined).sort();
      return '{' + keys.map((k) => JSON.stringify(k) + ':' + encode(o[k])).join(',') + '}';
    }
    default:
      throw new TypeError(`cannot hash a ${typeof v}`);
  }
}

export function sha256Hex(data: string | Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

export function hashValue(value: unknown): string {
  return sha256Hex(canonicalJson(value));
}

/** Hash of float columns by their exact bytes (little-endian IEEE-754), for dataset content hashes. */
export function hashFloatColumns(cols: readonly Float64Array[], extra = ''): string {
  const h = createHash('sha256');
  h.update(extra);
  for (const c of cols) h.update(new Uint8Array(c.buffer, c.byteOffset, c.byteLength));
  return h.digest('hex');
}

/** Incremental sha256 for large results: feed text and float columns without building one big string. */
export class StreamHash {
  private readonly h = createHash('sha256');
  text(s: string): this {
    this.h.update(s);
    return this;
  }
  floats(a: Float64Array): this {
    this.h.update(new Uint8Array(a.buffer, a.byteOffset, a.byteLength));
    return this;
  }
  digest(): string {
    return this.h.digest('hex');
  }
}
