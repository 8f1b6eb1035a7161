-- Accounts, institutions, the review workflow and the append-only audit log.

CREATE TABLE institutions (
    id         uuid PRIMARY KEY,
    name       text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX institutions_name_key ON institutions (lower(name));

CREATE TABLE users (
    id             uuid PRIMARY KEY,
    email          text NOT NULL CHECK (length(email) BETWEEN 3 AND 254),
    display_name   text NOT NULL CHECK (length(display_name) BETWEEN 1 AND 200),
    role           text NOT NULL CHECK (role IN ('officer', 'reviewer', 'admin')),
    institution_id uuid REFERENCES institutions (id),
    password_hash  text NOT NULL,
    totp_secret    text,
    totp_enabled   boolean NOT NULL DEFAULT false,
    -- The last time step whose code was accepted, so a code is never accepted twice.
    totp_last_step bigint NOT NULL DEFAULT 0,
    disabled       boolean NOT NULL DEFAULT false,
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now(),
    -- An officer always belongs to an institution: access to cases depends on it.
    CONSTRAINT officer_has_institution CHECK (role <> 'officer' OR institution_id IS NOT NULL)
);
CREATE UNIQUE INDEX users_email_key ON users (lower(email));
CREATE TRIGGER users_updated_at BEFORE UPDATE ON users
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();

-- One-time recovery codes for two-factor sign-in, stored as SHA-256 digests.
CREATE TABLE recovery_codes (
    user_id   uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    code_hash text NOT NULL,
    used_at   timestamptz,
    PRIMARY KEY (user_id, code_hash)
);

-- Failed sign-ins, for lockout per account and per address.
CREATE TABLE failed_logins (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    email      text NOT NULL,
    address    text NOT NULL,
    at         timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX failed_logins_email_idx ON failed_logins (lower(email), at);
CREATE INDEX failed_logins_address_idx ON failed_logins (address, at);

-- Installation-wide settings, e.g. whether two-factor sign-in is required.
CREATE TABLE settings (
    key   text PRIMARY KEY,
    value jsonb NOT NULL
);
INSERT INTO settings (key, value) VALUES ('require_totp', 'false');

-- Projects belong to an institution; projects from before accounts existed have none
-- and are visible to nobody but administrators' audit views.
ALTER TABLE projects ADD COLUMN institution_id uuid REFERENCES institutions (id);
ALTER TABLE projects ADD COLUMN created_by uuid REFERENCES users (id);
CREATE INDEX projects_institution_idx ON projects (institution_id);

-- The case life cycle: draft -> submitted -> returned -> resubmitted -> decided.
ALTER TABLE assessments DROP CONSTRAINT assessments_status_check;
ALTER TABLE assessments ADD CONSTRAINT assessments_status_check
    CHECK (status IN ('draft', 'submitted', 'returned', 'resubmitted', 'decided'));
ALTER TABLE assessments ADD COLUMN submitted_by uuid REFERENCES users (id);
ALTER TABLE assessments ADD COLUMN final_verdict text CHECK (final_verdict IN ('green', 'orange', 'red'));
CREATE INDEX assessments_queue_idx ON assessments (status, submitted_at);

-- Every submission, kept as an immutable snapshot.
CREATE TABLE submissions (
    id               uuid PRIMARY KEY,
    assessment_id    uuid NOT NULL REFERENCES assessments (id) ON DELETE CASCADE,
    number           integer NOT NULL,
    answers          jsonb NOT NULL,
    evaluation       jsonb NOT NULL,
    rulebook_version text NOT NULL REFERENCES rulebooks (version),
    verdict          text NOT NULL,
    submitted_by     uuid NOT NULL REFERENCES users (id),
    submitted_at     timestamptz NOT NULL DEFAULT now(),
    UNIQUE (assessment_id, number)
);
CREATE FUNCTION refuse_change() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION '% rows are immutable: % refused', TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER submissions_immutable BEFORE UPDATE ON submissions
    FOR EACH ROW EXECUTE FUNCTION refuse_change();

-- A reviewer returning a case asks for more information.
CREATE TABLE returns (
    id            uuid PRIMARY KEY,
    assessment_id uuid NOT NULL REFERENCES assessments (id) ON DELETE CASCADE,
    returned_by   uuid NOT NULL REFERENCES users (id),
    message       text NOT NULL CHECK (length(message) BETWEEN 1 AND 5000),
    returned_at   timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE comments (
    id            uuid PRIMARY KEY,
    assessment_id uuid NOT NULL REFERENCES assessments (id) ON DELETE CASCADE,
    author_id     uuid NOT NULL REFERENCES users (id),
    finding_code  text,
    body          text NOT NULL CHECK (length(body) BETWEEN 1 AND 5000),
    created_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX comments_assessment_idx ON comments (assessment_id, created_at);

CREATE TABLE decisions (
    assessment_id  uuid PRIMARY KEY REFERENCES assessments (id) ON DELETE CASCADE,
    decided_by     uuid NOT NULL REFERENCES users (id),
    outcome        text NOT NULL CHECK (outcome IN ('endorse', 'override')),
    computed_verdict text NOT NULL CHECK (computed_verdict IN ('green', 'orange', 'red')),
    final_verdict  text NOT NULL CHECK (final_verdict IN ('green', 'orange', 'red')),
    justification  text NOT NULL DEFAULT '',
    conditions     text[] NOT NULL DEFAULT '{}',
    decided_at     timestamptz NOT NULL DEFAULT now(),
    -- An override always carries its reasons.
    CONSTRAINT override_is_justified CHECK (outcome = 'endorse' OR length(trim(justification)) > 0)
);

-- The audit log is append-only: PostgreSQL itself refuses updates, deletes and truncation.
CREATE TABLE audit_log (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at            timestamptz NOT NULL DEFAULT now(),
    actor_id      uuid,
    actor_email   text,
    action        text NOT NULL,
    assessment_id uuid,
    project_id    uuid,
    summary       text NOT NULL,
    details       jsonb NOT NULL DEFAULT '{}',
    address       text
);
CREATE INDEX audit_log_at_idx ON audit_log (at DESC);
CREATE INDEX audit_log_assessment_idx ON audit_log (assessment_id, at);
CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION refuse_change();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION refuse_change();
