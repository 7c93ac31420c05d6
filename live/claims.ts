import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import type { Side } from '../engine/types.ts';
import { connect } from './bus/redis-streams.ts';
import type { Redis } from 'ioredis';

/**
 * Coordination between agents: before opening a position an agent claims (symbol, side); while
 * the claim holds (until its TTL runs out or its owner releases it) no other agent can open the
 * same trade. The owner claiming again extends its own claim. Release needs the claim's token, so
 * an agent whose claim expired and was taken over cannot release the new holder's claim.
 *
 * Two stores, one interface: `InProcessClaims` (one process; an injectable clock) and
 * `RedisClaims` (SET NX PX with an owner token; Lua compare-and-delete to release), which several
 * processes share.
 */
export interface ClaimKey {
  readonly symbol: string;
  readonly side: Side;
}

export interface Claim extends ClaimKey {
  readonly owner: string;
  /** Proof of ownership: `<owner>|<uuid>`. */
  readonly token: string;
  readonly ttlMs: number;
}

export interface ClaimHolder {
  readonly owner: string;
  /** Time left (ms), -1 when unknown. */
  readonly ttlMs: number;
}

export type ClaimResult = { readonly ok: true; readonly claim: Claim } | { readonly ok: false; readonly holder: ClaimHolder };

export interface ClaimStore {
  claim(key: ClaimKey, owner: string, ttlMs: number): Promise<ClaimResult>;
  /** True when this claim was still held and is now released. */
  release(claim: Claim): Promise<boolean>;
  holder(key: ClaimKey): Promise<ClaimHolder | null>;
  close(): Promise<void>;
}

const ownerSchema = z.string().min(1).max(200).refine((s) => !s.includes('|'), 'must not contain "|"');
const keySchema = z.strictObject({ symbol: z.string().min(1).max(100), side: z.enum(['buy', 'sell']) });
const ttlSchema = z.number().int().positive().max(7 * 24 * 3_600_000);

function checkArgs(key: ClaimKey, owner: string, ttlMs: number): void {
  keySchema.parse(key);
  ownerSchema.parse(owner);
  ttlSchema.parse(ttlMs);
}

const ownerOf = (token: string): string => token.slice(0, token.lastIndexOf('|'));
const newToken = (owner: string): string => `${owner}|${randomUUID()}`;

export function describeClaim(key: ClaimKey, h: ClaimHolder): string {
  return `${key.symbol} ${key.side} is claimed by ${h.owner}${h.ttlMs >= 0 ? ` for ${h.ttlMs} ms more` : ''}`;
}

export class InProcessClaims implements ClaimStore {
  private readonly held = new Map<string, { token: string; until: number }>();

  /** `now` is the clock TTLs run on (a replay clock in a backtest, the wall clock live). */
  constructor(private readonly now: () => number = Date.now) {}

  async claim(key: ClaimKey, owner: string, ttlMs: number): Promise<ClaimResult> {
    checkArgs(key, owner, ttlMs);
    const k = keyOf(key);
    const t = this.now();
    const cur = this.held.get(k);
    if (cur && cur.until > t && ownerOf(cur.token) !== owner) return { ok: false, holder: { owner: ownerOf(cur.token), ttlMs: cur.until - t } };
    const token = cur && cur.until > t ? cur.token : newToken(owner);
    this.held.set(k, { token, until: t + ttlMs });
    return { ok: true, claim: { ...key, owner, token, ttlMs } };
  }

  async release(claim: Claim): Promise<boolean> {
    const k = keyOf(claim);
    const cur = this.held.get(k);
    if (!cur || cur.token !== claim.token) return false;
    this.held.delete(k);
    return cur.until > this.now();
  }

  async holder(key: ClaimKey): Promise<ClaimHolder | null> {
    const cur = this.held.get(keyOf(key));
    const t = this.now();
    return cur && cur.until > t ? { owner: ownerOf(cur.token), ttlMs: cur.until - t } : null;
  }

  async close(): Promise<void> {}
}

const keyOf = (k: ClaimKey): string => `${k.symbol}\u0000${k.side}`;

/** Extend a claim its owner already holds; else report the holder. Atomic. */
const EXTEND_IF_OWNER = `
local cur = redis.call('GET', KEYS[1])
if not cur then return {0, '', -2} end
local prefix = ARGV[1] .. '|'
if string.sub(cur, 1, string.len(prefix)) == prefix and not string.find(cur, '|', string.len(prefix) + 1, true) then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return {1, cur, tonumber(ARGV[2])}
end
return {0, cur, redis.call('PTTL', KEYS[1])}
`;

/** Delete only if the caller still holds it (compare-and-delete). */
const RELEASE = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`;

export class RedisClaims implements ClaimStore {
  private readonly redis: Redis;

  /** Keys are `<prefix>:<symbol>:<side>`; give each desk (or test) its own prefix. */
  constructor(url: string, private readonly prefix = 'cs:claim') {
    this.redis = connect(url);
  }

  private key(k: ClaimKey): string {
    return `${this.prefix}:${k.symbol}:${k.side}`;
  }

  async claim(key: ClaimKey, owner: string, ttlMs: number): Promise<ClaimResult> {
    checkArgs(key, owner, ttlMs);
    const k = this.key(key);
    // Two tries: the holder's claim may expire between SET NX failing and the check.
    for (let attempt = 0; attempt < 2; attempt++) {
      const token = newToken(owner);
      if ((await this.redis.call('SET', k, token, 'NX', 'PX', String(ttlMs))) === 'OK') {
        return { ok: true, claim: { ...key, owner, token, ttlMs } };
      }
      const [won, cur, ttl] = (await this.redis.call('EVAL', EXTEND_IF_OWNER, '1', k, owner, String(ttlMs))) as [number, string, number];
      if (won === 1) return { ok: true, claim: { ...key, owner, token: cur, ttlMs } };
      if (cur !== '') return { ok: false, holder: { owner: ownerOf(cur), ttlMs: Number(ttl) } };
    }
    const h = await this.holder(key);
    return { ok: false, holder: h ?? { owner: 'unknown', ttlMs: -1 } };
  }

  async release(claim: Claim): Promise<boolean> {
    return Number(await this.redis.call('EVAL', RELEASE, '1', this.key(claim), claim.token)) === 1;
  }

  async holder(key: ClaimKey): Promise<ClaimHolder | null> {
    const k = this.key(key);
    const [cur, ttl] = (await this.redis.multi().get(k).pttl(k).exec())!.map((r) => r[1]) as [string | null, number];
    return cur === null ? null : { owner: ownerOf(cur), ttlMs: Number(ttl) };
  }

  async close(): Promise<void> {
    await this.redis.quit();
  }
}
