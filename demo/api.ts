// The scenario drives the platform as a client does: over HTTP, with API keys and Idempotency-Keys.
// A refused connection, a 429 or a 503 is waited out and retried with the same key.
import { apiErrorFromResponse } from '../api/errors';

export interface ApiResponse<T = Record<string, unknown>> {
  status: number;
  body: T;
}

const RETRIES = 20;
/**
 * An API that cannot be reached (restarting, or its connection cut) is asked again for this long,
 * as a client with a retry budget would: a restart on a loaded machine took 11 s (chaos seed 83
 * gave up after 20 tries of 0.5 s).
 */
const UNREACHABLE_BUDGET_MS = 60_000;

export class DemoApi {
  private checker: Promise<string> | undefined;

  constructor(
    readonly baseUrl: string,
    readonly adminKey: string,
  ) {}

  /**
   * A second operator's key (issued once): approves what the scenario's own key holds for
   * approval, as maker-checker asks of every money decision made by hand.
   */
  checkerKey(): Promise<string> {
    return (this.checker ??= this.must<{ key: string }>('POST', '/v1/api-keys', {
      body: { role: 'operator' },
    }).then((r) => r.key));
  }

  async call<T = Record<string, unknown>>(
    method: 'GET' | 'POST',
    path: string,
    opts: { key?: string; body?: unknown; idempotencyKey?: string } = {},
  ): Promise<ApiResponse<T>> {
    const headers: Record<string, string> = {
      authorization: `Bearer ${opts.key ?? this.adminKey}`,
    };
    if (opts.body !== undefined) headers['content-type'] = 'application/json';
    if (opts.idempotencyKey) headers['idempotency-key'] = opts.idempotencyKey;
    const giveUpAt = Date.now() + UNREACHABLE_BUDGET_MS;
    for (let attempt = 0; ; attempt++) {
      try {
        const res = await fetch(this.baseUrl + path, {
          method,
          headers,
          body: opts.body === undefined ? undefined : JSON.stringify(opts.body),
          signal: AbortSignal.timeout(30_000),
        });
        const body = (await res.json().catch(() => ({}))) as T;
        if ((res.status === 429 || res.status === 503) && attempt < RETRIES) {
          await sleep(Number(res.headers.get('retry-after') ?? '1') * 1000);
          continue;
        }
        return { status: res.status, body };
      } catch (err) {
        if (Date.now() > giveUpAt) throw err;
        await sleep(500);
      }
    }
  }

  /**
   * A decision held for a second operator (202 PENDING_APPROVAL) approved with `checkerKey`, as
   * that operator would: the held request's answer, carried out, or the approval's refusal. Any
   * other answer is returned as it came.
   */
  async approvedBy<T = Record<string, unknown>>(
    checkerKey: string,
    res: ApiResponse<unknown>,
  ): Promise<ApiResponse<T>> {
    const held = res.body as { status?: string; approval?: { id?: string } } | undefined;
    if (res.status !== 202 || held?.status !== 'PENDING_APPROVAL' || !held.approval?.id)
      return res as ApiResponse<T>;
    const approved = await this.call<{ result?: T }>(
      'POST',
      `/v1/approvals/${held.approval.id}/approve`,
      { key: checkerKey, body: { reason: 'checked by a second operator' } },
    );
    return approved.status === 200
      ? { status: 200, body: approved.body.result as T }
      : (approved as unknown as ApiResponse<T>);
  }

  /** A call that must succeed (2xx). */
  async must<T = Record<string, unknown>>(
    method: 'GET' | 'POST',
    path: string,
    opts: { key?: string; body?: unknown; idempotencyKey?: string } = {},
  ): Promise<T> {
    const res = await this.call<T>(method, path, opts);
    if (res.status >= 300) throw apiErrorFromResponse(res.status, res.body, `${method} ${path}`);
    return res.body;
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Runs `fn` over `items` with at most `parallel` at once. */
export async function inParallel<T>(
  items: readonly T[],
  parallel: number,
  fn: (item: T, index: number) => Promise<void>,
): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(parallel, items.length) }, async () => {
      while (next < items.length) {
        const i = next++;
        await fn(items[i], i);
      }
    }),
  );
}
