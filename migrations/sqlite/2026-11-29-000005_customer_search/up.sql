-- A trigram index over the searched columns, so that a search of three characters or
-- more looks up its matches instead of reading every customer: a phrase of trigrams
-- matches exactly the values that contain the text, in any case.
--
-- External content: the index keeps no copy of the values, only their trigrams, and
-- triggers keep it in step. `secure-delete` makes every delete and update remove the
-- old trigrams from the index at once instead of recording a tombstone beside them,
-- so an erased email's trigrams do not linger in the file until a merge.
CREATE VIRTUAL TABLE customer_search USING fts5(
    name, email, external_id,
    content = 'customers', content_rowid = 'id', tokenize = 'trigram'
);
INSERT INTO customer_search (customer_search, rank) VALUES ('secure-delete', 1);
INSERT INTO customer_search (customer_search) VALUES ('rebuild');

CREATE TRIGGER customers_searchable_in AFTER INSERT ON customers BEGIN
    INSERT INTO customer_search (rowid, name, email, external_id)
        VALUES (NEW.id, NEW.name, NEW.email, NEW.external_id);
END;

CREATE TRIGGER customers_searchable_out AFTER DELETE ON customers BEGIN
    INSERT INTO customer_search (customer_search, rowid, name, email, external_id)
        VALUES ('delete', OLD.id, OLD.name, OLD.email, OLD.external_id);
END;

CREATE TRIGGER customers_searchable_changed AFTER UPDATE OF name, email, external_id ON customers
WHEN OLD.name IS NOT NEW.name OR OLD.email IS NOT NEW.email OR OLD.external_id IS NOT NEW.external_id
BEGIN
    INSERT INTO customer_search (customer_search, rowid, name, email, external_id)
        VALUES ('delete', OLD.id, OLD.name, OLD.email, OLD.external_id);
    INSERT INTO customer_search (rowid, name, email, external_id)
        VALUES (NEW.id, NEW.name, NEW.email, NEW.external_id);
END;
