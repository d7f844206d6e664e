-- Trigram indexes over the searched columns, so that a search of three characters or
-- more (`lower(column) LIKE '%text%'`) looks up its matches instead of reading every
-- customer. pg_trgm ships with PostgreSQL and is a trusted extension: a database
-- owner may create it without superuser rights.
CREATE EXTENSION IF NOT EXISTS pg_trgm;
CREATE INDEX customers_search_name ON customers USING gin (lower(name) gin_trgm_ops);
CREATE INDEX customers_search_email ON customers USING gin (lower(email) gin_trgm_ops);
CREATE INDEX customers_search_external_id ON customers USING gin (lower(external_id) gin_trgm_ops);
