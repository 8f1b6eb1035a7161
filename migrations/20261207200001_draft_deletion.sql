-- Issue 10: an officer may delete a draft. The row stays (soft delete) and the audit log
-- records who deleted it and when; every list and page leaves deleted drafts out. Only
-- drafts can be deleted: a submitted case belongs to the record.
ALTER TABLE assessments ADD COLUMN deleted_at timestamptz;
ALTER TABLE assessments ADD CONSTRAINT assessments_only_drafts_deleted
    CHECK (deleted_at IS NULL OR status = 'draft');

-- Project details can be edited until the project's first submission; a stale form is
-- refused (409) by this counter.
ALTER TABLE projects ADD COLUMN lock_version integer NOT NULL DEFAULT 1;

-- The officer's declaration at submission: who declared, when (one row per submission).
ALTER TABLE submissions ADD COLUMN declared_at timestamptz;
