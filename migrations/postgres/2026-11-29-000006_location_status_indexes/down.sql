DROP INDEX customers_country_seen;
DROP INDEX customers_city_seen;
CREATE INDEX customers_country_seen ON customers (workspace_id, country, last_seen_at, id);
CREATE INDEX customers_city_seen ON customers (workspace_id, city, last_seen_at, id);
