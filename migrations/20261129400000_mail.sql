-- Mail: every message is written to the outbox in the same transaction as the change
-- it reports, and sent afterwards by a background worker (retried with back-off), so a
-- mail never blocks or fails a request. Without SMTP the messages stay in the outbox,
-- where administrators read them.

CREATE TABLE outbox (
    id              uuid PRIMARY KEY,
    recipient_id    uuid REFERENCES users (id) ON DELETE SET NULL,
    recipient_email text NOT NULL CHECK (length(recipient_email) BETWEEN 3 AND 254),
    subject         text NOT NULL CHECK (length(subject) BETWEEN 1 AND 300),
    body            text NOT NULL,
    -- What it is about: a notification kind ("case.returned") and the case, if any.
    kind            text NOT NULL,
    assessment_id   uuid REFERENCES assessments (id) ON DELETE SET NULL,
    -- Sent at once, or gathered into the recipient's daily digest.
    delivery        text NOT NULL CHECK (delivery IN ('immediate', 'digest')),
    -- queued: waiting to be sent; held: no SMTP server is configured; sent; failed (gave
    -- up); digested: went out inside a digest mail (digest_id).
    status          text NOT NULL CHECK (status IN ('queued', 'held', 'sent', 'failed', 'digested')),
    attempts        integer NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    last_error      text,
    digest_id       uuid,
    created_at      timestamptz NOT NULL DEFAULT now(),
    sent_at         timestamptz
);
CREATE INDEX outbox_due_idx ON outbox (next_attempt_at) WHERE status = 'queued';
CREATE INDEX outbox_created_idx ON outbox (created_at DESC);

-- Each user chooses immediate mail or one daily digest.
ALTER TABLE users ADD COLUMN mail_delivery text NOT NULL DEFAULT 'immediate'
    CHECK (mail_delivery IN ('immediate', 'digest'));
