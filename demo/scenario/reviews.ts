// Manual reviews during the scenario. On a terminal (without --auto-resolve) the scenario stops
// at the first pending review and shows how an operator resolves it (Web UI or CLI), then goes
// on once it is resolved; the rest, and all of them without a terminal, are decided from the
// gateway simulator's record, as a decision through the API like an operator's.
import { apiDecider, resolveReviewsFromSimulatorTruth } from '../../cli/auto-resolve';
import { reviewEvidenceQuery } from '../../workflows/contracts/gateway-order';
import { sleep } from '../api';
import { uiSearchLink, type World } from '../world';

export class ReviewDesk {
  readonly counts = { byOperator: 0, paid: 0, notPaid: 0 };
  private asked: boolean;

  /** `scope`: a visibility query selecting this run's workflows. */
  constructor(
    private readonly world: World,
    private readonly scope: string,
    interactive: boolean,
  ) {
    this.asked = !interactive;
  }

  private pendingQuery(): string {
    return `ReviewState = 'Pending' AND ExecutionStatus = 'Running' AND (${this.scope})`;
  }

  /** Deals with whatever is pending now. */
  async handle(): Promise<void> {
    if (!this.asked) {
      for await (const wf of this.world.temporal.workflow.list({ query: this.pendingQuery() })) {
        this.asked = true;
        await this.askOperator(wf.workflowId);
        break;
      }
    }
    const r = await resolveReviewsFromSimulatorTruth(
      this.world.temporal,
      this.world.simulator.url,
      apiDecider(this.world.api),
      `(${this.scope})`,
    );
    this.counts.paid += r.paid;
    this.counts.notPaid += r.notPaid;
    if (r.paid + r.notPaid > 0)
      console.log(
        `  reviews: ${r.paid} resolved paid, ${r.notPaid} not paid, from the gateway's record of each order`,
      );
  }

  private async askOperator(workflowId: string): Promise<void> {
    const handle = this.world.temporal.workflow.getHandle(workflowId);
    const evidence = await handle.query(reviewEvidenceQuery);
    const last = evidence.attempts[evidence.attempts.length - 1];
    console.log(
      [
        '',
        `⏸  ${workflowId} is waiting in MANUAL_REVIEW: order ${evidence.orderNo}, ${evidence.attempts.length} gateway answers, the last: ${JSON.stringify(last?.outcome)}.`,
        '   Nobody knows whether the money moved, so the system stopped instead of guessing. You decide:',
        `   - Look:   ${this.world.uiUrl}/namespaces/${this.world.namespace}/workflows/${workflowId} → Queries → reviewEvidence`,
        `             (all pending: ${uiSearchLink(this.world, "ReviewState = 'Pending'")})`,
        `   - Decide: npm run ops -- reviews resolve ${workflowId} --decision not_paid --reason "the bank has no such debit"`,
        `             (or POST /v1/reviews/${workflowId}/resolve; the decision is recorded under your key. An Update sent from the Web UI is refused.)`,
        `   The gateway's own record (what a bank statement would tell you): ${this.world.simulator.url}/_sim/truth?orderNo=${evidence.orderNo}`,
        '   Waiting for your decision (run with --auto-resolve to skip this)...',
      ].join('\n'),
    );
    while ((await handle.query(reviewEvidenceQuery)).state === 'MANUAL_REVIEW') await sleep(1_000);
    this.counts.byOperator += 1;
    console.log(
      `▶  resolved by you: ${workflowId} is ${(await handle.query(reviewEvidenceQuery)).state}. The other reviews are decided from the gateway's record.\n`,
    );
  }
}
