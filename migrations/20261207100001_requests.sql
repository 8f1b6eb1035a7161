-- Issue 10, requests and answers: a return is a request with a thread. It may name the
-- question it is about; the officer answers it, and a returned case cannot be
-- resubmitted while one of its requests is unanswered.

ALTER TABLE returns ADD COLUMN question text CHECK (length(question) <= 100);
ALTER TABLE returns ADD COLUMN answered_at timestamptz;
-- Requests of cases already resubmitted or decided count as answered by that.
UPDATE returns r SET answered_at = a.submitted_at
FROM assessments a
WHERE a.id = r.assessment_id AND a.status <> 'returned';

CREATE TABLE request_messages (
    id         uuid PRIMARY KEY,
    return_id  uuid NOT NULL REFERENCES returns (id) ON DELETE CASCADE,
    author_id  uuid NOT NULL REFERENCES users (id),
    body       text NOT NULL CHECK (length(body) BETWEEN 1 AND 5000),
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX request_messages_return_idx ON request_messages (return_id, created_at);

-- Whatever path resubmits a case, the database refuses it while a request is open
-- (SQLSTATE TR001, shown as a 409 that says what to do).
CREATE FUNCTION refuse_unanswered_resubmission() RETURNS trigger AS $$
BEGIN
    IF OLD.status = 'returned' AND NEW.status = 'resubmitted' AND EXISTS (
        SELECT 1 FROM returns WHERE assessment_id = NEW.id AND answered_at IS NULL
    ) THEN
        RAISE EXCEPTION 'case % has an unanswered request', NEW.id USING ERRCODE = 'TR001';
    END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER assessments_requests_answered BEFORE UPDATE OF status ON assessments
    FOR EACH ROW EXECUTE FUNCTION refuse_unanswered_resubmission();
