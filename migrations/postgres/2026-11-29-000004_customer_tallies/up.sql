-- How many customers of a workspace have each country, each city and each last-seen
-- day (all of them, and those not archived), so that the list's count for one of these
-- filters sums a few rows instead of walking an index range over hundreds of
-- thousands of customers on every request.
--
-- Facets: 'country' and 'city' (the value as stored), 'seen' (the UTC day of
-- last_seen_at, YYYY-MM-DD, every customer), 'live' (the same day, customers not
-- archived) and 'attr' (each top-level string attribute, as the length of its
-- lower-cased key, ':', that key, '=', its lower-cased value: the length keeps a key
-- holding '=' apart from a value holding it).
--
-- Unlike SQLite, where one writer at a time upserts one row per key, here the
-- triggers only append signed deltas: upserting shared rows (today's 'seen' row is
-- touched by nearly every Track API call) would make concurrent writers queue on row
-- locks and, across statements taken in different orders, deadlock. Readers sum all
-- rows of a key; the server folds them together every few seconds
-- (`store::tallies::compact`).
CREATE TABLE customer_tallies (
    workspace_id BIGINT NOT NULL,
    facet TEXT NOT NULL,
    value TEXT NOT NULL,
    n BIGINT NOT NULL
);
CREATE INDEX customer_tallies_key ON customer_tallies (workspace_id, facet, value) INCLUDE (n);

-- The attributes as jsonb, or an empty object for text jsonb refuses (an escaped NUL,
-- `\u0000`, is valid JSON but not a valid jsonb string): a customer stored with one
-- must still be countable, listable and deletable.
CREATE FUNCTION erasure_attributes(attributes TEXT) RETURNS jsonb
LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
    RETURN attributes::jsonb;
EXCEPTION WHEN others THEN
    RETURN '{}'::jsonb;
END $$;

-- The tallied keys of one customer row.
CREATE FUNCTION erasure_customer_facets(c customers) RETURNS TABLE (facet TEXT, value TEXT)
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

INSERT INTO customer_tallies (workspace_id, facet, value, n)
    SELECT c.workspace_id, f.facet, f.value, COUNT(*)
    FROM customers c, erasure_customer_facets(c) f
    GROUP BY c.workspace_id, f.facet, f.value;

CREATE FUNCTION erasure_customers_tallied_in() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO customer_tallies (workspace_id, facet, value, n)
        SELECT c.workspace_id, f.facet, f.value, COUNT(*)
        FROM inserted c, erasure_customer_facets(c) f
        GROUP BY c.workspace_id, f.facet, f.value;
    RETURN NULL;
END $$;
CREATE TRIGGER customers_tallied_in AFTER INSERT ON customers
    REFERENCING NEW TABLE AS inserted FOR EACH STATEMENT EXECUTE FUNCTION erasure_customers_tallied_in();

CREATE FUNCTION erasure_customers_tallied_out() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO customer_tallies (workspace_id, facet, value, n)
        SELECT c.workspace_id, f.facet, f.value, -COUNT(*)
        FROM deleted c, erasure_customer_facets(c) f
        GROUP BY c.workspace_id, f.facet, f.value;
    RETURN NULL;
END $$;
CREATE TRIGGER customers_tallied_out AFTER DELETE ON customers
    REFERENCING OLD TABLE AS deleted FOR EACH STATEMENT EXECUTE FUNCTION erasure_customers_tallied_out();

-- Most updates change no tally (a name, or a last-seen time within the same day):
-- the deltas cancel out and nothing is written.
CREATE FUNCTION erasure_customers_tallied_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO customer_tallies (workspace_id, facet, value, n)
        SELECT d.workspace_id, d.facet, d.value, SUM(d.n)
        FROM (
            SELECT c.workspace_id, f.facet, f.value, 1 AS n FROM after_rows c, erasure_customer_facets(c) f
            UNION ALL
            SELECT c.workspace_id, f.facet, f.value, -1 FROM before_rows c, erasure_customer_facets(c) f
        ) d
        GROUP BY d.workspace_id, d.facet, d.value
        HAVING SUM(d.n) <> 0;
    RETURN NULL;
END $$;
CREATE TRIGGER customers_tallied_changed AFTER UPDATE ON customers
    REFERENCING OLD TABLE AS before_rows NEW TABLE AS after_rows
    FOR EACH STATEMENT EXECUTE FUNCTION erasure_customers_tallied_changed();

-- The attribute filter first matches `lower(attributes) LIKE '%"key":"value"%'`. Without
-- statistics on that expression PostgreSQL guesses that a handful of rows match, reads
-- the whole table and sorts, where walking the last-seen index finds a common value's
-- first page at once (3.5 s against 7 ms at a million customers).
CREATE STATISTICS customers_attributes_lowered ON (lower(attributes)) FROM customers;

-- customers_archived (workspace_id, archived_at) is a prefix of customers_status and
-- only cost every write an index update.
DROP INDEX customers_archived;
