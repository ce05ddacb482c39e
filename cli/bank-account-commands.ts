// `ops bank-accounts reseal`: after a new current key is put first in BANK_ACCOUNT_ENCRYPTION_KEYS
// (api and worker restarted), seals every account under it and clears the numbers still in clear,
// batch by batch through the API (admin), printing progress; then the old key can be dropped.
import { CommanderError, type Command } from 'commander';
import type { OpsContext } from './recon-commands';

interface Batch {
  resealed: number;
  partiesFiled: number;
  ordersCleared: number;
  remaining: number;
}

/** A bound on the batches of one run: a count that never falls stops it rather than spin. */
const MAX_BATCHES = 100_000;

export function addBankAccountCommands(program: Command, ctx: OpsContext): void {
  const accounts = program.command('bank-accounts').description('bank account numbers at rest');
  accounts
    .command('reseal')
    .description('seal every account under the current key; clear legacy numbers (idempotent)')
    .option('--batch <n>', 'rows per batch (1-1000)', '100')
    .action(async (opts: { batch: string }) => {
      const limit = Number(opts.batch);
      if (!Number.isInteger(limit) || limit < 1 || limit > 1000)
        throw new CommanderError(2, 'ops.batch', '--batch must be an integer from 1 to 1000');
      const total = { resealed: 0, partiesFiled: 0, ordersCleared: 0, remaining: 0 };
      for (let n = 1; n <= MAX_BATCHES; n++) {
        const b = (await ctx.call('POST', '/v1/bank-accounts/reseal', { limit })) as Batch;
        total.resealed += b.resealed;
        total.partiesFiled += b.partiesFiled;
        total.ordersCleared += b.ordersCleared;
        total.remaining = b.remaining;
        const did = b.resealed + b.partiesFiled + b.ordersCleared;
        if (did > 0 || b.remaining > 0)
          ctx.print(b, () => [
            `batch ${n}: resealed ${b.resealed}, parties filed ${b.partiesFiled}, orders cleared ${b.ordersCleared}, remaining ${b.remaining}`,
          ]);
        if (b.remaining === 0) break;
        if (did === 0)
          throw new CommanderError(1, 'ops.stuck', `${b.remaining} rows remain and none moved`);
      }
      ctx.print(total, () => [
        `done: resealed ${total.resealed}, parties filed ${total.partiesFiled}, orders cleared ${total.ordersCleared}`,
      ]);
    });
}
