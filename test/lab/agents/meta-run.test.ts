import { describe, expect, it } from 'vitest';
import { metaLearnPersona } from '../../../lab/agents/meta-run.ts';
import { callsFromJournal } from '../../../lab/agents/scoring-journal.ts';
import { verify } from '../../../engine/journal.ts';
import { createRng } from '../../../engine/rng.ts';
import type { BarColumns } from '../../../engine/types.ts';
import type { AgentDecision } from '../../../engine/agents/types.ts';

const H = 3_600_000;

/** Hourly bars from a seeded walk with slow swings (trends to find); high/low around open/close. */
function bars(n: number, seed: number, poisonFrom = Infinity): BarColumns {
  const rng = createRng(seed);
  const close = new Float64Array(n), open = new Float64Array(n), high = new Float64Array(n), low = new Float64Array(n), volume = new Float64Array(n);
  let c = 100;
  for (let i = 0; i < n; i++) {
    open[i] = c;
    c *= Math.exp(0.004 * Math.sin(i / 40) + 0.006 * rng.normal());
    // a bar that closes after `poisonFrom` is replaced by garbage
    if ((i + 1) * H > poisonFrom) c = 50 + 40 * Math.abs(Math.sin(i * 7.3));
    close[i] = c;
    high[i] = Math.max(open[i]!, c) * 1.002;
    low[i] = Math.min(open[i]!, c) * 0.998;
    volume[i] = 100 * Math.exp(0.3 * rng.normal());
  }
  return { symbol: 'BTC/USDT', timeframeMs: H, length: n, ts: Float64Array.from({ length: n }, (_, i) => i * H), open, high, low, close, volume };
}

const opts = { persona: 'trend-follower', horizon: 4, lookback: 120, trainBars: 240, testBars: 120, every: 2, minSamples: 20 } as const;

describe('a persona that re-weights its own factors walk-forward', () => {
  const series = bars(840, 5);
  const r = metaLearnPersona(series, opts);

  it('plans the windows after the training span, learns from past calls, and is deterministic', () => {
    expect(r.windows.map((w) => [w.from / H, w.to / H])).toEqual([[360, 480], [480, 600], [600, 720], [720, 840]]);
    expect(r.windows.every((w) => w.learned && w.samples > 0 && w.calls > 0)).toBe(true);
    expect(metaLearnPersona(series, opts)).toEqual(r);
    expect(verify(r.journal).ok).toBe(true);
  });

  it('journals each change as a config_change at the window start, and decides the window with those weights', () => {
    const changes = r.journal.filter((e) => e.type === 'config_change');
    expect(changes.length).toBeGreaterThan(0);
    let before: unknown = r.prior;
    for (const c of changes) {
      expect(r.windows.map((w) => w.from)).toContain(c.ts);
      expect(c.payload).toMatchObject({ key: 'agents.trend-follower.factorWeights', before, by: 'meta-learning' });
      before = (c.payload as { after: unknown }).after;
    }
    // A decision inside window k weighs its signals as the learned table says (renormalised over the signals present).
    for (const w of r.windows) {
      const d = r.journal.find((e) => e.type === 'decision' && e.ts >= w.from && e.ts < w.to)!.payload as { detail: AgentDecision };
      const present = d.detail.signals.map((s) => s.name);
      const sum = present.reduce((s, n) => s + (w.weights[n] ?? w.weights[d.detail.signals.find((x) => x.name === n)!.kind] ?? 0), 0);
      for (const s of d.detail.signals) expect(d.detail.synthesis.weights[s.name]).toBeCloseTo((w.weights[s.name] ?? w.weights[s.kind] ?? 0) / sum, 12);
    }
  });

  it('the journal reads back as the agent\'s calls', () => {
    const decisions = r.journal.filter((e) => e.type === 'decision');
    expect(callsFromJournal(r.journal).calls).toHaveLength(decisions.length);
  });

  it('prices from window k on do not change the weights learned for window k', () => {
    for (const k of [1, 2]) {
      const p = metaLearnPersona(bars(840, 5, r.windows[k]!.from), opts);
      expect(p.windows[k]!.weights).toEqual(r.windows[k]!.weights);
      expect(p.windows[k]!.samples).toBe(r.windows[k]!.samples);
      expect(p.windows[k]!.pnl).not.toBe(r.windows[k]!.pnl);
      expect(p.windows[k + 1]!.weights).not.toEqual(r.windows[k + 1]!.weights);
    }
  });

  it('refuses an unknown persona or a bad span', () => {
    expect(() => metaLearnPersona(series, { ...opts, persona: 'oracle' })).toThrow(/unknown persona "oracle"/);
    expect(() => metaLearnPersona(series, { ...opts, testBars: 0 })).toThrow(/testBars must be an integer ≥ 1/);
  });
});
