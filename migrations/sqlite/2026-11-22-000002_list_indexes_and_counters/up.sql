-- Indexes for the list's filters that the first ones served badly: a country or a city
-- alone, in last-seen order, and the activity status (archived or not, then last seen).
CREATE INDEX customers_country_seen ON customers (workspace_id, country, last_seen_at, id);
CREATE INDEX customers_city_seen ON customers (workspace_id, city, last_seen_at, id);
CREATE INDEX customers_status ON customers (workspace_id, archived_at, last_seen_at, id);

-- The number of customers per workspace, kept exact by triggers, so the unfiltered
-- list does not count a million rows on every request.
CREATE TABLE workspace_counters (
    workspace_id BIGINT PRIMARY KEY NOT NULL,
    customers BIGINT NOT NULL DEFAULT 0
);
INSERT INTO workspace_counters (workspace_id, customers)
    SELECT w.id, (SELECT COUNT(*) FROM customers c WHERE c.workspace_id = w.id) FROM workspaces w;

CREATE TRIGGER workspace_counter_created AFTER INSERT ON workspaces BEGIN
    INSERT INTO workspace_counters (workspace_id, customers) VALUES (NEW.id, 0);
END;
CREATE TRIGGER customers_counted_in AFTER INSERT ON customers BEGIN
    UPDATE workspace_counters SET customers = customers + 1 WHERE workspace_id = NEW.workspace_id;
END;
CREATE TRIGGER customers_counted_out AFTER DELETE ON customers BEGIN
    UPDATE workspace_counters SET customers = customers - 1 WHERE workspace_id = OLD.workspace_id;
END;

ANALYZE;
