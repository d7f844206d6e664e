-- How many customers of a workspace have each country, each city and each last-seen
-- day (all of them, and those not archived), kept exact by triggers in the same
-- transaction as every insert, update and delete. The list's count for one of these
-- filters then sums a few rows (a status or a date range: one row per day) instead of
-- walking an index range over hundreds of thousands of customers on every request.
--
-- Facets: 'country' and 'city' (the value as stored), 'seen' (the UTC day of
-- last_seen_at, YYYY-MM-DD, every customer), 'live' (the same day, customers not
-- archived) and 'attr' (each top-level string attribute, as the length of its
-- lower-cased key, ':', that key, '=', its lower-cased value: the length keeps a key
-- holding '=' apart from a value holding it). Rows whose count fell to zero are
-- pruned after erasures.
CREATE TABLE customer_tallies (
    workspace_id BIGINT NOT NULL,
    facet TEXT NOT NULL,
    value TEXT NOT NULL,
    n BIGINT NOT NULL,
    PRIMARY KEY (workspace_id, facet, value)
) WITHOUT ROWID;

INSERT INTO customer_tallies (workspace_id, facet, value, n)
    SELECT workspace_id, 'country', country, COUNT(*) FROM customers
    WHERE country IS NOT NULL GROUP BY workspace_id, country;
INSERT INTO customer_tallies (workspace_id, facet, value, n)
    SELECT workspace_id, 'city', city, COUNT(*) FROM customers
    WHERE city IS NOT NULL GROUP BY workspace_id, city;
INSERT INTO customer_tallies (workspace_id, facet, value, n)
    SELECT workspace_id, 'seen', substr(last_seen_at, 1, 10), COUNT(*) FROM customers
    GROUP BY workspace_id, substr(last_seen_at, 1, 10);
INSERT INTO customer_tallies (workspace_id, facet, value, n)
    SELECT workspace_id, 'live', substr(last_seen_at, 1, 10), COUNT(*) FROM customers
    WHERE archived_at IS NULL GROUP BY workspace_id, substr(last_seen_at, 1, 10);

INSERT INTO customer_tallies (workspace_id, facet, value, n)
    SELECT workspace_id, 'attr', value, COUNT(*) FROM (
        SELECT DISTINCT c.id, c.workspace_id,
            length(lower(j.key)) || ':' || lower(j.key) || '=' || lower(j.value) AS value
        FROM customers AS c,
             json_each(CASE WHEN json_valid(c.attributes) THEN c.attributes ELSE '{}' END) AS j
        WHERE j.type = 'text'
    ) GROUP BY workspace_id, value;

-- `WHERE` on each INSERT … SELECT: a NULL country or city is not tallied, and SQLite
-- needs a WHERE before ON CONFLICT in this form to parse it.
CREATE TRIGGER customers_tallied_in AFTER INSERT ON customers BEGIN
    INSERT INTO customer_tallies (workspace_id, facet, value, n)
        SELECT NEW.workspace_id, 'country', NEW.country, 1 WHERE NEW.country IS NOT NULL
        ON CONFLICT (workspace_id, facet, value) DO UPDATE SET n = n + 1;
    INSERT INTO customer_tallies (workspace_id, facet, value, n)
        SELECT NEW.workspace_id, 'city', NEW.city, 1 WHERE NEW.city IS NOT NULL
        ON CONFLICT (workspace_id, facet, value) DO UPDATE SET n = n + 1;
    INSERT INTO customer_tallies (workspace_id, facet, value, n)
        SELECT NEW.workspace_id, 'seen', substr(NEW.last_seen_at, 1, 10), 1 WHERE 1
        ON CONFLICT (workspace_id, facet, value) DO UPDATE SET n = n + 1;
    INSERT INTO customer_tallies (workspace_id, facet, value, n)
        SELECT NEW.workspace_id, 'live', substr(NEW.last_seen_at, 1, 10), 1 WHERE NEW.archived_at IS NULL
        ON CONFLICT (workspace_id, facet, value) DO UPDATE SET n = n + 1;
    INSERT INTO customer_tallies (workspace_id, facet, value, n)
        SELECT DISTINCT NEW.workspace_id, 'attr', length(lower(j.key)) || ':' || lower(j.key) || '=' || lower(j.value), 1
        FROM json_each(CASE WHEN json_valid(NEW.attributes) THEN NEW.attributes ELSE '{}' END) AS j
        WHERE j.type = 'text'
        ON CONFLICT (workspace_id, facet, value) DO UPDATE SET n = n + 1;
END;

