DROP INDEX customers_city_created;
DROP INDEX customers_country_created;
DROP INDEX customers_created;
CREATE INDEX customers_created ON customers (workspace_id, created_at, id);
DROP INDEX customers_country;
DROP INDEX customers_country_seen;
DROP INDEX customers_city_seen;
CREATE INDEX customers_country ON customers (workspace_id, country, city, last_seen_at, id);
CREATE INDEX customers_country_seen ON customers (workspace_id, country, last_seen_at, archived_at, name, id);
CREATE INDEX customers_city_seen ON customers (workspace_id, city, last_seen_at, archived_at, name, id);

CREATE OR REPLACE FUNCTION erasure_customer_facets(c customers) RETURNS TABLE (facet TEXT, value TEXT)
LANGUAGE sql STABLE AS $$
    SELECT v.facet, v.value
    FROM (VALUES
        ('country', c.country),
        ('city', c.city),
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
