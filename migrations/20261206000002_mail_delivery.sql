-- The mail outbox is sent by a background sender (SMTP, or the log in development): claimed with a
-- lease so two processes never send one message twice, retried with backoff, given up after its
-- last attempt.
ALTER TABLE mail_outbox
    ADD COLUMN next_attempt_at timestamptz NOT NULL DEFAULT now(),
    ADD COLUMN claimed_until timestamptz,
    ADD COLUMN failed_at timestamptz;
CREATE INDEX mail_outbox_due ON mail_outbox (next_attempt_at, id) WHERE sent_at IS NULL AND failed_at IS NULL;
