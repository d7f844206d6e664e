-- The list's country and city filters compare in any case, like the attribute filter
-- and the search: `city=berlin` finds "Berlin". Both sides go through the database's
-- `lower()`; what is stored stays as written, for display. The location indexes hold
-- the lower-cased values in place of the columns, so a filter is still an index range
-- (they are otherwise as `2026-11-29-000006` made them).
DROP INDEX customers_country;
DROP INDEX customers_country_seen;
DROP INDEX customers_city_seen;
CREATE INDEX customers_country ON customers (workspace_id, lower(country), lower(city), last_seen_at, id);
CREATE INDEX customers_country_seen ON customers (workspace_id, lower(country), last_seen_at, archived_at, name, id);
CREATE INDEX customers_city_seen ON customers (workspace_id, lower(city), last_seen_at, archived_at, name, id);

-- Sorted by creation (either way), a page is walked in that order from an index too,
-- one that also holds what the status and last-seen filters read, so no row is looked
-- up to test them. At a million customers `country=DE&sort=created` sorted the
-- country's 50,000 rows for every page (0.3 s) and `status=active&sort=created&dir=asc`
-- looked rows up one by one until fifty were active (3 s); now a page takes about a
-- millisecond, and 0.1 s where matches are sparse at the start of the order (few of
-- the oldest customers are active), as it reads index entries only.
DROP INDEX customers_created;
CREATE INDEX customers_created ON customers (workspace_id, created_at, archived_at, last_seen_at, id);
CREATE INDEX customers_country_created ON customers (workspace_id, lower(country), created_at, archived_at, last_seen_at, id);
CREATE INDEX customers_city_created ON customers (workspace_id, lower(city), created_at, archived_at, last_seen_at, id);

-- The tallies count countries and cities by the same rule, so that a count agrees with
-- the rows listed: "Berlin", "BERLIN" and "berlin" are one city.
CREATE OR REPLACE FUNCTION erasure_customer_facets(c customers) RETURNS TABLE (facet TEXT, value TEXT)
LANGUAGE sql STABLE AS $$
    SELECT v.facet, v.value
    FROM (VALUES
        ('country', lower(c.country)),
        ('city', lower(c.city)),
        ('seen', to_char(c.last_seen_at, 'YYYY-MM-DD')),
        ('live', CASE WHEN c.archived_at IS NULL THEN to_char(c.last_seen_at, 'YYYY-MM-DD') END)
    ) AS v (facet, value)
    WHERE v.value IS NOT NULL
    UNION
    SELECT 'attr', length(lower(j.key)) || ':' || lower(j.key) || '=' || lower(j.value #>> '{}')
    FROM jsonb_each(erasure_attributes(c.attributes)) AS j
    WHERE jsonb_typeof(j.value) = 'string'
$$;

DELETE FROM customer_tallies WHERE facet IN ('country', 'city');
INSERT INTO customer_tallies (workspace_id, facet, value, n)
    SELECT c.workspace_id, f.facet, f.value, COUNT(*)
    FROM customers c, erasure_customer_facets(c) f
    WHERE f.facet IN ('country', 'city')
    GROUP BY c.workspace_id, f.facet, f.value;

-- The planner weighs indexes by their statistics; new ones have none until analyzed.
ANALYZE customers;
