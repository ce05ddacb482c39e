/**
 * The simulated banks' account holders, for the real-name check a PSP runs on a payout: the payee
 * name sent must be the holder's, else the payout fails with ACCOUNT_NAME_MISMATCH (a definitive
 * failure: never executed). Holders are set through POST /_sim/account-holders (the simulator only
 * runs in development and test). An account nobody registered is not checked: every other test
 * and the demo pay to accounts the simulator knows nothing about. Kept in memory, per run.
 */
import type { BankAccount } from '../protocol';

const keyOf = (a: Pick<BankAccount, 'bankCode' | 'accountNo'>) => `${a.bankCode}:${a.accountNo}`;

export class AccountHolders {
  private readonly holders = new Map<string, string>();

  register(account: Pick<BankAccount, 'bankCode' | 'accountNo'>, holderName: string): void {
    this.holders.set(keyOf(account), holderName);
  }

  /** Whether the payee name sent is refused: a registered account held by someone else. */
  mismatches(account: BankAccount): boolean {
    const holder = this.holders.get(keyOf(account));
    return holder !== undefined && holder !== account.accountName.trim();
  }
}
