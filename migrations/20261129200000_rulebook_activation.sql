-- The active rulebook is a fact in the database, not a setting of each app server: an
-- administrator activates a version (after simulating it over every stored case) and
-- every server picks it up by checking the newest activation.

-- Who stored a version: NULL for a built-in or configured rulebook recorded at start-up.
ALTER TABLE rulebooks ADD COLUMN uploaded_by uuid REFERENCES users (id);

-- A simulation of a candidate rulebook over every stored case, against the activation
-- that was current when it ran; activating from a stale simulation is refused.
CREATE TABLE rulebook_simulations (
    id                 bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    version            text NOT NULL REFERENCES rulebooks (version),
    against_activation bigint,
    run_by             uuid REFERENCES users (id),
    run_at             timestamptz NOT NULL DEFAULT now(),
    cases              integer NOT NULL,
    changed_colour     integer NOT NULL,
    report             jsonb NOT NULL
);

-- Every activation, newest last; the newest row is the active rulebook and its id the
-- revision each app server compares with the one it has loaded.
CREATE TABLE rulebook_activations (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    version       text NOT NULL REFERENCES rulebooks (version),
    -- NULL: the system, activating a built-in rulebook at start-up.
    activated_by  uuid REFERENCES users (id),
    simulation_id bigint REFERENCES rulebook_simulations (id),
    reason        text NOT NULL,
    activated_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX rulebook_activations_version_idx ON rulebook_activations (version);
ALTER TABLE rulebook_simulations ADD CONSTRAINT rulebook_simulations_against_fkey
    FOREIGN KEY (against_activation) REFERENCES rulebook_activations (id);

-- The history of activations is part of the record, like the audit log.
CREATE TRIGGER rulebook_activations_append_only BEFORE UPDATE OR DELETE ON rulebook_activations
    FOR EACH ROW EXECUTE FUNCTION refuse_change();
CREATE TRIGGER rulebook_simulations_immutable BEFORE UPDATE ON rulebook_simulations
    FOR EACH ROW EXECUTE FUNCTION refuse_change();

-- The versions page counts the assessments each version computed.
CREATE INDEX assessments_rulebook_version_idx ON assessments (rulebook_version);
