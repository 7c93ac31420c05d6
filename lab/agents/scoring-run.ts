import { z } from 'zod';
import { InputError } from '../../engine/errors.ts';
import { resolveRegimeOptions, type RegimeOptions } from '../../engine/agents/regime.ts';
import { timeframeToMs } from '../../engine/timeframe.ts';
import type { Store } from '../../datasets/store.ts';
import { loadRun } from '../../datasets/runs.ts';
import { readJournal } from '../../datasets/journal-store.ts';
import { pickExchange } from '../backtest.ts';
import {
  agentScores, attributeConsensus, groupBy, priceBook, reliabilityTable, scoreCalls, scoresByRegime,
  type AgentScore, type ScoredCall, type ConsensusAttribution, type PriceSeries, type RegimeScore, type ReliabilityBucket,
} from './scoring.ts';
import { callsFromJournal } from './scoring-journal.ts';
import { factorImportance, type AgentImportance } from './importance.ts';
import { learnFactorWeights, type FactorWeights, type LearnedWeights } from './meta.ts';
import { selectionWalkForward, selectionWindows, type SelectionReport } from './selection.ts';

/**
 * Scores a stored run's agents from its journal and the bars it ran on (what `cs agents score`
 * prints). Bars are read again from the store: from `longLookback` bars before the run (so regime
 * labels exist from its first decision, still only from past bars) to the run's end. Calls whose
 * horizon runs past the run's last bar are counted but not scored.
 */
export const scoreRunOptionsSchema = z.object({
  horizon: z.number().int().min(1).max(100_000).default(1),
  byRegime: z.boolean().default(false),
  exchange: z.string().min(1).optional(),
  /** Seed of the permutation shuffles (default: the run's seed). */
  seed: z.number().int().optional(),
  /** Fewest calls with factors for a factor-importance figure. */
  minSamples: z.number().int().min(2).default(30),
  buckets: z.number().int().min(1).max(100).default(10),
  /** What factor importance explains: the call being right, or the price rising (lab/agents/importance.ts). */
  importanceTarget: z.enum(['call', 'price']).default('call'),
  /** Also learn each agent's factor weights from all its calls (lab/agents/meta.ts), for its next run. */
  learn: z.boolean().default(false),
  /** Walk-forward regime selection: first training span and test windows, in bars. */
  selection: z.object({ trainBars: z.number().int().min(1), testBars: z.number().int().min(1) }).optional(),
});
export type ScoreRunOptions = z.input<typeof scoreRunOptionsSchema>;

export interface RunScore {
  readonly runId: string;
  readonly strategy: string;
  readonly timeframe: string;
  readonly horizon: number;
  /** Calls read from the journal, and how many had an outcome. */
  readonly calls: number;
  readonly scored: number;
  readonly agents: readonly AgentScore[];
  readonly consensus: ConsensusAttribution;
  readonly reliability: Readonly<Record<string, readonly ReliabilityBucket[]>>;
  readonly importance: readonly AgentImportance[];
  readonly regimes?: readonly RegimeScore[];
  readonly selection?: SelectionReport;
  readonly learned?: readonly LearnedAgentWeights[];
}

export interface LearnedAgentWeights extends LearnedWeights {
  readonly agentId: string;
  /** The mean of the weights the agent journaled with its calls. */
  readonly prior: FactorWeights;
}

/** Per agent with journaled weights: new weights learned from all its scored calls. */
export function learnFromRun(scored: readonly ScoredCall[]): LearnedAgentWeights[] {
  const out: LearnedAgentWeights[] = [];
  for (const [agentId, cs] of [...groupBy(scored, (c) => c.agentId)].sort(([a], [b]) => (a < b ? -1 : 1))) {
    const sum: Record<string, number> = {};
    for (const c of cs) for (const [k, w] of Object.entries(c.weights)) if (Number.isFinite(w)) sum[k] = (sum[k] ?? 0) + w;
    const prior: Record<string, number> = {};
    for (const k of Object.keys(sum).sort()) prior[k] = sum[k]! / cs.length;
    if (Object.keys(prior).length === 0) continue;
    out.push({ agentId, prior, ...learnFactorWeights(prior, cs) });
  }
  return out;
}

export async function scoreRun(store: Store, runId: string, raw: ScoreRunOptions = {}, regime: RegimeOptions = {}): Promise<RunScore> {
  const o = scoreRunOptionsSchema.parse(raw);
  const run = await loadRun(store, runId);
  if (!run) throw new InputError(`run ${runId}: not in ${store.path} (cs backtest stores runs; list them with SQL: SELECT run_id FROM runs)`);
  const journal = await readJournal(store, runId);
  if (journal.length === 0) throw new InputError(`run ${runId} has no journal in ${store.path} (it was stored without one)`);
  const tf = timeframeToMs(run.timeframe);
  const warmup = resolveRegimeOptions(regime).longLookback + 1;
  const series: PriceSeries[] = [];
  for (const symbol of run.symbols) {
    const exchange = o.exchange ?? (await pickExchange(store, symbol, run.timeframe));
    const { columns } = await store.loadBars({ exchange, symbol, timeframe: run.timeframe }, { from: run.fromTs - warmup * tf, to: run.toTs }, { shared: false });
    series.push(columns);
  }
  const book = priceBook(series, regime);
  const { calls, consensus } = callsFromJournal(journal);
  const scored = scoreCalls(calls, book, o.horizon);
  const attribution = attributeConsensus(consensus, book, o.horizon);
  const agents = agentScores(scored, attribution.perAgent);
  const reliability: Record<string, readonly ReliabilityBucket[]> = {};
  for (const a of agents) reliability[a.agentId] = reliabilityTable(scored.filter((c) => c.agentId === a.agentId), o.buckets);
  const importance = factorImportance(scored, { seed: o.seed ?? run.seed, minSamples: o.minSamples, byRegime: o.byRegime, target: o.importanceTarget });
  let selection: SelectionReport | undefined;
  if (o.selection && scored.length > 0) {
    const t0 = Math.min(...scored.map((c) => c.ts));
    const tEnd = Math.max(...scored.map((c) => c.ts)) + 1;
    selection = selectionWalkForward(scored, selectionWindows(t0, tEnd, o.selection.trainBars * tf, o.selection.testBars * tf));
  }
  return {
    runId, strategy: run.strategy, timeframe: run.timeframe, horizon: o.horizon, calls: calls.length, scored: scored.length,
    agents, consensus: attribution, reliability, importance,
    ...(o.byRegime ? { regimes: scoresByRegime(scored) } : {}),
    ...(selection ? { selection } : {}),
    ...(o.learn ? { learned: learnFromRun(scored) } : {}),
  };
}
