DROP TRIGGER customers_counted_out;
DROP TRIGGER customers_counted_in;
DROP TRIGGER workspace_counter_created;
DROP TABLE workspace_counters;
DROP INDEX customers_status;
DROP INDEX customers_city_seen;
DROP INDEX customers_country_seen;
