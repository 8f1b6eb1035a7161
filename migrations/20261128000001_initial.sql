-- The first schema of triage: rulebook versions, areas, the partner register,
-- projects and their assessments.

CREATE FUNCTION set_updated_at() RETURNS trigger AS $$
BEGIN
    NEW.updated_at := now();
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;

-- Every rulebook version that has ever computed a verdict, with its full text,
-- so an old assessment can be re-evaluated exactly as it was.
CREATE TABLE rulebooks (
    version      text PRIMARY KEY,
    name         text NOT NULL,
    title        text NOT NULL,
    content_hash text NOT NULL,
    source_text  text NOT NULL,
    first_loaded_at timestamptz NOT NULL DEFAULT now()
);

-- Areas and sub-areas of the active rulebook, for filtering and reporting in SQL.
CREATE TABLE areas (
    code     text PRIMARY KEY,
    name     text NOT NULL,
    colour   text NOT NULL CHECK (colour IN ('green', 'orange', 'red')),
    position integer NOT NULL
);

CREATE TABLE sub_areas (
    code      text PRIMARY KEY,
    area_code text NOT NULL REFERENCES areas (code) ON UPDATE CASCADE,
    name      text NOT NULL,
    colour    text NOT NULL CHECK (colour IN ('green', 'orange', 'red')),
    dual_use  boolean NOT NULL,
    position  integer NOT NULL
);

CREATE TABLE register_entries (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name            text NOT NULL UNIQUE,
    normalised_name text NOT NULL,
    aliases         text[] NOT NULL DEFAULT '{}',
    city            text NOT NULL DEFAULT '',
    province        text NOT NULL DEFAULT '',
    kind            text NOT NULL,
    flags           text[] NOT NULL DEFAULT '{}',
    note            text NOT NULL DEFAULT '',
    source          text NOT NULL DEFAULT '',
    as_of           text NOT NULL DEFAULT '',
    position        integer NOT NULL
);

-- One row per import; the newest id is the register's revision, which lets every
-- app server notice an import made by another one.
CREATE TABLE register_imports (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    file_name   text NOT NULL,
    entries     integer NOT NULL,
    imported_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE projects (
    id                uuid PRIMARY KEY,
    title             text NOT NULL CHECK (length(title) BETWEEN 1 AND 200),
    acronym           text,
    summary           text NOT NULL DEFAULT '',
    lead_researcher   text NOT NULL,
    department        text,
    planned_start     date,
    duration_months   integer CHECK (duration_months BETWEEN 1 AND 240),
    funding_programme text,
    created_at        timestamptz NOT NULL DEFAULT now(),
    updated_at        timestamptz NOT NULL DEFAULT now()
);
CREATE TRIGGER projects_updated_at BEFORE UPDATE ON projects
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();

CREATE TABLE assessments (
    id               uuid PRIMARY KEY,
    project_id       uuid NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    status           text NOT NULL DEFAULT 'draft' CHECK (status IN ('draft', 'submitted')),
    answers          jsonb NOT NULL DEFAULT '{}',
    -- The last step the officer saved, to resume where they left off.
    current_step     integer NOT NULL DEFAULT 1,
    rulebook_version text NOT NULL REFERENCES rulebooks (version),
    evaluation       jsonb NOT NULL,
    -- Copied out of the evaluation and answers for lists and filters.
    verdict          text NOT NULL CHECK (verdict IN ('green', 'orange', 'red')),
    baseline         text NOT NULL CHECK (baseline IN ('green', 'orange', 'red')),
    area_code        text,
    sub_area_code    text,
    partner_name     text,
    partner_normalised text,
    register_entry   text,
    -- Optimistic concurrency: every save must name the version it started from.
    lock_version     integer NOT NULL DEFAULT 1,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    submitted_at     timestamptz
);
CREATE INDEX assessments_project_idx ON assessments (project_id, created_at);
CREATE TRIGGER assessments_updated_at BEFORE UPDATE ON assessments
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();
