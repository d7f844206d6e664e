-- The location indexes also hold what the status filter and the name order read, so
-- that a location with a status or a last-seen range, sorted by last seen or by name,
-- is counted and paged from the index alone (the list finds a page's ids first and
-- reads only those rows). At a million customers `country=DE&status=active&sort=name`
-- read 3,800 rows a request for its count and 3,800 more for its page.
DROP INDEX customers_country_seen;
DROP INDEX customers_city_seen;
CREATE INDEX customers_country_seen ON customers (workspace_id, country, last_seen_at, archived_at, name, id);
CREATE INDEX customers_city_seen ON customers (workspace_id, city, last_seen_at, archived_at, name, id);
