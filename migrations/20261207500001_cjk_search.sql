-- Chinese text has no spaces between words: the full-text parser keeps a run such as
-- 清华大学物理系 as one word, so a search for 清华 found nothing. The case index also
-- holds every run of Chinese characters as overlapping pairs (清华 华大 大学 …) and as
-- single characters; the app turns a query's Chinese runs into phrases of the same pairs
-- (src/domain/search.rs).

-- The overlapping pairs of each run of two or more Chinese characters, in order.
CREATE FUNCTION cjk_pairs(t text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT coalesce(string_agg(substr(r.m[1], s.i, 2), ' ' ORDER BY r.n, s.i), '')
    FROM regexp_matches(coalesce(t, ''), '[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]{2,}', 'g')
         WITH ORDINALITY AS r(m, n)
    CROSS JOIN LATERAL generate_series(1, char_length(r.m[1]) - 1) AS s(i)
$$;

-- Every Chinese character on its own, for a search of one character.
CREATE FUNCTION cjk_chars(t text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT coalesce(string_agg(r.m[1], ' ' ORDER BY r.n), '')
    FROM regexp_matches(coalesce(t, ''), '[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]', 'g')
         WITH ORDINALITY AS r(m, n)
$$;

-- Words, Chinese pairs and Chinese characters of a text, with one weight.
CREATE FUNCTION case_search_part(t text, w "char") RETURNS tsvector
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT setweight(to_tsvector('simple', coalesce(t, '')), w)
        || setweight(to_tsvector('simple', cjk_pairs(t)), w)
        || setweight(to_tsvector('simple', cjk_chars(t)), w)
$$;

CREATE OR REPLACE FUNCTION assessments_search_refresh() RETURNS trigger AS $$
DECLARE
    p projects%ROWTYPE;
BEGIN
    SELECT * INTO p FROM projects WHERE id = NEW.project_id;
    NEW.institution_id := p.institution_id;
    NEW.title := p.title;
    NEW.search :=
        case_search_part(coalesce(p.title, '') || ' ' || coalesce(p.acronym, ''), 'A') ||
        case_search_part(coalesce(NEW.partner_name, '') || ' ' || coalesce(NEW.register_entry, ''), 'A') ||
        case_search_part(coalesce(p.summary, '') || ' ' || coalesce(p.lead_researcher, ''), 'B') ||
        case_search_part(NEW.answers ->> 'benefit_notes', 'C');
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;

UPDATE assessments SET partner_name = partner_name;
