import { appendFileSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { z } from 'zod';
import { InputError } from '../../../engine/errors.ts';
import { canonicalJson, sha256Hex } from '../../../engine/hash.ts';

/**
 * The prompt cache: Messages API requests and the responses they got, keyed by a hash of the request.
 * One JSON object per line in a file, read into memory before a run so an agent's lookup is
 * synchronous (the engine is a synchronous fold). Appending keeps every earlier answer on disk even
 * if a recording run crashes; when a key appears twice the later line wins (that is how `live`
 * refreshes an entry).
 *
 * Modes:
 * - `replay`: answers only from the file; a missing entry is an error naming the key, the agent and
 *   the bar. Nothing is fetched. What CI uses.
 * - `record`: entries in the file are used as they are; a missing one is fetched once, appended, and
 *   used from then on.
 * - `live`: like `record`, except that an entry recorded before this session is not trusted: the
 *   first time a run asks for it in this session it is fetched again and the new answer appended
 *   (overwriting the old one for later loads). Within the session the fresh answer is reused, so the
 *   re-run driver still converges.
 */
export type CacheMode = 'replay' | 'record' | 'live';
export const cacheModeSchema = z.enum(['replay', 'record', 'live']);

/** The part of a Messages API request the answer depends on: exactly what the key covers. */
export interface LlmRequest {
  readonly model: string;
  readonly system: string;
  readonly messages: readonly unknown[];
  readonly tools: readonly unknown[];
  readonly tool_choice: unknown;
  readonly max_tokens: number;
  readonly temperature?: number;
}

export const usageSchema = z.looseObject({
  input_tokens: z.number().int().min(0),
  output_tokens: z.number().int().min(0),
  cache_creation_input_tokens: z.number().int().min(0).nullish(),
  cache_read_input_tokens: z.number().int().min(0).nullish(),
});

const contentBlockSchema = z.union([
  z.looseObject({ type: z.literal('text'), text: z.string() }),
  z.looseObject({ type: z.literal('tool_use'), id: z.string(), name: z.string(), input: z.unknown() }),
  z.looseObject({ type: z.string() }),
]);

/** A Messages API response as far as an agent reads it. */
export const responseSchema = z.looseObject({
  id: z.string(),
  type: z.literal('message'),
  role: z.literal('assistant'),
  model: z.string(),
  content: z.array(contentBlockSchema),
  stop_reason: z.string().nullable(),
  usage: usageSchema,
});
export type LlmResponse = z.output<typeof responseSchema>;
export type LlmUsage = z.output<typeof usageSchema>;

const requestSchema = z.looseObject({
  model: z.string(),
  system: z.string(),
  messages: z.array(z.unknown()),
  tools: z.array(z.unknown()),
  tool_choice: z.unknown(),
  max_tokens: z.number(),
  temperature: z.number().optional(),
});

const entrySchema = z.strictObject({ v: z.literal(1), key: z.string().regex(/^[0-9a-f]{64}$/), request: requestSchema, response: responseSchema });

export function requestKey(req: LlmRequest): string {
  return sha256Hex(
    canonicalJson({ model: req.model, system: req.system, messages: req.messages, tools: req.tools, tool_choice: req.tool_choice, max_tokens: req.max_tokens, temperature: req.temperature }),
  );
}

export class PromptCache {
  private readonly entries = new Map<string, LlmResponse>();
  /** Keys fetched in this session: in `live` mode, the only ones trusted. */
  private readonly fresh = new Set<string>();

  /** `path` null: in memory only (tests, notebooks). */
  constructor(readonly path: string | null) {}

  /** Reads the file (absent = empty); a bad line is an InputError naming file and line. */
  static load(path: string): PromptCache {
    const cache = new PromptCache(path);
    if (!existsSync(path)) return cache;
    const lines = readFileSync(path, 'utf8').split('\n');
    lines.forEach((line, i) => {
      if (line.trim() === '') return;
      let raw: unknown;
      try {
        raw = JSON.parse(line);
      } catch (err) {
        throw new InputError(`${path}:${i + 1}: not JSON (${(err as Error).message})`);
      }
      const r = entrySchema.safeParse(raw);
      if (!r.success) {
        const issue = r.error.issues[0]!;
        throw new InputError(`${path}:${i + 1}: ${issue.path.join('.') || 'entry'}: ${issue.message}`);
      }
      if (requestKey(r.data.request as unknown as LlmRequest) !== r.data.key) {
        throw new InputError(`${path}:${i + 1}: key ${r.data.key.slice(0, 12)}… does not match its request (the line was edited or is corrupt)`);
      }
      cache.entries.set(r.data.key, r.data.response);
    });
    return cache;
  }

  get size(): number {
    return this.entries.size;
  }

  /** The answer usable in `mode`, or undefined when it must be fetched (or, in replay, is missing). */
  lookup(key: string, mode: CacheMode): LlmResponse | undefined {
    if (mode === 'live' && !this.fresh.has(key)) return undefined;
    return this.entries.get(key);
  }

  /** Every stored answer (the later one for a key recorded twice), in key order. */
  list(): { key: string; response: LlmResponse }[] {
    return [...this.entries].sort(([a], [b]) => (a < b ? -1 : 1)).map(([key, response]) => ({ key, response }));
  }

  has(key: string): boolean {
    return this.entries.has(key);
  }

  /** Stores a fetched answer in memory and appends it to the file. */
  put(request: LlmRequest, response: unknown): LlmResponse {
    const key = requestKey(request);
    const r = responseSchema.safeParse(response);
    if (!r.success) throw new Error(`the API answered request ${key.slice(0, 12)}… with something that is not a message: ${r.error.issues[0]!.message}`);
    if (this.path) {
      mkdirSync(dirname(this.path), { recursive: true });
      appendFileSync(this.path, JSON.stringify({ v: 1, key, request, response: r.data }) + '\n');
    }
    this.entries.set(key, r.data);
    this.fresh.add(key);
    return r.data;
  }
}
