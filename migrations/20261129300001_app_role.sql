-- The app connects as a role that owns nothing: `triage_app` (a group role; the login
-- role the app uses is made a member of it, see the README). Migrations run as the
-- owner of the database. The app may read and change the working tables, but only
-- insert into the record: the audit log, submission snapshots, the register history and
-- rulebook activations (their triggers refuse changes from anyone, the owner included).

-- The session table, created here (by the owner) rather than by the app at start-up.
CREATE SCHEMA IF NOT EXISTS tower_sessions;
CREATE TABLE IF NOT EXISTS tower_sessions.session (
    id          text PRIMARY KEY NOT NULL,
    data        bytea NOT NULL,
    expiry_date timestamptz NOT NULL
);

-- Roles belong to the whole cluster: another database (or a concurrent migration) may
-- have created it already. Creating it needs CREATEROLE; an administrator may create it
-- beforehand instead.
DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'triage_app') THEN
        BEGIN
            CREATE ROLE triage_app NOLOGIN;
        EXCEPTION WHEN duplicate_object OR unique_violation THEN
            NULL;
        END;
    END IF;
END
$$;

-- Only the owner creates objects (PostgreSQL 15 and later already refuse others; on
-- older servers this needs the owner of the schema and is otherwise a warning).
REVOKE CREATE ON SCHEMA public FROM PUBLIC;
GRANT USAGE ON SCHEMA public, tower_sessions TO triage_app;
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO triage_app;
GRANT SELECT, INSERT, UPDATE, DELETE ON tower_sessions.session TO triage_app;
GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO triage_app;
-- The record: read and append only.
REVOKE UPDATE, DELETE ON audit_log, submissions, register_history, rulebook_activations
    FROM triage_app;
-- The app checks that migrations are applied; it never applies them.
REVOKE INSERT, UPDATE, DELETE ON _sqlx_migrations FROM triage_app;
-- Tables of later migrations get the same working rights; a later migration that adds
-- a table of the record revokes UPDATE and DELETE on it, as above.
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO triage_app;
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT USAGE, SELECT ON SEQUENCES TO triage_app;