CREATE TRIGGER customers_tallied_out AFTER DELETE ON customers BEGIN
    UPDATE customer_tallies SET n = n - 1
        WHERE workspace_id = OLD.workspace_id AND facet = 'country' AND value = OLD.country;
    UPDATE customer_tallies SET n = n - 1
        WHERE workspace_id = OLD.workspace_id AND facet = 'city' AND value = OLD.city;
    UPDATE customer_tallies SET n = n - 1
        WHERE workspace_id = OLD.workspace_id AND facet = 'seen' AND value = substr(OLD.last_seen_at, 1, 10);
    UPDATE customer_tallies SET n = n - 1
        WHERE OLD.archived_at IS NULL
          AND workspace_id = OLD.workspace_id AND facet = 'live' AND value = substr(OLD.last_seen_at, 1, 10);
    UPDATE customer_tallies SET n = n - 1
        WHERE workspace_id = OLD.workspace_id AND facet = 'attr' AND value IN (
            SELECT length(lower(j.key)) || ':' || lower(j.key) || '=' || lower(j.value)
            FROM json_each(CASE WHEN json_valid(OLD.attributes) THEN OLD.attributes ELSE '{}' END) AS j
            WHERE j.type = 'text');
END;

CREATE TRIGGER customers_tallied_country AFTER UPDATE OF country ON customers
WHEN OLD.country IS NOT NEW.country BEGIN
    UPDATE customer_tallies SET n = n - 1
        WHERE workspace_id = OLD.workspace_id AND facet = 'country' AND value = OLD.country;
    INSERT INTO customer_tallies (workspace_id, facet, value, n)
        SELECT NEW.workspace_id, 'country', NEW.country, 1 WHERE NEW.country IS NOT NULL
        ON CONFLICT (workspace_id, facet, value) DO UPDATE SET n = n + 1;
END;

CREATE TRIGGER customers_tallied_city AFTER UPDATE OF city ON customers
WHEN OLD.city IS NOT NEW.city BEGIN
    UPDATE customer_tallies SET n = n - 1
        WHERE workspace_id = OLD.workspace_id AND facet = 'city' AND value = OLD.city;
    INSERT INTO customer_tallies (workspace_id, facet, value, n)
        SELECT NEW.workspace_id, 'city', NEW.city, 1 WHERE NEW.city IS NOT NULL
        ON CONFLICT (workspace_id, facet, value) DO UPDATE SET n = n + 1;
END;

CREATE TRIGGER customers_tallied_attributes AFTER UPDATE OF attributes ON customers
WHEN OLD.attributes IS NOT NEW.attributes BEGIN
    UPDATE customer_tallies SET n = n - 1
        WHERE workspace_id = OLD.workspace_id AND facet = 'attr' AND value IN (
            SELECT length(lower(j.key)) || ':' || lower(j.key) || '=' || lower(j.value)
            FROM json_each(CASE WHEN json_valid(OLD.attributes) THEN OLD.attributes ELSE '{}' END) AS j
            WHERE j.type = 'text');
    INSERT INTO customer_tallies (workspace_id, facet, value, n)
        SELECT DISTINCT NEW.workspace_id, 'attr', length(lower(j.key)) || ':' || lower(j.key) || '=' || lower(j.value), 1
        FROM json_each(CASE WHEN json_valid(NEW.attributes) THEN NEW.attributes ELSE '{}' END) AS j
        WHERE j.type = 'text'
        ON CONFLICT (workspace_id, facet, value) DO UPDATE SET n = n + 1;
END;

-- Most updates of last_seen_at stay within the same day and change no tally.
CREATE TRIGGER customers_tallied_seen AFTER UPDATE OF last_seen_at, archived_at ON customers
WHEN substr(OLD.last_seen_at, 1, 10) IS NOT substr(NEW.last_seen_at, 1, 10)
  OR (OLD.archived_at IS NULL) IS NOT (NEW.archived_at IS NULL) BEGIN
    UPDATE customer_tallies SET n = n - 1
        WHERE workspace_id = OLD.workspace_id AND facet = 'seen' AND value = substr(OLD.last_seen_at, 1, 10);
    INSERT INTO customer_tallies (workspace_id, facet, value, n)
        SELECT NEW.workspace_id, 'seen', substr(NEW.last_seen_at, 1, 10), 1 WHERE 1
        ON CONFLICT (workspace_id, facet, value) DO UPDATE SET n = n + 1;
    UPDATE customer_tallies SET n = n - 1
        WHERE OLD.archived_at IS NULL
          AND workspace_id = OLD.workspace_id AND facet = 'live' AND value = substr(OLD.last_seen_at, 1, 10);
    INSERT INTO customer_tallies (workspace_id, facet, value, n)
        SELECT NEW.workspace_id, 'live', substr(NEW.last_seen_at, 1, 10), 1 WHERE NEW.archived_at IS NULL
        ON CONFLICT (workspace_id, facet, value) DO UPDATE SET n = n + 1;
END;

-- customers_archived (workspace_id, archived_at) is a prefix of customers_status and
-- only cost every write an index update.
DROP INDEX customers_archived;
