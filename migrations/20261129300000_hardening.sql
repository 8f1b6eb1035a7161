-- Issue 9: sessions that end when they should, snapshots that cannot be deleted, and
-- refusals audited without letting anyone flood the append-only log.

-- A session records the account's epoch when it signed in; changing the password or the
-- two-factor setting, or disabling the account, moves the epoch on and ends them all.
ALTER TABLE users ADD COLUMN session_epoch integer NOT NULL DEFAULT 0;

-- Submission snapshots refused UPDATE; now DELETE and TRUNCATE too.
CREATE TRIGGER submissions_no_delete BEFORE DELETE ON submissions
    FOR EACH ROW EXECUTE FUNCTION refuse_change();
CREATE TRIGGER submissions_no_truncate BEFORE TRUNCATE ON submissions
    FOR EACH STATEMENT EXECUTE FUNCTION refuse_change();

-- Refusals (403, 404 on an id, CSRF, sign-ins refused during a lockout): the first of a
-- kind for an actor and address in a window is written to the audit log, the others
-- are counted here. The audit log grows by at most one row per kind, actor, address
-- and window, whatever an attacker sends.
CREATE TABLE refusal_tally (
    action       text NOT NULL,
    actor        text NOT NULL CHECK (length(actor) <= 300),
    address      text NOT NULL CHECK (length(address) <= 100),
    window_start timestamptz NOT NULL,
    count        integer NOT NULL DEFAULT 1,
    last_at      timestamptz NOT NULL DEFAULT now(),
    last_path    text CHECK (length(last_path) <= 300),
    PRIMARY KEY (action, actor, address, window_start)
);
CREATE INDEX refusal_tally_window_idx ON refusal_tally (window_start);
