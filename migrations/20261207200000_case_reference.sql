-- Issue 10: every case gets a human reference, TRI-<year>-<number>: the year the case
-- was created (UTC) and a sequence that restarts each year, at least four digits. The
-- database assigns it on insert, so two officers creating cases at once never get the
-- same one; it never changes afterwards.

CREATE TABLE case_reference_counters (
    year integer PRIMARY KEY,
    last integer NOT NULL CHECK (last >= 0)
);

ALTER TABLE assessments ADD COLUMN reference text;

-- Existing cases, numbered per year in order of creation.
WITH numbered AS (
    SELECT id,
           extract(year FROM created_at AT TIME ZONE 'UTC')::integer AS y,
           row_number() OVER (PARTITION BY extract(year FROM created_at AT TIME ZONE 'UTC')
                              ORDER BY created_at, id)::integer AS n
    FROM assessments
)
UPDATE assessments a
SET reference = 'TRI-' || numbered.y || '-' ||
                CASE WHEN numbered.n < 10000 THEN lpad(numbered.n::text, 4, '0') ELSE numbered.n::text END
FROM numbered WHERE numbered.id = a.id;

INSERT INTO case_reference_counters (year, last)
SELECT extract(year FROM created_at AT TIME ZONE 'UTC')::integer, count(*)
FROM assessments GROUP BY 1;

ALTER TABLE assessments ALTER COLUMN reference SET NOT NULL;
ALTER TABLE assessments ADD CONSTRAINT assessments_reference_key UNIQUE (reference);
ALTER TABLE assessments ADD CONSTRAINT assessments_reference_format
    CHECK (reference ~ '^TRI-[0-9]{4}-[0-9]{4,}$');

CREATE FUNCTION assessments_assign_reference() RETURNS trigger AS $$
DECLARE
    y integer;
    n integer;
BEGIN
    IF TG_OP = 'UPDATE' THEN
        IF NEW.reference IS DISTINCT FROM OLD.reference THEN
            RAISE EXCEPTION 'the reference of a case never changes';
        END IF;
        RETURN NEW;
    END IF;
    y := extract(year FROM coalesce(NEW.created_at, now()) AT TIME ZONE 'UTC')::integer;
    -- The counter row is locked until the transaction ends: references of one year are
    -- handed out one at a time, without gaps unless a transaction rolls back.
    INSERT INTO case_reference_counters AS c (year, last) VALUES (y, 1)
    ON CONFLICT (year) DO UPDATE SET last = c.last + 1
    RETURNING last INTO n;
    NEW.reference := 'TRI-' || y || '-' ||
                     CASE WHEN n < 10000 THEN lpad(n::text, 4, '0') ELSE n::text END;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER assessments_reference BEFORE INSERT OR UPDATE OF reference ON assessments
    FOR EACH ROW EXECUTE FUNCTION assessments_assign_reference();
