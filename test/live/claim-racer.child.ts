/** Races for one claim: waits for "go" on stdin, then claims once and prints "won" or "lost <holder>". */
import { RedisClaims } from '../../live/claims.ts';

const [url, prefix, owner] = process.argv.slice(2) as [string, string, string];
const claims = new RedisClaims(url, prefix);
await claims.holder({ symbol: 'BTC/USDT', side: 'buy' }); // connected before the start signal
process.stdout.write('ready\n');
process.stdin.once('data', async () => {
  const r = await claims.claim({ symbol: 'BTC/USDT', side: 'buy' }, owner, 30_000);
  process.stdout.write(r.ok ? 'won\n' : `lost ${r.holder.owner}\n`);
  await claims.close();
  process.exit(0);
});
