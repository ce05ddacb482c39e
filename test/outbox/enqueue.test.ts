// Issue 17, item 1: the outbox's writers are typed by the real workflow functions. A start is a row
// the dispatcher turns into that workflow with that input; a name or an input the workflows do not
// have is a type error (the @ts-expect-error lines fail `npm run typecheck` if they ever compile).
import { enqueueSignal, enqueueStart } from '../../outbox/enqueue';
import { approvalStateSignal } from '../../workflows/contracts/approvals';
import { recoveryClosedSignal } from '../../workflows/contracts/recovery';
import { useTestDatabase } from '../helpers/postgres';

const db = useTestDatabase();

it('writes a start and a signal row as the dispatcher reads them, and refuses at compile time what no workflow takes', async () => {
  await enqueueStart(db.pool, 'depositWorkflow', 'deposit-e1', {
    depositId: 'e1',
    investorId: 'ann',
  });
  await enqueueSignal(db.pool, 'recovery-rc-1', recoveryClosedSignal);
  const { rows } = await db.pool.query(
    'SELECT action, workflow_type, workflow_id, signal_name, payload FROM outbox ORDER BY id',
  );
  expect(rows).toEqual([
    {
      action: 'start',
      workflow_type: 'depositWorkflow',
      workflow_id: 'deposit-e1',
      signal_name: null,
      payload: { depositId: 'e1', investorId: 'ann' },
    },
    {
      action: 'signal',
      workflow_type: null,
      workflow_id: 'recovery-rc-1',
      signal_name: 'recoveryClosed',
      payload: {},
    },
  ]);
  const typeErrors = () => {
    // @ts-expect-error a workflow type that does not exist (a renamed workflow)
    void enqueueStart(db.pool, 'depositWorkflowV2', 'deposit-x', {
      depositId: 'x',
      investorId: 'y',
    });
    // @ts-expect-error an input the workflow does not take
    void enqueueStart(db.pool, 'depositWorkflow', 'deposit-x', { payoutId: 'x' });
    // @ts-expect-error a signal's arguments it does not take
    void enqueueSignal(db.pool, 'recovery-x', approvalStateSignal, [{ approvalId: 'x' }]);
    // @ts-expect-error a signal that takes arguments, sent with none
    void enqueueSignal(db.pool, 'recovery-x', approvalStateSignal);
  };
  // never called: the checks above are the type checker's
  expect(typeof typeErrors).toBe('function');
});
