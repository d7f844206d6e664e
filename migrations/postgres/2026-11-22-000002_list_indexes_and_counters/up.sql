-- Indexes for the list's filters that the first ones served badly: a country or a city
-- alone, in last-seen order, and the activity status (archived or not, then last seen).
CREATE INDEX customers_country_seen ON customers (workspace_id, country, last_seen_at, id);
CREATE INDEX customers_city_seen ON customers (workspace_id, city, last_seen_at, id);
CREATE INDEX customers_status ON customers (workspace_id, archived_at, last_seen_at, id);

-- The number of customers per workspace, kept exact by statement-level triggers (one
-- update per statement, however many rows it touched), so the unfiltered list does
-- not count a million rows on every request.
CREATE TABLE workspace_counters (
    workspace_id BIGINT PRIMARY KEY NOT NULL,
    customers BIGINT NOT NULL DEFAULT 0
);
INSERT INTO workspace_counters (workspace_id, customers)
    SELECT w.id, (SELECT COUNT(*) FROM customers c WHERE c.workspace_id = w.id) FROM workspaces w;

CREATE FUNCTION erasure_workspace_counter_created() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO workspace_counters (workspace_id, customers) VALUES (NEW.id, 0);
    RETURN NEW;
END $$;
CREATE TRIGGER workspace_counter_created AFTER INSERT ON workspaces
    FOR EACH ROW EXECUTE FUNCTION erasure_workspace_counter_created();

CREATE FUNCTION erasure_customers_counted_in() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE workspace_counters w SET customers = w.customers + n.added
    FROM (SELECT workspace_id, COUNT(*) AS added FROM inserted GROUP BY workspace_id) n
    WHERE w.workspace_id = n.workspace_id;
    RETURN NULL;
END $$;
CREATE TRIGGER customers_counted_in AFTER INSERT ON customers
    REFERENCING NEW TABLE AS inserted FOR EACH STATEMENT EXECUTE FUNCTION erasure_customers_counted_in();

CREATE FUNCTION erasure_customers_counted_out() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE workspace_counters w SET customers = w.customers - n.removed
    FROM (SELECT workspace_id, COUNT(*) AS removed FROM deleted GROUP BY workspace_id) n
    WHERE w.workspace_id = n.workspace_id;
    RETURN NULL;
END $$;
CREATE TRIGGER customers_counted_out AFTER DELETE ON customers
    REFERENCING OLD TABLE AS deleted FOR EACH STATEMENT EXECUTE FUNCTION erasure_customers_counted_out();
