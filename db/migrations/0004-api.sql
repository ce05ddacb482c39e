-- The HTTP API's own tables: parties, API keys (hashed), and idempotency records.

CREATE TABLE parties (
  id text PRIMARY KEY CHECK (id ~ '^[A-Za-z0-9_-]{1,64}$'),
  kind text NOT NULL CHECK (kind IN ('investor', 'borrower')),
  name text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
  created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE api_keys (
  id text PRIMARY KEY CHECK (id ~ '^[a-f0-9]{16}$'),
  -- sha256 of the secret part: the key itself is shown once and never stored.
  secret_hash text NOT NULL,
  role text NOT NULL CHECK (role IN ('operator', 'investor', 'borrower')),
  party_id text REFERENCES parties (id),
  created_at timestamptz NOT NULL DEFAULT now(),
  expires_at timestamptz,
  revoked_at timestamptz,
  CHECK ((role IN ('investor', 'borrower')) = (party_id IS NOT NULL))
);

CREATE TABLE api_idempotency (
  scope text NOT NULL, -- the caller's key id: one caller's keys never collide with another's
  key text NOT NULL CHECK (key ~ '^[A-Za-z0-9_.:-]{1,128}$'),
  request_hash text NOT NULL,
  response_status int NOT NULL,
  response_body jsonb NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (scope, key)
);
CREATE INDEX api_idempotency_created ON api_idempotency (created_at);
