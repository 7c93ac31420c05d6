import { readFileSync } from 'node:fs';
import { Option, type Command } from 'commander';
import { InputError } from '../../../engine/errors.ts';
import { parseRiskConfigText } from '../../../engine/risk.ts';
import { openStore } from '../../../datasets/store.ts';
import { FileJournal } from '../../../datasets/journal-store.ts';
import type { SessionClock } from '../../mcp/session.ts';
import { addDbOption, addJsonOption, collect, parseNumberOption, parseTime, printJson, resolveDbPath } from '../options.ts';

interface McpOptions {
  stdio?: boolean;
  http?: boolean;
  port?: number;
  host: string;
  tokenEnv: string;
  allowOrigin?: string[];
  db?: string;
  replayAt?: string;
  replayFrom?: string;
  replayTo?: string;
  timeframe: string;
  exchange?: string;
  cash: number;
  risk?: string;
  journal?: string;
  claimsRedis?: string;
  claimsPrefix: string;
  busRedis?: string;
  busStream: string;
  json?: boolean;
}

export function register(program: Command): void {
  const cmd = program
    .command('mcp')
    .description(
      'serve the trading tools over MCP (get_market_data, place_order, get_portfolio, analyze_sentiment, backtest_strategy, get_decisions, kill_switch_status). ' +
        'Orders are paper only. With --replay-at/--replay-from every tool is fenced at the replay clock.',
    )
    .option('--stdio', 'speak MCP on stdin/stdout (for a client that spawns this process)')
    .option('--http', 'serve MCP over Streamable HTTP at http://HOST:PORT/mcp (bearer token required)')
    .option('--port <n>', 'HTTP port (0 = any free port; printed on start)', parseNumberOption('--port'))
    .option('--host <addr>', 'HTTP bind address (loopback by default)', '127.0.0.1')
    .option('--token-env <VAR>', 'environment variable holding the bearer token (never printed)', 'CS_MCP_TOKEN')
    .option('--allow-origin <url>', 'a browser Origin allowed besides the server\'s own (repeatable)', collect)
    .option('--replay-at <time>', 'replay session: the clock stands at this time (ISO or epoch ms)')
    .option('--replay-from <time>', 'replay session starting at this time; orders move the clock forward')
    .option('--replay-to <time>', 'with --replay-from: the clock never passes this time (no data after it is loaded)')
    .option('--timeframe <tf>', 'bars orders fill on and market data defaults to', '1h')
    .option('--exchange <id>', 'exchange of the stored data (needed when a symbol is stored for several)')
    .option('--cash <amount>', 'starting cash of each agent\'s paper account', parseNumberOption('--cash'), 10_000)
    .option('--risk <file>', 'risk limits (YAML/JSON, as cs backtest --risk); every order passes them')
    .option('--journal <file>', 'durable JSONL journal (fsync\'d, hash-chained); in memory when omitted')
    .option('--claims-redis <url>', 'share (symbol, side) claims with agents in other processes through Redis')
    .option('--claims-prefix <p>', 'Redis key prefix of the claims', 'cs:claim')
    .option('--bus-redis <url>', 'publish every journal entry to a Redis stream (the event bus) for agents in other processes')
    .option('--bus-stream <key>', 'the Redis stream of --bus-redis', 'cs:events');
  addDbOption(cmd);
  addJsonOption(cmd);
  cmd.action(async (o: McpOptions) => {
    if (!o.stdio === !o.http) throw new InputError('choose one transport: --stdio or --http');
    if (o.http && o.port === undefined) throw new InputError('--http needs --port N (0 for any free port)');
    if (o.port !== undefined && !(Number.isInteger(o.port) && o.port >= 0 && o.port < 65536)) throw new InputError(`--port: ${o.port} is not a port number`);
    if (o.replayAt !== undefined && (o.replayFrom !== undefined || o.replayTo !== undefined)) throw new InputError('--replay-at excludes --replay-from/--replay-to');
    if (o.replayTo !== undefined && o.replayFrom === undefined) throw new InputError('--replay-to needs --replay-from');
    let clock: SessionClock = { kind: 'paper' };
    if (o.replayAt !== undefined) clock = { kind: 'replay', at: parseTime(o.replayAt, '--replay-at') };
    if (o.replayFrom !== undefined) {
      const at = parseTime(o.replayFrom, '--replay-from');
      const to = o.replayTo !== undefined ? parseTime(o.replayTo, '--replay-to') : undefined;
      if (to !== undefined && !(at < to)) throw new InputError('--replay-from must be before --replay-to');
      clock = { kind: 'replay', at, ...(to !== undefined ? { to } : {}) };
    }
    let token = '';
    if (o.http) {
      token = process.env[o.tokenEnv] ?? '';
      if (token.length < 16) throw new InputError(`--http needs a bearer token of at least 16 characters in $${o.tokenEnv} (set it, or name another variable with --token-env)`);
    }
    let risk: unknown;
    if (o.risk !== undefined) {
      let text: string;
      try {
        text = readFileSync(o.risk, 'utf8');
      } catch (err) {
        throw new InputError(`--risk ${o.risk}: ${(err as Error).message}`);
      }
      risk = parseRiskConfigText(text, o.risk);
    }

    // The MCP SDK, Redis client and server code load only when the server starts, so that every
    // other `cs` command (and `cs mcp --help`) starts without them.
    const [{ RedisClaims }, { RedisStreamBus }, { createMcpServer }, { startMcpHttp }, { TradingSession }] = await Promise.all([
      import('../../../live/claims.ts'),
      import('../../../live/bus/redis-streams.ts'),
      import('../../mcp/server.ts'),
      import('../../mcp/http.ts'),
      import('../../mcp/session.ts'),
    ]);
    const store = await openStore(resolveDbPath(o.db), { readOnly: true });
    const journal = o.journal !== undefined ? await FileJournal.open(o.journal) : undefined;
    const claims = o.claimsRedis !== undefined ? new RedisClaims(o.claimsRedis, o.claimsPrefix) : undefined;
    const bus = o.busRedis !== undefined ? new RedisStreamBus({ url: o.busRedis, stream: o.busStream }) : undefined;
    const session = new TradingSession({
      store,
      clock,
      timeframe: o.timeframe,
      cash: o.cash,
      ...(o.exchange !== undefined ? { exchange: o.exchange } : {}),
      ...(risk !== undefined ? { risk } : {}),
      ...(journal ? { journal } : {}),
      ...(claims ? { claims } : {}),
      ...(bus ? { bus, onBusError: (err: unknown) => process.stderr.write(`cs mcp: bus: ${(err as Error).message}\n`) } : {}),
    });
    const shutdown = async (): Promise<void> => {
      await session.close();
      await journal?.close();
      await claims?.close();
      await bus?.close();
      await store.close();
    };
    const describeClock = clock.kind === 'replay' ? `replay clock ${new Date(clock.at).toISOString()}` : 'paper (wall clock)';

    if (o.stdio) {
      // stdout belongs to the protocol: everything human goes to stderr.
      const { StdioServerTransport } = await import('@modelcontextprotocol/sdk/server/stdio.js');
      const transport = new StdioServerTransport();
      const closed = new Promise<void>((resolve) => (transport.onclose = resolve));
      await createMcpServer(session).connect(transport);
      process.stderr.write(`cs mcp: stdio, ${describeClock}\n`);
      await Promise.race([closed, new Promise<void>((r) => process.stdin.once('end', r)), signal()]);
      await shutdown();
      return;
    }
    const http = await startMcpHttp({ session, token, port: o.port!, host: o.host, ...(o.allowOrigin ? { allowedOrigins: o.allowOrigin } : {}) });
    if (!['127.0.0.1', '::1', 'localhost'].includes(o.host)) process.stderr.write(`cs mcp: warning: listening on ${o.host}, not loopback\n`);
    if (o.json) printJson({ url: http.url, port: http.port, mode: session.mode, clock: new Date(session.clock).toISOString() });
    else process.stdout.write(`cs mcp: listening on ${http.url} (${describeClock}; bearer token from $${o.tokenEnv})\n`);
    await signal();
    await http.close();
    await shutdown();
  });
}

function signal(): Promise<void> {
  return new Promise((resolve) => {
    process.once('SIGINT', () => resolve());
    process.once('SIGTERM', () => resolve());
  });
}
