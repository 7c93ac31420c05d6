import { z } from 'zod';
import { createPersonaAgent } from '../../engine/agents/persona.ts';
import { PERSONA_PROFILES, isBuiltinPersona, type PersonaProfile } from '../../engine/agents/profile.ts';
import { DEFAULT_CONSENSUS, type ConsensusConfig } from '../../engine/agents/consensus.ts';
import type { Agent } from '../../engine/agents/types.ts';
import { InputError, describeIssues } from '../../engine/errors.ts';

/**
 * Where outside configuration of the rule-based agents enters: persona overrides, the list of
 * debaters and the consensus rules, each checked by zod before anything is built.
 */
export const BUILTIN_PERSONAS = Object.keys(PERSONA_PROFILES) as readonly string[];

/** Persona settings a user (or a sweep) may override; see engine/agents/profile.ts for meanings. */
export const personaOverridesSchema = z.strictObject({
  maxFraction: z.number().gt(0).max(1).optional(),
  stopAtr: z.number().positive().max(50).optional(),
  rewardRisk: z.number().positive().max(50).optional(),
  minConfidence: z.number().min(0).max(100).optional(),
  stanceThreshold: z.number().min(0).max(1).optional(),
  maxVolatility: z.number().positive().optional(),
  openness: z.number().min(0).max(1).optional(),
});
export type PersonaOverrides = z.output<typeof personaOverridesSchema>;

/**
 * Agents other than the built-in personas join a debate through a factory registered under a name
 * prefix (e.g. H-llm's `llm:` → an LlmAgent): `debate --param agents=conservative,llm:aggressive`.
 * The factory gets the full name and the agent's id, and is called once per run.
 */
export type AgentFactory = (name: string, id: string, run?: AgentFactoryContext) => Agent;

/** What a factory may want of the run it builds for (additive: older factories ignore it). */
export interface AgentFactoryContext {
  /** The run's symbols (an LLM agent's masking names them stably across the run). */
  readonly symbols?: readonly string[];
}
const factories = new Map<string, AgentFactory>();

export function registerAgentFactory(prefix: string, factory: AgentFactory): void {
  factories.set(prefix, factory);
}

function factoryFor(name: string): AgentFactory | undefined {
  for (const [prefix, f] of factories) if (name.startsWith(prefix)) return f;
  return undefined;
}

/** "conservative,aggressive" or an array → known agent names (duplicates get #2, #3 ids). */
export const agentListSchema = z
  .union([z.string(), z.array(z.string())])
  .transform((v) => (Array.isArray(v) ? v : v.split(',')).map((s) => s.trim()).filter((s) => s.length > 0))
  .refine((l) => l.length > 0, 'name at least one agent')
  .refine((l) => l.length <= 16, 'at most 16 agents')
  .superRefine((l, ctx) => {
    for (const p of l) {
      if (!isBuiltinPersona(p) && !factoryFor(p)) ctx.addIssue({ code: 'custom', message: `unknown agent "${p}" (known: ${[...BUILTIN_PERSONAS, ...[...factories.keys()].map((k) => `${k}…`)].join(', ')})` });
    }
  });

export const consensusSchema = z.strictObject({
  rounds: z.number().int().min(0).max(10).default(DEFAULT_CONSENSUS.rounds),
  quorum: z.number().min(0).max(1).default(DEFAULT_CONSENSUS.quorum),
  minWeight: z.number().min(0).max(1).default(DEFAULT_CONSENSUS.minWeight),
  tie: z.enum(['hold', 'risk-off', 'chair']).default(DEFAULT_CONSENSUS.tie),
  vetoOnAnyAgent: z.boolean().default(DEFAULT_CONSENSUS.vetoOnAnyAgent),
  /** Agent ids, comma-separated in a CLI param. */
  riskAgents: z
    .union([z.string(), z.array(z.string())])
    .transform((v) => (Array.isArray(v) ? v : v.split(',')).map((s) => s.trim()).filter((s) => s.length > 0))
    .default([]),
});

/** Ids for a list of personas: the name, then name#2, name#3 for repeats. */
export function agentIds(personas: readonly string[]): string[] {
  const seen = new Map<string, number>();
  return personas.map((p) => {
    const n = (seen.get(p) ?? 0) + 1;
    seen.set(p, n);
    return n === 1 ? p : `${p}#${n}`;
  });
}

export function buildAgents(personas: readonly string[], overrides: PersonaOverrides = {}, run: AgentFactoryContext = {}): Agent[] {
  const ids = agentIds(personas);
  return personas.map((p, i) => {
    const f = isBuiltinPersona(p) ? undefined : factoryFor(p);
    return f ? f(p, ids[i]!, run) : createPersonaAgent(p, { id: ids[i]!, overrides: overrides as Partial<PersonaProfile> });
  });
}

export function consensusConfig(raw: unknown, where = 'consensus'): ConsensusConfig {
  const r = consensusSchema.safeParse(raw ?? {});
  if (!r.success) throw new InputError(`${where}: ${describeIssues(r.error, '(all)')}`);
  return r.data;
}

export function parseAgentList(raw: unknown, where = '--agents'): string[] {
  const r = agentListSchema.safeParse(raw);
  if (!r.success) throw new InputError(`${where}: ${r.error.issues.map((i) => i.message).join('; ')}`);
  return r.data;
}
