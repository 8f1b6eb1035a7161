-- The reviewers' case list at 100,000 cases: an index for each filter that pages in the
-- list's order (latest activity first), so that a page and its capped count read a few
-- hundred index entries whatever the number of cases, instead of walking the whole
-- list and filtering. Reviewers never see drafts, hence the predicate.
CREATE INDEX assessments_list_verdict_idx ON assessments (verdict, updated_at DESC, id DESC)
    WHERE status <> 'draft';
CREATE INDEX assessments_list_final_verdict_idx ON assessments (final_verdict, updated_at DESC, id DESC)
    WHERE status <> 'draft';
CREATE INDEX assessments_list_area_idx ON assessments (area_code, updated_at DESC, id DESC)
    WHERE status <> 'draft';
CREATE INDEX assessments_list_sub_area_idx ON assessments (sub_area_code, updated_at DESC, id DESC)
    WHERE status <> 'draft';
CREATE INDEX assessments_list_status_idx ON assessments (status, updated_at DESC, id DESC);
-- The date filter reads the latest submission, or the last change of a draft.
CREATE INDEX assessments_list_date_idx ON assessments ((coalesce(submitted_at, updated_at)));
-- The partner filter: cases under a register entry, newest first, and by typed name.
CREATE INDEX assessments_list_partner_entry_idx ON assessments (register_entry_id, updated_at DESC, id DESC)
    WHERE status <> 'draft';
CREATE INDEX assessments_list_partner_name_idx ON assessments (partner_normalised, updated_at DESC, id DESC)
    WHERE status <> 'draft';
