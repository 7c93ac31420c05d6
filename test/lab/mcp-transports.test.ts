import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { CS_BIN, ROOT } from '../support/cli.ts';
import { CLOCK, H, POISON, VISIBLE, makeMcpStore } from './mcp.support.ts';

const TOKEN = 'test-token-0123456789-abcdef';
let dir: string;
let db: string;
let journalPath: string;
let child: ChildProcess;
let url: string;
let output = '';

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'cs-mcp-http-'));
  db = await makeMcpStore(dir);
  journalPath = join(dir, 'journal.jsonl');
  const risk = join(dir, 'risk.yaml');
  writeFileSync(risk, 'maxOrderNotional: 1000\n');
  child = spawn(process.execPath, [CS_BIN, 'mcp', '--http', '--port', '0', '--json', '--db', db, '--replay-at', new Date(CLOCK).toISOString(), '--risk', risk, '--journal', journalPath], {
    cwd: ROOT,
    env: { ...process.env, CS_MCP_TOKEN: TOKEN },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stderr!.on('data', (d) => (output += d));
  url = await new Promise<string>((resolve, reject) => {
    let buf = '';
    child.stdout!.on('data', (d) => {
      output += d;
      buf += d;
      const nl = buf.indexOf('\n');
      if (nl >= 0) resolve((JSON.parse(buf.slice(0, nl)) as { url: string }).url);
    });
    child.on('exit', (code) => reject(new Error(`cs mcp exited ${code}: ${output}`)));
  });
}, 120_000);

afterAll(async () => {
  if (child && child.exitCode === null) {
    const done = new Promise((r) => child.on('exit', r));
    child.kill('SIGTERM');
    await done;
  }
  rmSync(dir, { recursive: true, force: true });
});

const INIT = { jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'raw', version: '1' } } };
const post = (headers: Record<string, string>) =>
  fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', ...headers }, body: JSON.stringify(INIT) });

async function httpClient(): Promise<Client> {
  const client = new Client({ name: 'http-test', version: '1' });
  await client.connect(new StreamableHTTPClientTransport(new URL(url), { requestInit: { headers: { authorization: `Bearer ${TOKEN}` } } }));
  return client;
}

const journalLines = () => readFileSync(journalPath, 'utf8').split('\n').filter(Boolean).length;

describe('cs mcp --http (spawned, real port)', () => {
  it('listens on loopback', () => {
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/mcp$/);
  });

  it('refuses a missing or wrong bearer token with 401', async () => {
    expect((await post({})).status).toBe(401);
    const r = await post({ authorization: 'Bearer not-the-token-at-all' });
    expect(r.status).toBe(401);
    expect(r.headers.get('www-authenticate')).toBe('Bearer');
  });

  it('refuses a foreign Origin with 403, even with the right token', async () => {
    expect((await post({ authorization: `Bearer ${TOKEN}`, origin: 'http://evil.example' })).status).toBe(403);
    // The server's own origin passes.
    const port = new URL(url).port;
    expect((await post({ authorization: `Bearer ${TOKEN}`, origin: `http://127.0.0.1:${port}` })).status).toBe(200);
  });

  it('refuses a foreign Host header (DNS rebinding) even with the right token', async () => {
    const { port } = new URL(url);
    const status = await new Promise<number>((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port, path: '/mcp', method: 'POST', headers: { host: `rebound.example:${port}`, authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json', accept: 'application/json, text/event-stream' } }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on('error', reject);
      req.end(JSON.stringify(INIT));
    });
    expect(status).toBe(403);
  });

  it('serves the tools to the SDK client; the fence holds; orders fill on paper and are journaled durably', async () => {
    const c = await httpClient();
    const { tools } = await c.listTools();
    expect(tools).toHaveLength(7);
    const md = await c.callTool({ name: 'get_market_data', arguments: { symbol: 'ETH/USDT', limit: 1000 } });
    const bars = (md.structuredContent as { data: { bars: { ts: number }[] } }).data.bars;
    expect(bars).toHaveLength(VISIBLE);
    expect(bars.at(-1)!.ts).toBe(CLOCK - H);
    expect(JSON.stringify(md)).not.toContain(String(POISON));
    // The store holds a headline after the clock (score −1): only the earlier one (+0.6) counts.
    const s = await c.callTool({ name: 'analyze_sentiment', arguments: { symbol: 'ETH/USDT' } });
    const reading = (s.structuredContent as { data: { reading: { ts: number; score: number; samples: number } } }).data.reading;
    expect(reading.ts).toBeLessThanOrEqual(CLOCK);
    expect(reading.score).toBeGreaterThan(0);
    expect(reading.samples).toBe(1);
    expect(JSON.stringify(s)).not.toContain('POISON');

    const fill = await c.callTool({ name: 'place_order', arguments: { agentId: 'trend', symbol: 'BTC/USDT', side: 'buy', amount: 0.5 } });
    expect((fill.structuredContent as { data: unknown }).data).toMatchObject({ status: 'filled', price: 196, paper: true });
    const after = journalLines();
    expect(after).toBeGreaterThanOrEqual(5); // run_start, decision, order_submitted, order_accepted, fill: on disk when the tool answered

    const rejected = await c.callTool({ name: 'place_order', arguments: { agentId: 'aggressive', symbol: 'ETH/USDT', side: 'buy', amount: 100 } });
    expect((rejected.structuredContent as { data: unknown }).data).toMatchObject({ status: 'rejected', limit: 'maxOrderNotional' });
    expect(journalLines()).toBeGreaterThan(after);

    const before = journalLines();
    const bad = await c.callTool({ name: 'place_order', arguments: { agentId: 'trend', symbol: 'BTC/USDT', side: 'buy', amount: 'lots' } });
    expect(bad.isError).toBe(true);
    expect(JSON.stringify(bad.content)).toMatch(/Invalid arguments for tool place_order/);
    expect(journalLines()).toBe(before);
    await c.close();
  });

  it('never prints the token', () => {
    expect(output).not.toContain(TOKEN);
  });
});

describe('cs mcp --stdio (spawned by the SDK\'s StdioClientTransport)', () => {
  it('answers tool calls over stdin/stdout, fenced at the replay clock', async () => {
    const transport = new StdioClientTransport({
      command: process.execPath,
      args: [CS_BIN, 'mcp', '--stdio', '--db', db, '--replay-at', String(CLOCK)],
      cwd: ROOT,
      stderr: 'pipe',
    });
    const c = new Client({ name: 'stdio-test', version: '1' });
    await c.connect(transport);
    const md = await c.callTool({ name: 'get_market_data', arguments: { symbol: 'BTC/USDT', limit: 2 } });
    const data = (md.structuredContent as { kind: string; data: { bars: { open: number; ts: number }[] } });
    expect(data.kind).toBe('data');
    expect(data.data.bars.map((b) => b.open)).toEqual([194, 195]);
    const k = await c.callTool({ name: 'kill_switch_status', arguments: {} });
    expect((k.structuredContent as { data: { global: { state: string } } }).data.global.state).toBe('ACTIVE');
    await c.close();
  }, 120_000);
});
