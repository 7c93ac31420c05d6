import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { InProcessClaims, RedisClaims, type ClaimStore } from '../../live/claims.ts';
import { placeWithClaim } from '../../live/claims-order.ts';
import { Journal, verify } from '../../engine/journal.ts';

const redisUrl = inject('redisUrl');
const RACER = join(import.meta.dirname, 'claim-racer.child.ts');
const BTC_BUY = { symbol: 'BTC/USDT', side: 'buy' } as const;

const stores: ClaimStore[] = [];
const children: ChildProcess[] = [];
afterAll(async () => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
  await Promise.all(stores.map((s) => s.close()));
});

function contract(name: string, make: () => { store: ClaimStore; advance: (ms: number) => Promise<void> }) {
  describe(`${name}: claim contract`, () => {
    it('one holder at a time; the owner may extend; another agent is told who holds it', async () => {
      const { store } = make();
      const a = await store.claim(BTC_BUY, 'alice', 10_000);
      expect(a.ok).toBe(true);
      const b = await store.claim(BTC_BUY, 'bob', 10_000);
      expect(b).toMatchObject({ ok: false, holder: { owner: 'alice' } });
      if (!b.ok) expect(b.holder.ttlMs).toBeGreaterThan(0);
      // The other side and another symbol are other trades.
      expect((await store.claim({ symbol: 'BTC/USDT', side: 'sell' }, 'bob', 10_000)).ok).toBe(true);
      expect((await store.claim({ symbol: 'ETH/USDT', side: 'buy' }, 'bob', 10_000)).ok).toBe(true);
      const again = await store.claim(BTC_BUY, 'alice', 20_000);
      expect(again.ok && a.ok && again.claim.token === a.claim.token).toBe(true);
      expect(await store.holder(BTC_BUY)).toMatchObject({ owner: 'alice' });
    });

    it('release needs the token: a stale or foreign token releases nothing', async () => {
      const { store } = make();
      const a = await store.claim(BTC_BUY, 'alice', 10_000);
      if (!a.ok) throw new Error('claim failed');
      expect(await store.release({ ...a.claim, token: 'alice|forged' })).toBe(false);
      expect(await store.holder(BTC_BUY)).toMatchObject({ owner: 'alice' });
      expect(await store.release(a.claim)).toBe(true);
      expect(await store.release(a.claim)).toBe(false);
      expect(await store.holder(BTC_BUY)).toBeNull();
      expect((await store.claim(BTC_BUY, 'bob', 10_000)).ok).toBe(true);
    });

    it('a claim runs out after its TTL, and the old owner cannot release the new holder\'s claim', async () => {
      const { store, advance } = make();
      const a = await store.claim(BTC_BUY, 'alice', 150);
      if (!a.ok) throw new Error('claim failed');
      await advance(300);
      const b = await store.claim(BTC_BUY, 'bob', 10_000);
      expect(b.ok).toBe(true);
      expect(await store.release(a.claim)).toBe(false);
      expect(await store.holder(BTC_BUY)).toMatchObject({ owner: 'bob' });
    });

    it('bad arguments are refused before anything is stored', async () => {
      const { store } = make();
      await expect(store.claim({ symbol: 'BTC/USDT', side: 'long' as never }, 'alice', 1000)).rejects.toThrow();
      await expect(store.claim(BTC_BUY, 'al|ice', 1000)).rejects.toThrow(/\|/);
      await expect(store.claim(BTC_BUY, 'alice', 0)).rejects.toThrow();
      expect(await store.holder(BTC_BUY)).toBeNull();
    });
  });
}

contract('in-process', () => {
  let t = 1_000;
  const store = new InProcessClaims(() => t);
  return { store, advance: async (ms) => void (t += ms) };
});

contract('Redis', () => {
  const store = new RedisClaims(redisUrl, `test:claim:${randomUUID()}`);
  stores.push(store);
  return { store, advance: (ms) => new Promise((r) => setTimeout(r, ms)) };
});

describe('claims across processes (real redis-server)', () => {
  it('three processes race for the same (symbol, side): exactly one wins, the others name it', async () => {
    const prefix = `test:claim:${randomUUID()}`;
    const racers = ['p1', 'p2', 'p3'].map((owner) => {
      const child = spawn(process.execPath, ['--import', 'tsx', RACER, redisUrl, prefix, owner], { stdio: ['pipe', 'pipe', 'inherit'] });
      children.push(child);
      let out = '';
      const ready = new Promise<void>((r) => child.stdout!.on('data', (d) => ((out += d), out.includes('ready') && r())));
      const done = new Promise<string>((r) => child.on('exit', () => r(out.replace('ready\n', '').trim())));
      return { owner, child, ready, done };
    });
    await Promise.all(racers.map((r) => r.ready));
    for (const r of racers) r.child.stdin!.write('go\n');
    const results = await Promise.all(racers.map((r) => r.done));
    const winners = racers.filter((_, i) => results[i] === 'won').map((r) => r.owner);
    expect(winners.length).toBe(1);
    for (const res of results) if (res !== 'won') expect(res).toBe(`lost ${winners[0]}`);
    const check = new RedisClaims(redisUrl, prefix);
    stores.push(check);
    expect(await check.holder(BTC_BUY)).toMatchObject({ owner: winners[0] });
  }, 120_000);
});

describe('the claim-aware order path', () => {
  it('refuses an opening order while another agent holds the claim, journaling a rejection that names it', async () => {
    const claims = new InProcessClaims(() => 0);
    const journal = new Journal();
    const placed: string[] = [];
    const req = (agentId: string, id: string, opening = true) => ({ id, agentId, symbol: 'BTC/USDT', side: 'buy' as const, type: 'market' as const, amount: 0.1, opening, ts: 1_000 });
    const first = await placeWithClaim(claims, journal, req('trend', 'o1'), 60_000, () => placed.push('o1'));
    expect(first.ok).toBe(true);
    const second = await placeWithClaim(claims, journal, req('aggressive', 'o2'), 60_000, () => placed.push('o2'));
    expect(second.ok).toBe(false);
    expect(placed).toEqual(['o1']);
    const rejected = journal.entries().filter((e) => e.type === 'order_rejected');
    expect(rejected).toHaveLength(1);
    expect(rejected[0]!.payload).toMatchObject({ id: 'o2', agentId: 'aggressive', breach: { limit: 'claim', current: 'trend' } });
    expect((rejected[0]!.payload as { breach: { message: string } }).breach.message).toMatch(/BTC\/USDT buy is claimed by trend/);
    // A reducing order needs no claim: an agent can always get out.
    const exit = await placeWithClaim(claims, journal, req('aggressive', 'o3', false), 60_000, () => placed.push('o3'));
    expect(exit.ok).toBe(true);
    expect(placed).toEqual(['o1', 'o3']);
    expect(verify(journal.entries()).ok).toBe(true);
  });
});
