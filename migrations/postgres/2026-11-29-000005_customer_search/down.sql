DROP INDEX customers_search_external_id;
DROP INDEX customers_search_email;
DROP INDEX customers_search_name;
