ALTER TABLE jobs DROP COLUMN freeze_expected;
ALTER TABLE jobs DROP COLUMN freeze_after;
ALTER TABLE jobs DROP COLUMN freezing;
