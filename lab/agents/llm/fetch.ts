import Anthropic from '@anthropic-ai/sdk';
import { InputError } from '../../../engine/errors.ts';
import type { LlmRequest } from './cache.ts';

/**
 * One Messages API call with our own retry loop for rate limits (429), overload (529) and other
 * server errors: the SDK's own retries are turned off for the call so the delays are ours to set
 * (tests use milliseconds, a real run the defaults). A `retry-after` / `retry-after-ms` header from
 * the server is honoured up to `maxDelayMs`; otherwise the delay doubles from `baseDelayMs`.
 */
export interface RetryPolicy {
  readonly maxRetries: number;
  readonly baseDelayMs: number;
  readonly maxDelayMs: number;
}

export interface FetchStats {
  retries: number;
}

/** The API key comes from ANTHROPIC_API_KEY only, and only when something must be fetched. */
export function clientFromEnv(): Anthropic {
  const apiKey = process.env.ANTHROPIC_API_KEY;
  if (!apiKey) throw new InputError('ANTHROPIC_API_KEY is not set: it is needed to fetch prompts missing from the cache (replay mode needs no key)');
  return new Anthropic({ apiKey, maxRetries: 0 });
}

export async function createMessage(client: Anthropic, request: LlmRequest, retry: RetryPolicy, stats: FetchStats): Promise<unknown> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await client.messages.create(request as unknown as Anthropic.MessageCreateParamsNonStreaming, { maxRetries: 0 });
    } catch (err) {
      const status = err instanceof Anthropic.APIError ? err.status : undefined;
      const retryable = status === 429 || status === 529 || (status !== undefined && status >= 500) || err instanceof Anthropic.APIConnectionError;
      if (!retryable || attempt >= retry.maxRetries) throw describeFailure(err, attempt);
      stats.retries++;
      await sleep(delayFor(err, attempt, retry));
    }
  }
}

function delayFor(err: unknown, attempt: number, p: RetryPolicy): number {
  const headers = err instanceof Anthropic.APIError ? err.headers : undefined;
  const ms = Number(headers?.get('retry-after-ms'));
  const s = Number(headers?.get('retry-after'));
  const hinted = Number.isFinite(ms) && ms >= 0 && headers?.get('retry-after-ms') != null ? ms : Number.isFinite(s) && s >= 0 && headers?.get('retry-after') != null ? s * 1000 : null;
  return Math.min(p.maxDelayMs, hinted ?? p.baseDelayMs * 2 ** attempt);
}

/** The SDK's error, re-thrown with the attempts made; its message holds the status and body, never the key. */
function describeFailure(err: unknown, attempt: number): Error {
  if (!(err instanceof Anthropic.APIError)) return err instanceof Error ? err : new Error(String(err));
  const e = new Error(`Messages API call failed after ${attempt + 1} attempt(s): ${err.message}`, { cause: err });
  e.name = 'LlmApiError';
  return e;
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
