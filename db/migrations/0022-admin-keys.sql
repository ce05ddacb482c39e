-- Admin keys are issued, expire and are revoked like every other key (issue 16, item 3): the
-- bootstrap ADMIN_API_KEY from the environment only issues the first one in staging and
-- production (api/routes/api-keys.ts), and each admin action is attributed to its own key.
ALTER TABLE api_keys DROP CONSTRAINT api_keys_role_check;
ALTER TABLE api_keys ADD CONSTRAINT api_keys_role_check CHECK (role IN ('admin', 'operator', 'investor', 'borrower'));
-- Who issued each key: an audit trail a key's holder cannot edit (the app role may not UPDATE it).
ALTER TABLE api_keys ADD COLUMN issued_by text;
REVOKE UPDATE ON api_keys FROM lending_app;
GRANT UPDATE (revoked_at) ON api_keys TO lending_app;
