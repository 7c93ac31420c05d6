import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A loopback server speaking the Anthropic Messages API wire format (POST /v1/messages), scripted per
 * test, so the real @anthropic-ai/sdk can be exercised offline: normal answers, tool-use turns, and
 * errors in the API's shape (`{type:'error', error:{type, message}}` with 429/529 and retry headers).
 */
export type Block =
  | { readonly type: 'text'; readonly text: string }
  | { readonly type: 'tool_use'; readonly id: string; readonly name: string; readonly input: unknown };

export type Reply =
  | {
      readonly content: readonly Block[];
      readonly stop_reason?: string;
      readonly usage?: { input_tokens: number; output_tokens: number; cache_creation_input_tokens?: number; cache_read_input_tokens?: number };
    }
  | { readonly status: number; readonly errorType: string; readonly message?: string; readonly headers?: Record<string, string> };

export interface RecordedRequest {
  readonly body: MessagesBody;
  readonly headers: IncomingHttpHeaders;
  readonly raw: string;
}

export interface MessagesBody {
  readonly model: string;
  readonly system?: string;
  readonly messages: { role: string; content: unknown }[];
  readonly tools?: { name: string }[];
  readonly tool_choice?: unknown;
  readonly max_tokens: number;
  readonly temperature?: number;
}

/** Decides the reply to the n-th request (0-based) from its body. */
export type Responder = (body: MessagesBody, n: number) => Reply;

export interface AnthropicEmulator {
  readonly url: string;
  readonly requests: RecordedRequest[];
  /** Replies used first, in order, before `fallback`. */
  readonly script: Reply[];
  fallback: Responder | null;
  close(): Promise<void>;
}

let toolIds = 0;

export function text(t: string): Block {
  return { type: 'text', text: t };
}

export function toolUse(name: string, input: unknown, id?: string): Block {
  return { type: 'tool_use', id: id ?? `toolu_emu_${String(++toolIds).padStart(6, '0')}`, name, input };
}

/** The input tokens a request "costs" on the emulator: one per 4 characters of its JSON body. */
export function emulatedInputTokens(raw: string): number {
  return Math.ceil(raw.length / 4);
}

export async function startAnthropicEmulator(opts: { script?: Reply[]; fallback?: Responder } = {}): Promise<AnthropicEmulator> {
  const requests: RecordedRequest[] = [];
  const emu = {
    url: '',
    requests,
    script: [...(opts.script ?? [])],
    fallback: opts.fallback ?? null,
    close: async () => {},
  } as AnthropicEmulator & { url: string; close: () => Promise<void> };
  let messageIds = 0;
  const server: Server = createServer((req, res) => {
    let raw = '';
    req.setEncoding('utf8');
    req.on('data', (c: string) => (raw += c));
    req.on('end', () => {
      const send = (status: number, body: unknown, headers: Record<string, string> = {}) => {
        res.writeHead(status, { 'content-type': 'application/json', 'request-id': `req_emu_${messageIds}`, ...headers });
        res.end(JSON.stringify(body));
      };
      const error = (status: number, type: string, message: string, headers?: Record<string, string>) => send(status, { type: 'error', error: { type, message } }, headers);
      if (req.method !== 'POST' || req.url?.split('?')[0] !== '/v1/messages') return error(404, 'not_found_error', `no route ${req.method} ${req.url}`);
      // SDK 0.x sends `x-api-key`; 1.x sends `Authorization: Bearer <key>`.
      if (!req.headers['x-api-key'] && !/^Bearer \S+/.test(req.headers.authorization ?? '')) return error(401, 'authentication_error', 'an API key is required (x-api-key or Authorization: Bearer)');
      if (!req.headers['anthropic-version']) return error(400, 'invalid_request_error', 'anthropic-version header is required');
      let body: MessagesBody;
      try {
        body = JSON.parse(raw) as MessagesBody;
      } catch {
        return error(400, 'invalid_request_error', 'body is not JSON');
      }
      if (typeof body.model !== 'string' || !Array.isArray(body.messages) || typeof body.max_tokens !== 'number') {
        return error(400, 'invalid_request_error', 'model, messages and max_tokens are required');
      }
      const n = requests.length;
      requests.push({ body, headers: req.headers, raw });
      const reply = emu.script.length > 0 ? emu.script.shift()! : emu.fallback ? emu.fallback(body, n) : null;
      if (!reply) return error(500, 'api_error', `emulator: nothing scripted for request ${n}`);
      if ('status' in reply) return error(reply.status, reply.errorType, reply.message ?? reply.errorType, reply.headers);
      const hasToolUse = reply.content.some((b) => b.type === 'tool_use');
      send(200, {
        id: `msg_emu_${String(++messageIds).padStart(6, '0')}`,
        type: 'message',
        role: 'assistant',
        model: body.model,
        content: reply.content,
        stop_reason: reply.stop_reason ?? (hasToolUse ? 'tool_use' : 'end_turn'),
        stop_sequence: null,
        usage: reply.usage ?? { input_tokens: emulatedInputTokens(raw), output_tokens: Math.ceil(JSON.stringify(reply.content).length / 4), cache_creation_input_tokens: 0, cache_read_input_tokens: 0 },
      });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  emu.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  emu.close = () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  return emu;
}
