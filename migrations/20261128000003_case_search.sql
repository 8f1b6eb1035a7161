-- The reviewers' desk: full-text search and the indexes behind the case list,
-- the partner page and the dashboard.

-- The institution is copied onto each case so that lists filter and sort on one table.
ALTER TABLE assessments ADD COLUMN institution_id uuid REFERENCES institutions (id);
UPDATE assessments a SET institution_id = p.institution_id FROM projects p WHERE p.id = a.project_id;

-- Title, summary and lead researcher come from the project; partner and notes from the answers.
ALTER TABLE assessments ADD COLUMN search tsvector;
-- The project title too, so the list sorts and pages on this table alone.
ALTER TABLE assessments ADD COLUMN title text;

CREATE FUNCTION assessments_search_refresh() RETURNS trigger AS $$
DECLARE
    p projects%ROWTYPE;
BEGIN
    SELECT * INTO p FROM projects WHERE id = NEW.project_id;
    NEW.institution_id := p.institution_id;
    NEW.title := p.title;
    NEW.search :=
        setweight(to_tsvector('simple', coalesce(p.title, '') || ' ' || coalesce(p.acronym, '')), 'A') ||
        setweight(to_tsvector('simple', coalesce(NEW.partner_name, '') || ' ' || coalesce(NEW.register_entry, '')), 'A') ||
        setweight(to_tsvector('simple', coalesce(p.summary, '') || ' ' || coalesce(p.lead_researcher, '')), 'B') ||
        setweight(to_tsvector('simple', coalesce(NEW.answers ->> 'benefit_notes', '')), 'C');
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER assessments_search BEFORE INSERT OR UPDATE OF answers, partner_name, register_entry, project_id
    ON assessments FOR EACH ROW EXECUTE FUNCTION assessments_search_refresh();
UPDATE assessments SET partner_name = partner_name;

CREATE INDEX assessments_search_idx ON assessments USING gin (search);
-- Keyset pagination: newest activity first, for reviewers (never drafts) and per institution.
CREATE INDEX assessments_reviewer_list_idx ON assessments (updated_at DESC, id DESC) WHERE status <> 'draft';
CREATE INDEX assessments_institution_list_idx ON assessments (institution_id, updated_at DESC, id DESC);
CREATE INDEX assessments_partner_idx ON assessments (register_entry);
CREATE INDEX assessments_partner_name_idx ON assessments (partner_normalised);
CREATE INDEX assessments_area_idx ON assessments (area_code, verdict);
-- The reviewers' most common view: one area and one verdict, newest first, in index order.
CREATE INDEX assessments_area_verdict_list_idx ON assessments (area_code, verdict, updated_at DESC, id DESC)
    WHERE status <> 'draft';
CREATE INDEX assessments_title_idx ON assessments (title, id) WHERE status <> 'draft';
-- The dashboard reads these columns only, so one index-only scan serves all its figures.
CREATE INDEX assessments_dashboard_idx ON assessments (status, area_code, verdict, submitted_at, institution_id);
CREATE INDEX comments_finding_idx ON comments (assessment_id, finding_code);
