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

DELETE FROM customer_tallies WHERE facet IN ('country', 'city');
INSERT INTO customer_tallies (workspace_id, facet, value, n)
    SELECT workspace_id, 'country', country, COUNT(*) FROM customers
    WHERE country IS NOT NULL GROUP BY workspace_id, country;
INSERT INTO customer_tallies (workspace_id, facet, value, n)
    SELECT workspace_id, 'city', city, COUNT(*) FROM customers
    WHERE city IS NOT NULL GROUP BY workspace_id, city;

DROP TRIGGER customers_tallied_in;
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

DROP TRIGGER customers_tallied_out;
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

DROP TRIGGER customers_tallied_country;
CREATE TRIGGER customers_tallied_country AFTER UPDATE OF country ON customers
WHEN OLD.country IS NOT NEW.country BEGIN
    UPDATE customer_tallies SET n = n - 1
        WHERE workspace_id = OLD.workspace_id AND facet = 'country' AND value = OLD.country;
    INSERT INTO customer_tallies (workspace_id, facet, value, n)
        SELECT NEW.workspace_id, 'country', NEW.country, 1 WHERE NEW.country IS NOT NULL
        ON CONFLICT (workspace_id, facet, value) DO UPDATE SET n = n + 1;
END;

DROP TRIGGER customers_tallied_city;
CREATE TRIGGER customers_tallied_city AFTER UPDATE OF city ON customers
WHEN OLD.city IS NOT NEW.city BEGIN
    UPDATE customer_tallies SET n = n - 1
        WHERE workspace_id = OLD.workspace_id AND facet = 'city' AND value = OLD.city;
    INSERT INTO customer_tallies (workspace_id, facet, value, n)
        SELECT NEW.workspace_id, 'city', NEW.city, 1 WHERE NEW.city IS NOT NULL
        ON CONFLICT (workspace_id, facet, value) DO UPDATE SET n = n + 1;
END;
