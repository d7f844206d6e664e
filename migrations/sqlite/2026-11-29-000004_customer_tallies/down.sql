CREATE INDEX customers_archived ON customers (workspace_id, archived_at);
DROP TRIGGER customers_tallied_seen;
DROP TRIGGER customers_tallied_attributes;
DROP TRIGGER customers_tallied_city;
DROP TRIGGER customers_tallied_country;
DROP TRIGGER customers_tallied_out;
DROP TRIGGER customers_tallied_in;
DROP TABLE customer_tallies;
