-- Pairing saves the new api_key before sending it to the store: while unconfirmed it waits beside the
-- current key (both verify), and the first token or ping that proves the store holds it promotes it.
-- Callbacks of revoked bindings end as `cancelled` (with the reason in last_error) instead of waiting
-- forever.

ALTER TABLE tenants
    ADD COLUMN pending_api_key_enc bytea,
    ADD COLUMN pending_key_version integer,
    ADD CONSTRAINT tenants_pending_key CHECK ((pending_api_key_enc IS NULL) = (pending_key_version IS NULL)),
    ADD CONSTRAINT tenants_pending_key_newer CHECK (pending_key_version > key_version);

ALTER TABLE callbacks DROP CONSTRAINT callbacks_state_check;
ALTER TABLE callbacks ADD CONSTRAINT callbacks_state_check
    CHECK (state IN ('pending', 'delivering', 'delivered', 'dead_lettered', 'cancelled'));

UPDATE callbacks c
   SET state = 'cancelled', lease_expires_at = NULL, last_error = 'cancelled: the store''s binding was revoked'
  FROM tenants t
 WHERE t.id = c.tenant_id AND t.status = 'revoked' AND c.state IN ('pending', 'delivering');
