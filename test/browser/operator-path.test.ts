// The operator's path in a real browser (Debian's chromium, driven by playwright-core; installed
// by scripts/install.sh, never downloaded). On a stack of real processes (its own Temporal dev
// server with the Web UI, the gateway simulator, the API, the worker and the dispatcher):
//   - a payout stops in MANUAL_REVIEW; the operator opens the pending-reviews link exactly as
//     `npm start` prints it (scripts/ui-links.sh), finds the payout, opens it, runs reviewEvidence
//     in the Queries tab, decides through `npm run ops`, and sees the workflow completed and gone
//     from the search;
//   - the same for a reconciliation exception (ReconState) and the reconSummary query.
// Screenshots of each step are saved under .data/artifacts/browser/ (printed at the end).
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { ChaosStack } from '../../chaos/stack';
import {
  disbursementInReview,
  npmRunOps,
  parties,
  secondChannelPayment,
  until,
  type Parties,
} from './scenario';

const ROOT = join(__dirname, '..', '..');
const CHROMIUM = process.env.CHROMIUM_BIN ?? '/usr/bin/chromium';
const ARTIFACTS = join(ROOT, '.data', 'artifacts', 'browser');
const UI_TIMEOUT_MS = 30_000;

const runId = `br${randomBytes(3).toString('hex')}`;
let stack: ChaosStack | undefined;
let browser: Browser | undefined;
let page: Page;
let who: Parties;
const shots: string[] = [];

const live = () => {
  if (!stack) throw new Error('the stack is started in beforeAll');
  return stack;
};

/** The Web UI links `npm start` prints, for this stack's UI port: "pending reviews" → URL. */
function printedLinks(uiPort: number): Map<string, string> {
  const out = execFileSync('bash', [join(ROOT, 'scripts', 'ui-links.sh')], {
    env: { ...process.env, TEMPORAL_UI_PORT: String(uiPort), TEMPORAL_NAMESPACE: 'default' },
    encoding: 'utf8',
  });
  const links = new Map<string, string>();
  for (const line of out.split('\n')) {
    const m = /^\s+(\S.*?)\s{2,}(http\S+)$/.exec(line);
    if (m) links.set(m[1], m[2]);
  }
  return links;
}

async function shot(name: string): Promise<void> {
  const path = join(ARTIFACTS, `${runId}-${String(shots.length + 1).padStart(2, '0')}-${name}.png`);
  await page.screenshot({ path, fullPage: true });
  shots.push(path);
}

/** Opens a search link and clicks the workflow's row (its id is the row's link). */
async function openFromSearch(link: string, workflowId: string): Promise<void> {
  await page.goto(link);
  const row = page.getByRole('link', { name: workflowId, exact: true });
  await row.waitFor();
  await shot(`search-${workflowId}`);
  await row.click();
  await page.waitForURL((url) =>
    url.pathname.includes(`/workflows/${encodeURIComponent(workflowId)}/`),
  );
  await page.getByRole('heading', { name: workflowId }).waitFor();
}

/** The Queries tab: picks the query by name, runs it, returns what the UI shows. */
async function runQuery(queryType: string, showing: string): Promise<string> {
  await page.getByRole('tab', { name: /^Queries/ }).click();
  // The query picker is a menu button (its label points at a disabled input): its test id is the
  // stable handle.
  await page.getByTestId('query-select-button').click();
  await page.getByRole('option', { name: queryType, exact: true }).click();
  await page.getByRole('button', { name: 'Run Query' }).click();
  await page.getByText(showing).first().waitFor();
  await shot(`query-${queryType}`);
  return page.locator('main').innerText();
}

/**
 * Reloads the workflow's page until its status badge says COMPLETED (visibility is eventually
 * consistent).
 */
async function seeCompleted(workflowId: string): Promise<void> {
  await until(
    `${workflowId} shown as completed`,
    async () => {
      await page.goto(page.url().replace(/\/[a-z-]+$/, '/search-attributes'));
      await page.getByRole('heading', { name: workflowId }).waitFor();
      return (await page.getByText(/^completed$/i).count()) > 0 ? true : undefined;
    },
    UI_TIMEOUT_MS,
    500,
  );
  await shot(`completed-${workflowId}`);
}

/** Reloads the search link until the list has loaded without the workflow in it. */
async function seeGoneFromSearch(link: string, workflowId: string): Promise<void> {
  await until(
    `${workflowId} gone from the search`,
    async () => {
      await page.goto(link);
      await page
        .getByText('No Workflows Found')
        .or(page.getByRole('link', { name: workflowId, exact: true }))
        .first()
        .waitFor();
      return (await page.getByRole('link', { name: workflowId, exact: true }).count()) === 0
        ? true
        : undefined;
    },
    UI_TIMEOUT_MS,
    500,
  );
  await shot(`search-without-${workflowId}`);
}

/** A test body that leaves a screenshot of the page where it failed. */
const screenshotOnFailure = (body: () => Promise<void>) => async () => {
  try {
    await body();
  } catch (err) {
    if (browser) await shot('at-failure').catch(() => undefined);
    throw err;
  }
};

