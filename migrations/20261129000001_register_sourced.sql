-- The partner register as sourced data: entries from several lists (triage's curated
-- register, the US Consolidated Screening List, OpenSanctions), each stored whole as
-- JSON (names with their kind, parent, flags with their own source and date), a
-- history of every change, uploads waiting for review, screening decisions made on
-- cases, and the re-screening of cases when the register changes.

-- Every change of the register (an import of one list, or an edit) is a revision.
ALTER TABLE register_imports ADD COLUMN list text NOT NULL DEFAULT 'curated'
    CHECK (list IN ('curated', 'us_csl', 'opensanctions'));
ALTER TABLE register_imports ADD COLUMN change text NOT NULL DEFAULT 'import'
    CHECK (change IN ('import', 'edit'));
ALTER TABLE register_imports ADD COLUMN changed_by text;
-- A hash of the file, so the built-in register is re-imported only when it changed.
ALTER TABLE register_imports ADD COLUMN content_hash text;
-- Counts of entries added, changed and removed.
ALTER TABLE register_imports ADD COLUMN summary jsonb NOT NULL DEFAULT '{}';

CREATE TABLE register_entries_v2 (
    id       text PRIMARY KEY CHECK (length(id) BETWEEN 1 AND 200),
    list     text NOT NULL CHECK (list IN ('curated', 'us_csl', 'opensanctions')),
    name     text NOT NULL,
    data     jsonb NOT NULL,
    -- The revision that last changed it.
    revision bigint NOT NULL REFERENCES register_imports (id),
    position integer NOT NULL
);
CREATE INDEX register_entries_list_idx ON register_entries_v2 (list, position);

-- Entries of the first schema become curated entries; their one source and date
-- become the source and date of each of their flags.
INSERT INTO register_imports (file_name, entries, list, change, changed_by, summary)
SELECT 'converted from the first register schema', count(*), 'curated', 'import', 'migration', '{}'
FROM register_entries HAVING count(*) > 0;

INSERT INTO register_entries_v2 (id, list, name, data, revision, position)
SELECT slug, 'curated', e.name,
       jsonb_build_object(
           'id', slug,
           'list', 'curated',
           'name', e.name,
           'names', coalesce((SELECT jsonb_agg(jsonb_build_object(
                        'name', a,
                        'kind', CASE WHEN a ~ '[\u4e00-\u9fff]' THEN 'chinese'
                                     WHEN a ~ '^[A-Z0-9]{2,10}$' THEN 'abbreviation'
                                     ELSE 'alias' END))
                      FROM unnest(e.aliases) AS a), '[]'::jsonb),
           'kind', e.kind,
           'city', e.city,
           'province', e.province,
           'country', '',
           'flags', coalesce((SELECT jsonb_agg(jsonb_build_object(
                        'flag', f,
                        'source', CASE WHEN e.source = '' THEN 'not stated' ELSE e.source END,
                        'url', '',
                        'date', CASE WHEN e.as_of ~ '^[0-9]{4}(-[0-9]{2}){0,2}$' THEN e.as_of ELSE '' END,
                        'detail', e.note))
                      FROM unnest(e.flags) AS f), '[]'::jsonb),
           'note', e.note),
       (SELECT max(id) FROM register_imports),
       e.position
FROM (
    SELECT r.*, coalesce(nullif(trim(both '-' FROM lower(regexp_replace(r.name, '[^A-Za-z0-9]+', '-', 'g'))), ''),
                         'entry-' || r.id::text) || CASE WHEN count(*) OVER (PARTITION BY lower(regexp_replace(r.name, '[^A-Za-z0-9]+', '-', 'g'))) > 1
                                                         THEN '-' || r.id::text ELSE '' END AS slug
    FROM register_entries r
) e;

DROP TABLE register_entries;
ALTER TABLE register_entries_v2 RENAME TO register_entries;
ALTER INDEX register_entries_v2_pkey RENAME TO register_entries_pkey;

-- What every revision changed, entry by entry.
CREATE TABLE register_history (
    id        bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    revision  bigint NOT NULL REFERENCES register_imports (id),
    entry_id  text NOT NULL,
    change    text NOT NULL CHECK (change IN ('added', 'changed', 'removed')),
    before    jsonb,
    after     jsonb
);
CREATE INDEX register_history_entry_idx ON register_history (entry_id, revision);
CREATE TRIGGER register_history_append_only BEFORE UPDATE OR DELETE ON register_history
    FOR EACH ROW EXECUTE FUNCTION refuse_change();

