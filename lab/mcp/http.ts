import { createHash, randomUUID, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { isInitializeRequest } from '@modelcontextprotocol/sdk/types.js';
import { createMcpServer } from './server.ts';
import type { TradingSession } from './session.ts';

/**
 * MCP over Streamable HTTP, guarded in this order on every request:
 * 1. Origin: a browser page from another origin gets 403 (only this server's own loopback origins
 *    and `allowedOrigins` pass; requests without an Origin header — non-browser clients — pass).
 * 2. Bearer token: a missing or wrong `Authorization: Bearer <token>` gets 401. Compared in
 *    constant time; the token is never logged.
 * 3. The SDK's DNS-rebinding protection: the Host header must name this server (127.0.0.1:PORT,
 *    localhost:PORT or the bound host).
 * Binds to 127.0.0.1 unless told otherwise. One MCP session per client (the SDK's session id);
 * all share the one TradingSession.
 */
export interface McpHttpOptions {
  readonly session: TradingSession;
  readonly token: string;
  readonly port: number;
  readonly host?: string;
  readonly allowedOrigins?: readonly string[];
  /** Largest request body accepted (bytes); default 1 MiB. */
  readonly maxBodyBytes?: number;
}

export interface McpHttpServer {
  readonly url: string;
  readonly port: number;
  close(): Promise<void>;
}

const digest = (s: string): Buffer => createHash('sha256').update(s).digest();

export async function startMcpHttp(opts: McpHttpOptions): Promise<McpHttpServer> {
  if (opts.token.length < 16) throw new Error('the bearer token must be at least 16 characters');
  const host = opts.host ?? '127.0.0.1';
  const want = digest(opts.token);
  const transports = new Map<string, StreamableHTTPServerTransport>();
  let port = opts.port;
  const origins = (): Set<string> => new Set([`http://127.0.0.1:${port}`, `http://localhost:${port}`, `http://${host}:${port}`, ...(opts.allowedOrigins ?? [])]);
  const hosts = (): string[] => [`127.0.0.1:${port}`, `localhost:${port}`, `${host}:${port}`];

  const deny = (res: ServerResponse, code: number, message: string, headers: Record<string, string> = {}): void => {
    res.writeHead(code, { 'content-type': 'application/json', ...headers });
    res.end(JSON.stringify({ jsonrpc: '2.0', error: { code: -32000, message }, id: null }));
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', 'http://x');
    if (url.pathname !== '/mcp') return deny(res, 404, 'not found: the MCP endpoint is /mcp');
    const origin = req.headers.origin;
    if (origin !== undefined && !origins().has(origin)) return deny(res, 403, 'forbidden origin');
    const auth = req.headers.authorization ?? '';
    const m = /^Bearer (.+)$/.exec(auth);
    if (!m || !timingSafeEqual(digest(m[1]!), want)) return deny(res, 401, 'unauthorized: a valid bearer token is required', { 'www-authenticate': 'Bearer' });

    let body: unknown;
    if (req.method === 'POST') {
      const text = await readBody(req, opts.maxBodyBytes ?? 1 << 20);
      if (text === null) return deny(res, 413, 'request body too large');
      try {
        body = JSON.parse(text);
      } catch {
        return deny(res, 400, 'the body is not JSON');
      }
    }
    const sid = req.headers['mcp-session-id'];
    const existing = typeof sid === 'string' ? transports.get(sid) : undefined;
    if (existing) return existing.handleRequest(req, res, body);
    if (typeof sid === 'string') return deny(res, 404, 'unknown MCP session');
    if (req.method !== 'POST' || !isInitializeRequest(body)) return deny(res, 400, 'no MCP session: send an initialize request first');
    const transport: StreamableHTTPServerTransport = new StreamableHTTPServerTransport({
      sessionIdGenerator: () => randomUUID(),
      enableDnsRebindingProtection: true,
      allowedHosts: hosts(),
      allowedOrigins: [...origins()],
      onsessioninitialized: (id) => void transports.set(id, transport),
    });
    transport.onclose = () => {
      if (transport.sessionId) transports.delete(transport.sessionId);
    };
    await createMcpServer(opts.session).connect(transport);
    await transport.handleRequest(req, res, body);
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      if (!res.headersSent) deny(res, 500, err instanceof Error ? err.message : 'internal error');
      else res.end();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, host, () => resolve());
  });
  port = (server.address() as AddressInfo).port;
  return {
    url: `http://${host.includes(':') ? `[${host}]` : host}:${port}/mcp`,
    port,
    close: async () => {
      await Promise.all([...transports.values()].map((t) => t.close()));
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

/** The body as text, or null past the size limit. */
function readBody(req: IncomingMessage, max: number): Promise<string | null> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let n = 0;
    let over = false;
    req.on('data', (c: Buffer) => {
      n += c.length;
      if (n > max) over = true;
      else chunks.push(c);
    });
    req.on('end', () => resolve(over ? null : Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}
