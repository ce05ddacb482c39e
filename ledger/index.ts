// The ledger's public face: a Ledger bound to a pool, plus the money helpers. No Temporal here.
import type { Pool } from 'pg';
import { createAccount, type AccountSpec } from './accounts';
import * as reads from './reads';
import * as tx from './transactions';
import type { Queryable } from './types';

export { accountPath, type AccountSpec } from './accounts';
export { LedgerError, type LedgerErrorCode } from './errors';
export { MoneyError, type MoneyErrorCode, CURRENCY_SCALES, DEFAULT_CURRENCY } from './currency';
export * from './money';
export type { Balance, Leg, Metadata, Queryable, TransactionResult } from './types';
export type { StatementEntry, StatementPage, TrialBalanceLine, Drift } from './reads';
export type {
  PostInput,
  TransferInput,
  HoldInput,
  PostPendingInput,
  ClosePendingInput,
  ReverseInput,
} from './transactions';

export class Ledger {
  constructor(readonly db: Queryable) {}

  static fromPool(pool: Pool): Ledger {
    return new Ledger(pool);
  }

  createAccount = (spec: AccountSpec) => createAccount(this.db, spec);
  post = (input: tx.PostInput) => tx.post(this.db, input);
  transfer = (input: tx.TransferInput) => tx.transfer(this.db, input);
  hold = (input: tx.HoldInput) => tx.hold(this.db, input);
  postPending = (input: tx.PostPendingInput, now?: Date) => tx.postPending(this.db, input, now);
  voidPending = (input: tx.ClosePendingInput, now?: Date) => tx.voidPending(this.db, input, now);
  reverse = (input: tx.ReverseInput) => tx.reverse(this.db, input);
  expirePending = (now?: Date) => tx.expirePending(this.db, now);
  balance = (account: string) => reads.balance(this.db, account);
  statement = (account: string, options?: { after?: string; limit?: number }) =>
    reads.statement(this.db, account, options);
  trialBalance = () => reads.trialBalance(this.db);
  verify = () => reads.verify(this.db);
}
