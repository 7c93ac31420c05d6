import { debate, type ConsensusConfig, type ConsensusRecord } from '../../engine/agents/consensus.ts';
import type { AgentDecision, AgentInput, SentimentReading } from '../../engine/agents/types.ts';
import { fmt } from '../../engine/agents/situation.ts';
import { barWindowOf } from '../../engine/agents/window.ts';
import { InputError } from '../../engine/errors.ts';
import { timeframeToMs } from '../../engine/timeframe.ts';
import type { Store } from '../../datasets/store.ts';
import { pickExchange } from '../backtest.ts';
import { buildAgents } from './personas.ts';
import { analyzeSentiment } from './sentiment.ts';

export interface DebateRequest {
  readonly symbol: string;
  readonly timeframe: string;
  /** The replay time: only bars closed by then (and sentiment stamped by then) are read. */
  readonly at: number;
  readonly exchange?: string;
  readonly agents: readonly string[];
  readonly consensus: ConsensusConfig;
  /** Bars the agents see. */
  readonly window?: number;
  /** The position the desk holds (base units) and its equity, for the record. */
  readonly positionQty?: number;
  readonly equity?: number;
}

/** One debate at a past time, from the store: `cs agents debate`. */
export async function debateAt(store: Store, q: DebateRequest): Promise<DebateView> {
  const tf = timeframeToMs(q.timeframe);
  const window = q.window ?? 200;
  const exchange = q.exchange ?? (await pickExchange(store, q.symbol, q.timeframe));
  // A bar opened at t closes at t + tf: the last one the agents may see opened at or before at − tf.
  const { columns } = await store.loadBars({ exchange, symbol: q.symbol, timeframe: q.timeframe }, { from: q.at - (window + 1) * tf, to: q.at - tf + 1 }, { cache: false });
  if (columns.length === 0) throw new InputError(`no ${q.symbol} ${q.timeframe} bar on ${exchange} closed by ${new Date(q.at).toISOString()}`);
  const bars = barWindowOf(columns, columns.length - window, columns.length);
  const now = bars.ts[bars.length - 1]! + tf;
  const sentiment = await analyzeSentiment(store, q.symbol, now);
  const input: AgentInput = { symbol: q.symbol, now, bars, sentiment, features: {}, positionQty: q.positionQty ?? 0, equity: q.equity ?? 10_000 };
  const record = debate(buildAgents(q.agents), input, q.consensus);
  return { symbol: q.symbol, timeframe: q.timeframe, at: q.at, now, bars: bars.length, sentiment, record };
}

/** One debate, explained as text: each agent's five steps in short, the rounds, the vote, the decision. */
export interface DebateView {
  readonly symbol: string;
  readonly timeframe: string;
  readonly at: number;
  /** Close time of the last bar the agents saw (the replay clock). */
  readonly now: number;
  readonly bars: number;
  readonly sentiment: SentimentReading | null;
  readonly record: ConsensusRecord;
}

const sign = (x: number): string => `${x >= 0 ? '+' : ''}${x.toFixed(2)}`;
const iso = (t: number): string => new Date(t).toISOString().replace(':00.000Z', 'Z');

export function describeAgent(d: AgentDecision): string {
  const sig = d.signals.map((s) => `${s.name} ${typeof s.value === 'number' ? (Math.abs(s.value) >= 100 ? s.value.toFixed(0) : s.value.toPrecision(3)) : String(s.value)} (${sign(s.score)})`).join(', ');
  const w = Object.entries(d.synthesis.weights)
    .filter(([, v]) => v > 0)
    .map(([k, v]) => `${k} ${v.toFixed(2)}`)
    .join(', ');
  const r = d.recommendation;
  const lines = [
    `${d.agentId} (${d.persona})${d.abstained ? ` — abstained: ${d.abstained.reason}` : ''}`,
    `  1 situation   ${d.situation.summary}`,
    `  2 signals     ${sig || 'none yet (warming up)'}`,
    `  3 synthesis   score ${sign(d.synthesis.score)} → ${d.synthesis.stance}${w ? ` (weights ${w})` : ''}`,
    `  4 risk        ${d.risk.vetoes.length ? `vetoes: ${d.risk.vetoes.join('; ')}` : 'no veto'}; stop ${d.risk.stopLoss === null ? '—' : fmt(d.risk.stopLoss)}, target ${d.risk.target === null ? '—' : fmt(d.risk.target)}, at most ${(d.risk.maxFraction * 100).toFixed(0)}% of equity`,
    `  5 decision    ${r.action.toUpperCase()} at confidence ${r.confidence}${r.action === 'buy' ? `, size ${(r.size * 100).toFixed(1)}% of equity` : ''}`,
  ];
  return lines.join('\n');
}

export function formatDebate(v: DebateView): string {
  const r = v.record;
  const out: string[] = [];
  out.push(`${v.symbol} ${v.timeframe} at ${iso(v.at)}: ${v.bars} closed bars, the last closing ${iso(v.now)}`);
  out.push(`sentiment: ${v.sentiment ? `${sign(v.sentiment.score)} (${v.sentiment.detail ?? v.sentiment.source})` : 'none in the store at that time'}`);
  out.push('');
  const first = r.rounds[0]!;
  for (const d of first) out.push(describeAgent(d), '');
  for (let k = 1; k < r.rounds.length; k++) {
    const changes = r.rounds[k]!.map((d, i) => {
      const prev = r.rounds[k - 1]![i]!;
      return prev.recommendation.action !== d.recommendation.action || prev.recommendation.confidence !== d.recommendation.confidence
        ? `${d.agentId} ${prev.recommendation.action.toUpperCase()} ${prev.recommendation.confidence} → ${d.recommendation.action.toUpperCase()} ${d.recommendation.confidence}`
        : null;
    }).filter((x): x is string => x !== null);
    out.push(`round ${k}: ${changes.length ? changes.join('; ') : 'nobody changed their mind'}`);
  }
  if (r.rounds.length > 1) out.push('');
  out.push(`vote: ${r.explanation}`);
  const levels = r.action === 'hold' ? '' : `, size ${(r.size * 100).toFixed(1)}% of equity, stop ${r.stopLoss === null ? '—' : fmt(r.stopLoss)}, target ${r.target === null ? '—' : fmt(r.target)}`;
  out.push(`decision: ${r.action.toUpperCase()} at confidence ${r.confidence}${levels}`);
  return out.join('\n') + '\n';
}