-- A file uploaded by an administrator, kept until it is published or discarded.
CREATE TABLE register_uploads (
    id            uuid PRIMARY KEY,
    file_name     text NOT NULL,
    content       bytea NOT NULL,
    -- The register revision the preview was computed against: publishing after another
    -- change is refused.
    base_revision bigint,
    uploaded_by   uuid NOT NULL REFERENCES users (id),
    uploaded_at   timestamptz NOT NULL DEFAULT now()
);

-- Cases are grouped by register entry, not by spelling.
ALTER TABLE assessments ADD COLUMN register_entry_id text;
UPDATE assessments a SET register_entry_id = r.id
FROM register_entries r WHERE r.name = a.register_entry;
CREATE INDEX assessments_register_entry_id_idx ON assessments (register_entry_id);
-- A short summary of the screening the stored evaluation used (outcome, entries,
-- flags), compared with a fresh screening when the register changes.
ALTER TABLE assessments ADD COLUMN screening_key text;
-- The newest screening when it differs from the stored evaluation's, and whether a
-- reviewer has still to acknowledge the change.
ALTER TABLE assessments ADD COLUMN screening jsonb;
ALTER TABLE assessments ADD COLUMN screening_changed boolean NOT NULL DEFAULT false;
CREATE INDEX assessments_screening_changed_idx ON assessments (updated_at DESC, id DESC)
    WHERE screening_changed;

-- What a person said about a register entry found for a case's partner: the officer
-- answers a possible match ("same" or "different"); a reviewer may dismiss a match
-- with a reason. It holds for that case and that entry.
CREATE TABLE partner_identity (
    assessment_id uuid NOT NULL REFERENCES assessments (id) ON DELETE CASCADE,
    entry_id      text NOT NULL,
    decision      text NOT NULL CHECK (decision IN ('same', 'different', 'dismissed')),
    reason        text NOT NULL DEFAULT '' CHECK (length(reason) <= 5000),
    decided_by    uuid NOT NULL REFERENCES users (id),
    decided_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (assessment_id, entry_id),
    CONSTRAINT dismissal_is_justified CHECK (decision <> 'dismissed' OR length(trim(reason)) > 0)
);

-- Re-screening after a register change: one job per revision, carried out by one app
-- server at a time (rows are claimed with SKIP LOCKED; a stale claim is taken over).
CREATE TABLE rescreen_jobs (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    revision     bigint NOT NULL REFERENCES register_imports (id),
    status       text NOT NULL DEFAULT 'queued' CHECK (status IN ('queued', 'running', 'done', 'superseded', 'failed')),
    total        integer NOT NULL DEFAULT 0,
    done         integer NOT NULL DEFAULT 0,
    changed      integer NOT NULL DEFAULT 0,
    claimed_by   text,
    heartbeat_at timestamptz,
    requested_at timestamptz NOT NULL DEFAULT now(),
    started_at   timestamptz,
    finished_at  timestamptz,
    error        text
);
CREATE INDEX rescreen_jobs_status_idx ON rescreen_jobs (status, id);

-- A case whose screening result changed after it was submitted or decided.
CREATE TABLE screening_events (
    id              uuid PRIMARY KEY,
    assessment_id   uuid NOT NULL REFERENCES assessments (id) ON DELETE CASCADE,
    revision        bigint NOT NULL REFERENCES register_imports (id),
    at              timestamptz NOT NULL DEFAULT now(),
    summary         text NOT NULL,
    before_key      text,
    after_key       text NOT NULL,
    -- The register matches before and after, as the verdict engine sees them.
    after_hits      jsonb NOT NULL DEFAULT '[]',
    verdict_before  text NOT NULL CHECK (verdict_before IN ('green', 'orange', 'red')),
    verdict_after   text NOT NULL CHECK (verdict_after IN ('green', 'orange', 'red')),
    acknowledged_by uuid REFERENCES users (id),
    acknowledged_at timestamptz,
    note            text
);
CREATE INDEX screening_events_assessment_idx ON screening_events (assessment_id, at);