beforeAll(async () => {
  if (!existsSync(CHROMIUM))
    throw new Error(
      `${CHROMIUM} is missing: run 'npm run setup' (scripts/install.sh installs Debian's chromium), or set CHROMIUM_BIN`,
    );
  mkdirSync(ARTIFACTS, { recursive: true });
  const root = process.getuid?.() === 0;
  const [started, launched] = await Promise.allSettled([
    ChaosStack.start({ seed: 0, log: (line) => console.log(line), webUi: true }),
    // As root chromium needs --no-sandbox (its sandbox refuses root).
    chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: root ? ['--no-sandbox'] : [],
    }),
  ]);
  // Whatever started is stopped in afterAll, even if the other failed.
  if (started.status === 'fulfilled') stack = started.value;
  if (launched.status === 'fulfilled') browser = launched.value;
  if (started.status === 'rejected') throw started.reason;
  if (launched.status === 'rejected') throw launched.reason;
  page = await launched.value.newPage({ viewport: { width: 1400, height: 900 } });
  page.setDefaultTimeout(UI_TIMEOUT_MS);
  who = await parties(started.value, runId);
}, 120_000);

afterAll(async () => {
  await browser?.close().catch(() => undefined);
  await stack?.stop({ keep: false });
  if (shots.length)
    console.log(`browser test screenshots:\n${shots.map((s) => `  ${s}`).join('\n')}`);
}, 60_000);

it(
  'a payout in manual review: found through the printed pending-reviews link, evidence queried in the UI, decided through npm run ops, completed and gone from the search',
  screenshotOnFailure(async () => {
    const s = live();
    const review = await disbursementInReview(s, who, runId);
    const link = printedLinks(s.webUiPort ?? 0).get('pending reviews');
    expect(link).toBe(
      `http://localhost:${s.webUiPort}/namespaces/default/workflows?query=ReviewState%20%3D%20'Pending'`,
    );

    await openFromSearch(link!, review.workflowId);
    const evidence = await runQuery('reviewEvidence', 'MANUAL_REVIEW');
    expect(evidence).toContain(`"orderNo": "${review.evidence.orderNo}"`);
    expect(evidence).toContain("failure code 'SYSTEM_BUSY' is not definitive");

    // The gateway's own record says FAILED: the operator decides not paid, through the CLI (the
    // API).
    const listed = await npmRunOps(s, who.operatorKey, ['reviews', 'list']);
    expect(listed.out).toContain(review.workflowId);
    const decided = await npmRunOps(s, who.operatorKey, [
      'reviews',
      'resolve',
      review.workflowId,
      '--decision',
      'not_paid',
      '--reason',
      "the gateway's record says FAILED (SYSTEM_BUSY): nothing left",
    ]);
    expect(decided).toMatchObject({ code: 0 });
    expect(decided.out).toContain(`${review.workflowId}: FAILED`);

    await seeCompleted(review.workflowId);
    expect(await page.locator('main').innerText()).toContain('"ReviewState": "Resolved"');
    await seeGoneFromSearch(link!, review.workflowId);
  }),
  150_000,
);

it(
  'a reconciliation exception: found through the printed recon-exceptions link, summary queried in the UI, resolved through npm run ops, completed and gone from the search',
  screenshotOnFailure(async () => {
    const s = live();
    const orderNo = `${runId}-ch2`;
    const date = await secondChannelPayment(s, orderNo);
    const workflowId = `recon-default-${date}`;
    const run = await npmRunOps(s, who.operatorKey, ['recon', 'run', date]);
    expect(run.out).toContain(workflowId);
    const day = await until(
      'the day to be matched with an exception',
      async () => {
        const shown = await npmRunOps(s, who.operatorKey, ['--json', 'recon', 'show', date]);
        const view =
          shown.code === 0
            ? (JSON.parse(shown.out) as {
                state: string;
                exceptions: { id: string; class: string; orderNo: string; status: string }[];
              })
            : undefined;
        return view?.state === 'EXCEPTIONS' ? view : undefined;
      },
      30_000,
      1_000,
    );
    const exception = day.exceptions.find((e) => e.orderNo === orderNo);
    expect(exception).toMatchObject({ class: 'THEIRS_ONLY', status: 'OPEN' });

    const link = printedLinks(s.webUiPort ?? 0).get('recon exceptions');
    expect(link).toBe(
      `http://localhost:${s.webUiPort}/namespaces/default/workflows?query=ReconState%20%3D%20'Exceptions'`,
    );
    await openFromSearch(link!, workflowId);
    const summary = await runQuery('reconSummary', 'EXCEPTIONS');
    expect(summary).toContain('"openExceptions": 1');

    // Money the gateway paid through another channel, to the investor: recovered from them.
    const resolved = await npmRunOps(s, who.operatorKey, [
      'recon',
      'resolve',
      date,
      exception!.id,
      '--action',
      'recover',
      '--investor',
      who.investorId,
      '--reason',
      "paid through the gateway's second channel",
    ]);
    expect(resolved).toMatchObject({ code: 0 });
    // A recover opens a recovery by hand: held until a second operator approves it.
    expect(resolved.out).toContain('waits for a second operator');
    const approvalId = /\((apr-[0-9a-f-]{36})\)/.exec(resolved.out)?.[1] ?? '';
    const approved = await npmRunOps(s, who.checkerKey, [
      'approvals',
      'approve',
      approvalId,
      '--reason',
      'the second channel paid it',
    ]);
    expect(approved).toMatchObject({ code: 0 });
    expect(approved.out).toContain(`${approvalId}: approved; ${workflowId} is RESOLVED`);

    await seeCompleted(workflowId);
    expect(await page.locator('main').innerText()).toContain('"ReconState": "Clean"');
    await seeGoneFromSearch(link!, workflowId);
  }),
  150_000,
);
