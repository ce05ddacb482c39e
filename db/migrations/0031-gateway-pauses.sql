-- The emergency stop (issue 19 item 3): what is paused now, per scope and channel. While a row is
-- here no new order of its scope reaches the gateway on its channel (activities/gateway-pause.ts);
-- orders already sent finish their query path. The history of pauses and resumes is the audit log
-- (controls.paused, controls.resumed), written in the same transactions.
CREATE TABLE gateway_pauses (
  scope text NOT NULL CHECK (scope IN ('payouts', 'collections')),
  channel text NOT NULL,
  reason text NOT NULL,
  paused_by text NOT NULL,
  paused_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (scope, channel)
);
GRANT SELECT, INSERT, DELETE ON gateway_pauses TO lending_app;
