-- Issue 10, safe decisions and a queue that can be worked.

-- A decision that lowers a Red (or, as configured, an Orange) verdict waits for a second
-- reviewer's co-signature: the case is 'cosign' until then and its final verdict unset.
ALTER TABLE assessments DROP CONSTRAINT assessments_status_check;
ALTER TABLE assessments ADD CONSTRAINT assessments_status_check
    CHECK (status IN ('draft', 'submitted', 'returned', 'resubmitted', 'cosign', 'decided'));

ALTER TABLE decisions ADD COLUMN cosign_required boolean NOT NULL DEFAULT false;
ALTER TABLE decisions ADD COLUMN cosigned_by uuid REFERENCES users (id);
ALTER TABLE decisions ADD COLUMN cosigned_at timestamptz;
-- The co-signer differs from the reviewer who decided.
ALTER TABLE decisions ADD CONSTRAINT cosigner_differs CHECK (cosigned_by IS NULL OR cosigned_by <> decided_by);

-- Which lowered verdicts need a co-signature: 'off', 'red' or 'red_orange'.
INSERT INTO settings (key, value) VALUES ('cosign_policy', '"red"') ON CONFLICT (key) DO NOTHING;

-- A reopened decision is kept here, with who reopened it and why.
CREATE TABLE reopenings (
    id            uuid PRIMARY KEY,
    assessment_id uuid NOT NULL REFERENCES assessments (id) ON DELETE CASCADE,
    reopened_by   uuid NOT NULL REFERENCES users (id),
    reason        text NOT NULL CHECK (length(reason) BETWEEN 1 AND 5000),
    -- The decision as it stood, with who made it.
    decision      jsonb NOT NULL,
    reopened_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX reopenings_assessment_idx ON reopenings (assessment_id, reopened_at);

-- The queue: a case can be assigned to one reviewer; lead reviewers assign to others.
ALTER TABLE assessments ADD COLUMN assigned_to uuid REFERENCES users (id);
ALTER TABLE assessments ADD COLUMN assigned_at timestamptz;
CREATE INDEX assessments_assigned_idx ON assessments (assigned_to) WHERE assigned_to IS NOT NULL;
ALTER TABLE users ADD COLUMN lead_reviewer boolean NOT NULL DEFAULT false;

-- Reopenings are part of the record: the app may read and append only.
REVOKE UPDATE, DELETE ON reopenings FROM triage_app;
CREATE TRIGGER reopenings_immutable BEFORE UPDATE ON reopenings
    FOR EACH ROW EXECUTE FUNCTION refuse_change();
