-- A bulk action's preview freezes its set in the background, one batch per
-- transaction, so that the request that asked for it answers at once. While
-- `freezing`, the set is incomplete and the preview cannot be confirmed.
-- `freeze_after` is the highest customer id the freeze has passed: a server that
-- takes a freeze over (its first server stopped) goes on from there. `freeze_expected`
-- is how many the set should come to, for the progress bar.
ALTER TABLE jobs ADD COLUMN freezing BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE jobs ADD COLUMN freeze_after BIGINT NOT NULL DEFAULT 0;
ALTER TABLE jobs ADD COLUMN freeze_expected BIGINT NOT NULL DEFAULT 0;
