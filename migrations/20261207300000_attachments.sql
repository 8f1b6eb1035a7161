-- Files attached to a case: to the case itself, to one of its ticked mitigations, or to
-- a comment. The bytes live in the object store (a folder under the data directory, or
-- a bucket); this row is the record of them: sanitised name, the type recognised from
-- the content, size and SHA-256. Evidence is never changed once recorded, so the app
-- may only read and append (as for the audit log).
CREATE TABLE attachments (
    id            uuid PRIMARY KEY,
    assessment_id uuid NOT NULL REFERENCES assessments (id) ON DELETE CASCADE,
    -- What the file is evidence for.
    target        text NOT NULL CHECK (target IN ('case', 'mitigation', 'comment')),
    -- The mitigation's code or the comment's id; empty for the case itself.
    target_ref    text NOT NULL DEFAULT '' CHECK (length(target_ref) <= 200),
    CHECK ((target = 'case') = (target_ref = '')),
    file_name     text NOT NULL CHECK (length(file_name) BETWEEN 1 AND 200),
    media_type    text NOT NULL CHECK (length(media_type) BETWEEN 1 AND 200),
    size_bytes    bigint NOT NULL CHECK (size_bytes > 0),
    sha256        text NOT NULL CHECK (sha256 ~ '^[0-9a-f]{64}$'),
    -- The object's key in the store; chosen by triage, never from the file's name.
    storage_key   text NOT NULL UNIQUE,
    note          text NOT NULL DEFAULT '' CHECK (length(note) <= 2000),
    uploaded_by   uuid NOT NULL REFERENCES users (id),
    uploaded_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX attachments_assessment_idx ON attachments (assessment_id, uploaded_at);

REVOKE UPDATE, DELETE ON attachments FROM triage_app;
