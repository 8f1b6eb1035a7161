-- The status of each ticked mitigation of a case: done (with a note saying where the
-- evidence is, or a file attached to the mitigation) or planned (with an owner, an
-- officer of the case's institution, and a due date). A planned mitigation still
-- resolves the findings it addresses, provisionally: the case page and the report say so.
CREATE TABLE mitigation_status (
    assessment_id uuid NOT NULL REFERENCES assessments (id) ON DELETE CASCADE,
    code          text NOT NULL CHECK (length(code) BETWEEN 1 AND 100),
    status        text NOT NULL CHECK (status IN ('done', 'planned')),
    note          text NOT NULL DEFAULT '' CHECK (length(note) <= 2000),
    owner_id      uuid REFERENCES users (id),
    due_on        date,
    updated_by    uuid NOT NULL REFERENCES users (id),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (assessment_id, code),
    CHECK ((status = 'planned') = (owner_id IS NOT NULL AND due_on IS NOT NULL))
);
