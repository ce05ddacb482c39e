// Every workflow type the worker runs. Replay tests check each has a recorded history.
export { smokeWorkflow } from './smoke';
export { loanWorkflow } from './loan';
export { subscriptionWorkflow } from './subscription';
export { depositWorkflow } from './deposit';
export { payoutWorkflow } from './payout';
export { repaymentWorkflow } from './repayment';
export { payoutRunWorkflow } from './payout-run';
export { reconciliationWorkflow } from './reconciliation';
export { recoveryWorkflow } from './recovery';
export { idempotencyPruneWorkflow } from './idempotency-prune';
export { approvalWorkflow } from './approval';
