import { describe, expect, it } from 'vitest';
import { csInProcess } from '../support/cli.ts';

describe('cs mcp: bad usage exits 2 with a clear message, before anything is opened', () => {
  it.each([
    [['mcp'], /choose one transport/],
    [['mcp', '--stdio', '--http', '--port', '0'], /choose one transport/],
    [['mcp', '--http'], /--http needs --port/],
    [['mcp', '--http', '--port', '70000'], /--port: 70000 is not a port/],
    [['mcp', '--stdio', '--replay-at', 'yesterday-ish'], /--replay-at: cannot read "yesterday-ish"/],
    [['mcp', '--stdio', '--replay-at', '2024-01-01', '--replay-from', '2024-01-01'], /--replay-at excludes/],
    [['mcp', '--stdio', '--replay-from', '2024-02-01', '--replay-to', '2024-01-01'], /--replay-from must be before --replay-to/],
    [['mcp', '--stdio', '--risk', '/nonexistent/risk.yaml'], /--risk \/nonexistent\/risk.yaml/],
  ])('%j', async (args, message) => {
    const r = await csInProcess(args);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(message);
  });

  it('--http without a token in the environment names the variable and never echoes a value', async () => {
    const before = process.env.CS_TEST_MCP_TOKEN;
    process.env.CS_TEST_MCP_TOKEN = 'short';
    try {
      const r = await csInProcess(['mcp', '--http', '--port', '0', '--token-env', 'CS_TEST_MCP_TOKEN']);
      expect(r.code).toBe(2);
      expect(r.err).toMatch(/\$CS_TEST_MCP_TOKEN/);
      expect(r.err).not.toMatch(/short/);
    } finally {
      if (before === undefined) delete process.env.CS_TEST_MCP_TOKEN;
      else process.env.CS_TEST_MCP_TOKEN = before;
    }
  });
});
