// Bank account numbers at rest: AES-256-GCM under a key named by its id, so keys rotate. New
// numbers are sealed with the current key (the first in BANK_ACCOUNT_ENCRYPTION_KEYS); a number
// sealed under an older key opens as long as that key is still listed.
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';

/** Development's and tests' key: public, so staging and production refuse it (config/env.ts). */
export const DEVELOPMENT_BANK_ACCOUNT_KEYS = 'dev1:ZGV2LW9ubHktYmFuay1hY2NvdW50LWtleS0zMmJ5dGU=';

const KEY_ENTRY = /^([A-Za-z0-9_-]{1,32}):([A-Za-z0-9+/]{43}=)$/;

export interface SealedNumber {
  keyId: string;
  /** base64 of iv (12) | tag (16) | ciphertext */
  ciphertext: string;
}

export class BankAccountKeyring {
  private constructor(
    readonly currentKeyId: string,
    private readonly keys: Map<string, Buffer>,
  ) {}

  /** `id:base64key,id:base64key`: the first is current; each key is 32 bytes. */
  static parse(spec: string): BankAccountKeyring {
    const keys = new Map<string, Buffer>();
    for (const entry of spec.split(',')) {
      const m = KEY_ENTRY.exec(entry.trim());
      if (!m) throw new RangeError('each key must be <id>:<base64 of 32 bytes>');
      const key = Buffer.from(m[2], 'base64');
      if (key.length !== 32 || keys.has(m[1]))
        throw new RangeError('each key must be 32 bytes, each id listed once');
      keys.set(m[1], key);
    }
    const current = spec.split(',')[0].trim().split(':')[0];
    return new BankAccountKeyring(current, keys);
  }

  seal(accountNo: string): SealedNumber {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.key(this.currentKeyId), iv);
    const ciphertext = Buffer.concat([cipher.update(accountNo, 'utf8'), cipher.final()]);
    return {
      keyId: this.currentKeyId,
      ciphertext: Buffer.concat([iv, cipher.getAuthTag(), ciphertext]).toString('base64'),
    };
  }

  open(sealed: SealedNumber): string {
    const raw = Buffer.from(sealed.ciphertext, 'base64');
    const decipher = createDecipheriv('aes-256-gcm', this.key(sealed.keyId), raw.subarray(0, 12));
    decipher.setAuthTag(raw.subarray(12, 28));
    return Buffer.concat([decipher.update(raw.subarray(28)), decipher.final()]).toString('utf8');
  }

  private key(keyId: string): Buffer {
    const key = this.keys.get(keyId);
    // Never silently unreadable: a row whose key was dropped from the configuration says so.
    if (!key) throw new Error(`bank account key ${keyId} is not configured`);
    return key;
  }
}

let configured: BankAccountKeyring | undefined;

/**
 * The process's keyring: from BANK_ACCOUNT_ENCRYPTION_KEYS (checked at start-up by config/env.ts),
 * development's key where it is unset (only development and test may run so).
 */
export function bankAccountKeyring(): BankAccountKeyring {
  configured ??= BankAccountKeyring.parse(
    process.env.BANK_ACCOUNT_ENCRYPTION_KEYS ?? DEVELOPMENT_BANK_ACCOUNT_KEYS,
  );
  return configured;
}

/** Replaces the process's keyring (a rotation in tests; a process otherwise reads it once). */
export function useBankAccountKeyring(keyring: BankAccountKeyring | undefined): void {
  configured = keyring;
}

/**
 * The digits of a number that may be kept in clear and shown (migration 0039): the first four only
 * from 12 digits up, and at most the last four and never more than half the number, so a short
 * number is never whole, at rest or in an answer.
 */
export function visibleDigits(accountNo: string): { first: string; last: string } {
  const n = accountNo.length;
  return {
    first: n >= 12 ? accountNo.slice(0, 4) : '',
    last: accountNo.slice(n - Math.min(4, Math.floor(n / 2))),
  };
}

/** `6222********2222`, `******5678`: the visible digits, the rest starred. */
export function maskAccountNo(first: string, last: string, length: number): string {
  return `${first}${'*'.repeat(Math.max(length - first.length - last.length, 0))}${last}`;
}
