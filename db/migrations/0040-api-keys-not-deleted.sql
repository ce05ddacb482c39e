-- A key's row is its own history (who issued it, when it was revoked): the app role revokes keys
-- and never deletes them. Deleting retired admin keys is the database owner's recovery when every
-- admin key is lost, which re-arms the bootstrap key (api/routes/api-keys.ts).
REVOKE DELETE ON api_keys FROM lending_app;
