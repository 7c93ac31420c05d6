import type { Command } from 'commander';
import { register as metrics } from './metrics.ts';
import { register as indicator } from './indicator.ts';
import { register as data } from './data.ts';
import { register as backtest } from './backtest.ts';
import { register as demo } from './demo.ts';
import { register as journal } from './journal.ts';
import { register as kill } from './kill.ts';
import { register as sweep } from './sweep.ts';
import { register as tax } from './tax.ts';
import { register as audit } from './audit.ts';
import { register as walkforward } from './walkforward.ts';
import { register as montecarlo } from './montecarlo.ts';
import { register as gate } from './gate.ts';
import { register as promote } from './promote.ts';
import { register as agents } from './agents.ts';
import { register as report } from './report.ts';
import { register as mcp } from './mcp.ts';
import { register as llm } from './llm.ts';

/** Each command module registers itself on the root program. */
export type RegisterCommand = (program: Command) => void;

export const commands: RegisterCommand[] = [demo, backtest, metrics, indicator, data, journal, kill, sweep, tax, audit, walkforward, montecarlo, gate, promote, agents, report, mcp, llm];
