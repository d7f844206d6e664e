ALTER TABLE jobs DROP COLUMN devices_removed;
DROP TABLE devices;
