import { describe, expect, it } from 'vitest';
import { ZodError } from 'zod';
import { KillSwitch, KillSwitchCommandSchema, type KillTransition } from '../../engine/killswitch.ts';

const o = (agentId: string, reduceOnly = false) => ({ agentId, reduceOnly });

describe('KillSwitch', () => {
  it('goes ACTIVE → REDUCING → HALTED by trips, and back only by a named override', () => {
    const log: KillTransition[] = [];
    const ks = new KillSwitch({ onTransition: (t) => log.push(t) });
    expect(ks.allows(o('a'), false)).toBe(true);
    ks.trip({ scope: 'global' }, 'REDUCING', { by: 'alice', reason: 'odd fills', ts: 1 });
    expect([ks.allows(o('a'), false), ks.allows(o('a'), true)]).toEqual([false, true]);
    ks.trip({ scope: 'global' }, 'HALTED', { by: 'alice', reason: 'worse', ts: 2, cancelAll: true });
    expect([ks.allows(o('a'), false), ks.allows(o('a'), true)]).toEqual([false, false]);
    // Tripping to a looser or equal state changes nothing and journals nothing.
    expect(ks.trip({ scope: 'global' }, 'REDUCING', { by: 'bot', reason: 'x', ts: 3 })).toBeNull();
    expect(ks.override({ scope: 'global' }, { by: 'bob', reason: 'fixed', ts: 4, to: 'REDUCING' })).toMatchObject({ from: 'HALTED', to: 'REDUCING' });
    ks.override({ scope: 'global' }, { by: 'bob', reason: 'fixed', ts: 5 });
    expect(ks.allows(o('a'), false)).toBe(true);
    expect(log.map((t) => `${t.from}>${t.to}`)).toEqual(['ACTIVE>REDUCING', 'REDUCING>HALTED', 'HALTED>REDUCING', 'REDUCING>ACTIVE']);
    expect(log[1]).toMatchObject({ by: 'alice', reason: 'worse', ts: 2, cancelAll: true, flatten: false, auto: false, scope: 'global' });
  });

  it('requires who and why for every transition', () => {
    const ks = new KillSwitch();
    expect(() => ks.trip({ scope: 'global' }, 'HALTED', { by: ' ', reason: 'x', ts: 1 })).toThrow(/who/);
    ks.trip({ scope: 'global' }, 'HALTED', { by: 'risk-engine', reason: 'drawdown', ts: 1, auto: true });
    expect(() => ks.override({ scope: 'global' }, { by: 'alice', reason: '', ts: 2 })).toThrow(/why/);
    expect(ks.effective('a')).toBe('HALTED');
  });

  it('gives an agent the stricter of global and its own state', () => {
    const ks = new KillSwitch();
    ks.trip({ scope: 'agent', agentId: 'rogue' }, 'HALTED', { by: 'ops', reason: 'rogue', ts: 1 });
    expect([ks.effective('rogue'), ks.effective('good')]).toEqual(['HALTED', 'ACTIVE']);
    ks.trip({ scope: 'global' }, 'REDUCING', { by: 'ops', reason: 'market', ts: 2 });
    expect([ks.effective('rogue'), ks.effective('good')]).toEqual(['HALTED', 'REDUCING']);
    ks.override({ scope: 'global' }, { by: 'ops', reason: 'calm', ts: 3 });
    expect([ks.effective('rogue'), ks.effective('good')]).toEqual(['HALTED', 'ACTIVE']);
    ks.override({ scope: 'agent', agentId: 'rogue' }, { by: 'ops', reason: 'patched', ts: 4 });
    expect(ks.status()).toEqual({ global: expect.objectContaining({ state: 'ACTIVE' }), agents: {} });
  });

  it('lets through only its own reduce-only flatten orders in HALTED, and only if flatten was asked', () => {
    const a = new KillSwitch();
    a.trip({ scope: 'global' }, 'HALTED', { by: 'ops', reason: 'stop', ts: 1, flatten: true });
    expect(a.allows(o('killswitch', true), true)).toBe(true);
    expect(a.allows(o('killswitch', true), false)).toBe(false);
    expect(a.allows(o('killswitch', false), true)).toBe(false);
    expect(a.allows(o('a1', true), true)).toBe(false);
    const b = new KillSwitch();
    b.trip({ scope: 'global' }, 'HALTED', { by: 'ops', reason: 'stop', ts: 1 });
    expect(b.allows(o('killswitch', true), true)).toBe(false);
  });

  it('is driven by plain JSON commands, validated', () => {
    const ks = new KillSwitch();
    const msg = JSON.parse('{"type":"trip","scope":"agent","agentId":"bot","to":"HALTED","by":"alice","reason":"runaway","ts":10,"flatten":true}');
    const r = ks.apply(msg);
    expect(r.transition).toMatchObject({ scope: 'agent', agentId: 'bot', to: 'HALTED', flatten: true, cancelAll: false });
    expect(r.status.agents.bot!.state).toBe('HALTED');
    expect(ks.apply({ type: 'status' }).transition).toBeNull();
    expect(ks.apply({ type: 'override', scope: 'agent', agentId: 'bot', by: 'alice', reason: 'ok', ts: 11 }).status.agents).toEqual({});
    expect(() => ks.apply({ type: 'trip', scope: 'agent', to: 'HALTED', by: 'a', reason: 'b', ts: 1 })).toThrow(ZodError);
    expect(() => KillSwitchCommandSchema.parse({ type: 'override', scope: 'global', by: 'a', reason: 'b', ts: 1, to: 'HALTED' })).toThrow(ZodError);
    expect(() => ks.apply({ type: 'trip', scope: 'global', to: 'HALTED', reason: 'no who', ts: 1 })).toThrow(ZodError);
  });

  it('replays journaled transitions to the same state', () => {
    const log: KillTransition[] = [];
    const a = new KillSwitch({ onTransition: (t) => log.push(t) });
    a.trip({ scope: 'agent', agentId: 'x' }, 'REDUCING', { by: 'risk-engine', reason: 'loss', ts: 1, auto: true });
    a.trip({ scope: 'global' }, 'HALTED', { by: 'ops', reason: 'stop', ts: 2, cancelAll: true });
    a.override({ scope: 'global' }, { by: 'ops', reason: 'resume', ts: 3 });
    const b = new KillSwitch();
    for (const t of JSON.parse(JSON.stringify(log)) as KillTransition[]) b.replay(t);
    expect(b.status()).toEqual(a.status());
  });
});
