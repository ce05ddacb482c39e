-- Maker-checker where the decision is taken (issue 16 item 2), not only in the API: a decision of
-- a kind that needs a second operator (a write-off, an exception's adjust or recover, a review's
-- paid above APPROVAL_PAID_ABOVE) is taken only as the effect of an approval another key approved
-- (approvals.effect_id). needs_approval is the API's rule for the one kind it depends on an amount
-- for: true when an approval let it through, false when the rule let it through alone (a paid at or
-- below the threshold), NULL when no API said (a CLI, a bug, a direct INSERT): then held.
ALTER TABLE operator_decisions ADD COLUMN needs_approval boolean;
CREATE INDEX approvals_effect ON approvals (effect_id) WHERE effect_id IS NOT NULL;
