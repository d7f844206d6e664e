DROP TRIGGER customers_searchable_changed;
DROP TRIGGER customers_searchable_out;
DROP TRIGGER customers_searchable_in;
DROP TABLE customer_search;
