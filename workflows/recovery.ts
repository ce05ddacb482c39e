import { condition, proxyActivities, setHandler, upsertSearchAttributes } from '@temporalio/workflow';
import type { ReconciliationActivities } from '../activities/reconciliation';
import {
  recoveryClosedSignal, recoveryStateQuery, SearchAttributes, writeOffUpdate, type RecoveryInput, type RecoveryWorkflowState, type WriteOffInput,
} from './shared';

const db = proxyActivities<ReconciliationActivities>({
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '1 minute', nonRetryableErrorTypes: ['RecoveryMissing'] },
});

const SEARCH_VALUE: Record<RecoveryWorkflowState, string> = { OFFSETTING: 'Offsetting', RECOVERED: 'Recovered', WRITTEN_OFF: 'WrittenOff' };

/**
 * recovery-{recoveryId}: money paid that was not owed, owed back by an investor. OFFSETTING: their
 * next payouts are reduced until it is cleared (the payout run does it in Postgres and signals
 * here) → RECOVERED; or WRITTEN_OFF by an operator with a reason (the writeOff update).
 * Findable in the Web UI by RecoveryState.
 */
export async function recoveryWorkflow(input: RecoveryInput): Promise<RecoveryWorkflowState> {
  let state: RecoveryWorkflowState = 'OFFSETTING';
  let closedSignal = false;
  let writeOff: WriteOffInput | undefined;
  const show = (s: RecoveryWorkflowState) => {
    state = s;
    upsertSearchAttributes([{ key: SearchAttributes.RecoveryState, value: SEARCH_VALUE[s] }, { key: SearchAttributes.InvestorId, value: input.investorId }]);
  };
  setHandler(recoveryStateQuery, () => state);
  setHandler(recoveryClosedSignal, () => {
    closedSignal = true;
  });
  setHandler(writeOffUpdate, async (decision) => {
    writeOff = decision;
    await condition(() => state !== 'OFFSETTING');
    return state;
  }, {
    validator: (decision) => {
      if (state !== 'OFFSETTING' || writeOff) throw new Error(`nothing to write off: the recovery is ${state}`);
      if (!decision.reason?.trim() || !decision.operator?.trim()) throw new Error('an operator and a reason are required');
    },
  });

  show('OFFSETTING');
  // Cleared already (offsets can run before this workflow starts), or when told.
  while ((await db.recoveryState(input.recoveryId)) !== 'RECOVERED') {
    await condition(() => closedSignal || writeOff !== undefined);
    if (writeOff) {
      const after = await db.writeOffRecovery(input.recoveryId, writeOff);
      if (after === 'WRITTEN_OFF') {
        show('WRITTEN_OFF');
        return state;
      }
      writeOff = undefined; // recovered meanwhile: the write-off found nothing left
    }
    closedSignal = false;
  }
  show('RECOVERED');
  return state;
}
