import type { Command } from 'commander';
import { z } from 'zod';
import { CheckFailedError, InputError } from '../../../engine/errors.ts';
import { KillSwitch, type KillSwitchCommand, type KillSwitchStatus } from '../../../engine/killswitch.ts';
import { FileJournal, readJournalFile } from '../../../datasets/journal-store.ts';
import { verify, type JournalEntry } from '../../../engine/journal.ts';
import { addJsonOption, parseOptions, printJson } from '../options.ts';

/**
 * `cs kill trip|override|status --file <journal.jsonl>`: the kill switch of a live journal file.
 * The state is the fold of the journal's killswitch/override entries; a trip or override is a
 * new entry, durable (fsync) before the command returns. A process that owns the journal and
 * runs the engine picks the entries up through the same file (that bridge comes with live/); in
 * process, `KillSwitch.apply` takes the same command JSON.
 */
const Common = {
  file: z.string().min(1).optional(),
  json: z.boolean().optional(),
  agent: z.string().trim().min(1).optional(),
};
const Who = { by: z.string().trim().min(1), reason: z.string().trim().min(1) };
const TripOpts = z.object({ ...Common, ...Who, to: z.enum(['halted', 'reducing']).default('halted'), cancelAll: z.boolean().optional(), flatten: z.boolean().optional() });
const OverrideOpts = z.object({ ...Common, ...Who, to: z.enum(['active', 'reducing']).default('active') });
const StatusOpts = z.object(Common);

function journalPath(file: string | undefined): string {
  const p = file ?? process.env.CS_JOURNAL;
  if (!p) throw new InputError('--file: which journal? (give --file <journal.jsonl> or set CS_JOURNAL)');
  return p;
}

function stateOf(entries: readonly JournalEntry[]): KillSwitch {
  const ks = new KillSwitch();
  for (const e of entries) if (e.type === 'killswitch' || e.type === 'override') ks.replay(e.payload);
  return ks;
}

function common(cmd: Command): Command {
  addJsonOption(cmd);
  return cmd
    .option('--file <jsonl>', 'the live journal file (default $CS_JOURNAL)')
    .option('--agent <id>', 'one agent instead of the global switch');
}

export function register(program: Command): void {
  const kill = program
    .command('kill')
    .description('kill switch: ACTIVE → REDUCING (only position-reducing orders) → HALTED (no orders); leaving needs an override');

  common(
    kill
      .command('trip')
      .description('trip the kill switch (journaled, with who and why)')
      .requiredOption('--by <who>', 'who trips it')
      .requiredOption('--reason <why>', 'why')
      .option('--to <state>', 'halted | reducing', 'halted')
      .option('--cancel-all', 'on HALTED: cancel every open order')
      .option('--flatten', 'on HALTED: close every position with reduce-only market orders'),
  ).action(async (raw: Record<string, unknown>) => {
    const o = parseOptions(TripOpts, raw);
    await change(o, {
      type: 'trip', ...scope(o.agent), to: o.to === 'halted' ? 'HALTED' : 'REDUCING', by: o.by, reason: o.reason, ts: Date.now(),
      ...(o.cancelAll ? { cancelAll: true } : {}), ...(o.flatten ? { flatten: true } : {}),
    });
  });

  common(
    kill
      .command('override')
      .description('a human override out of REDUCING/HALTED (journaled, with who and why)')
      .requiredOption('--by <who>', 'who decides')
      .requiredOption('--reason <why>', 'why it is safe')
      .option('--to <state>', 'active | reducing', 'active'),
  ).action(async (raw: Record<string, unknown>) => {
    const o = parseOptions(OverrideOpts, raw);
    await change(o, { type: 'override', ...scope(o.agent), to: o.to === 'active' ? 'ACTIVE' : 'REDUCING', by: o.by, reason: o.reason, ts: Date.now() });
  });

  common(kill.command('status').description('the kill-switch state folded from the journal')).action(async (raw: Record<string, unknown>) => {
    const o = parseOptions(StatusOpts, raw);
    const path = journalPath(o.file);
    const { entries } = await readJournalFile(path);
    const v = verify(entries);
    if (!v.ok) throw new CheckFailedError(`${path}:${v.index + 1}: ${v.problem}, ${v.message}; the kill-switch state cannot be trusted`);
    const status = stateOf(entries).status();
    if (o.json) printJson(status);
    else process.stdout.write(formatStatus(status, o.agent));
  });
}

function scope(agent: string | undefined): { scope: 'global' } | { scope: 'agent'; agentId: string } {
  return agent === undefined ? { scope: 'global' } : { scope: 'agent', agentId: agent };
}

async function change(o: { file?: string | undefined; json?: boolean | undefined }, command: KillSwitchCommand): Promise<void> {
  const journal = await FileJournal.open(journalPath(o.file));
  try {
    const ks = stateOf(journal.entries());
    const { transition, status } = ks.apply(command);
    if (transition) await journal.append(command.type === 'trip' ? 'killswitch' : 'override', transition, transition.ts);
    if (o.json) printJson({ changed: transition !== null, transition, status, head: journal.head });
    else if (transition) {
      const where = transition.scope === 'global' ? 'global' : `agent ${transition.agentId}`;
      process.stdout.write(`${where}: ${transition.from} → ${transition.to} by ${transition.by} (${transition.reason}); journaled as seq ${journal.head.seq}\n`);
    } else process.stdout.write(`no change: ${formatStatus(status, command.type === 'status' ? undefined : command.agentId)}`);
  } finally {
    await journal.close();
  }
}

function formatStatus(s: KillSwitchStatus, agent: string | undefined): string {
  const line = (name: string, st: KillSwitchStatus['global']) =>
    `${name}: ${st.state}${st.by ? ` since ${new Date(st.since!).toISOString()} by ${st.by}${st.auto ? ' (automatic)' : ''}: ${st.reason}` : ''}` +
    `${st.cancelAll ? ' [cancel-all]' : ''}${st.flatten ? ' [flatten]' : ''}\n`;
  let out = line('global', s.global);
  for (const [id, st] of Object.entries(s.agents)) if (agent === undefined || agent === id) out += line(`agent ${id}`, st);
  if (agent !== undefined && !(agent in s.agents)) out += `agent ${agent}: ACTIVE (effective: ${s.global.state})\n`;
  return out;
}
