-- A trigram index over the searched columns, so that a search of three characters or
-- more looks up its matches instead of reading every customer: a phrase of trigrams
-- matches exactly the values that contain the text, in any case.
--
-- External content: the index keeps no copy of the values, only their trigrams (with
-- positions), and triggers keep it in step. A delete or update records a tombstone
-- beside the old trigrams, which stay in the file until a merge. So every erasure
-- removes them for good: a single one deletes with FTS5 `secure-delete` switched on
-- for its transaction (a few page writes), a bulk one ends by merging the whole index
-- (`optimize`), which costs far less than secure-deleting a million rows one by one
-- (each rewrites a page of every common trigram's list: hours instead of seconds).
CREATE VIRTUAL TABLE customer_search USING fts5(
    name, email, external_id,
    content = 'customers', content_rowid = 'id', tokenize = 'trigram'
);
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
