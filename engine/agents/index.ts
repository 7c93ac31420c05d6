/** The agents' pure core: the five steps, the personas and the debate. */
export type * from './types.ts';
export { PromptMissing } from './types.ts';
export { PERSONA_PROFILES, SIGNAL_KINDS, isBuiltinPersona, type BuiltinPersona, type PersonaProfile } from './profile.ts';
export { analyzeSituation, annualisedVolatility, lastRegime, trendSpread, DEFAULT_ANALYSIS, type AnalysisSettings } from './situation.ts';
export { generateSignals, technicalSignals, volumeSignal, sentimentSignal, featureSignals, featureKind } from './signals.ts';
export { synthesize, stanceOf } from './synthesis.ts';
export { assessRisk } from './risk.ts';
export { recommend } from './recommendation.ts';
export { createPersonaAgent, decideWithProfile, reviseWithProfile, actionSign, type PersonaAgentOptions } from './persona.ts';
export { debate, vote, votesOf, tallyVotes, describeVotes, DEFAULT_CONSENSUS, type ConsensusConfig, type ConsensusRecord, type ConsensusOutcome, type Vote, type TallyRow } from './consensus.ts';
export { barWindowOf } from './window.ts';
