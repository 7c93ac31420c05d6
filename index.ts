/** The public API: what notebooks and users import. */
export * from './engine/types.ts';
export * from './engine/timeframe.ts';
export * from './engine/rng.ts';
export * from './engine/orders.ts';
export * from './engine/decision.ts';
export * from './engine/strategy.ts';
export * from './engine/errors.ts';
export * from './engine/metrics.ts';
export * from './engine/indicators/index.ts';
export { generateBars, simulate as simulateSynthetic, synthSpecSchema, type SynthSpec, type SynthModel, type SynthVolume, type SynthResult } from './datasets/synth.ts';
export { downloadOHLCV, createExchange, overrideApiUrls, type BarSink, type DownloadOptions, type DownloadProgress, type DownloadResult } from './datasets/download.ts';
export * from './datasets/index.ts';
export * from './engine/risk.ts';
export * from './engine/killswitch.ts';
export * from './engine/sizing.ts';
export * from './engine/var.ts';
export * from './engine/journal.ts';
export * from './datasets/journal-store.ts';
