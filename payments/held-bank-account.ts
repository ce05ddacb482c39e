// A bank account an operator asked to put on file, held for a second operator (maker-checker): the
// number is sealed with the bank-account keyring in the approval's payload, never kept in clear,
// and only its masked digits are shown. Opened again in the approving transaction.
import type { BankAccount } from '../gateway/protocol';
import { bankAccountKeyring, maskAccountNo, visibleDigits } from './bank-account-crypto';

export interface HeldBankAccount {
  bankCode: string;
  accountName: string;
  /** As listings show it: first and last four digits (last four for a short number). */
  accountNoMasked: string;
  sealedAccountNo: { keyId: string; ciphertext: string };
}

export function sealForApproval(account: BankAccount): HeldBankAccount {
  const { accountNo } = account;
  return {
    bankCode: account.bankCode,
    accountName: account.accountName,
    accountNoMasked: maskAccountNo(
      visibleDigits(accountNo).first,
      visibleDigits(accountNo).last,
      accountNo.length,
    ),
    sealedAccountNo: bankAccountKeyring().seal(accountNo),
  };
}

/** The account as asked for, its number opened with the keyring. */
export function openHeld(held: HeldBankAccount): BankAccount {
  return {
    bankCode: held.bankCode,
    accountName: held.accountName,
    accountNo: bankAccountKeyring().open(held.sealedAccountNo),
  };
}
