-- The zone each person reads the console's times in (an IANA name such as
-- Europe/Berlin). Times stay stored in UTC; pages shift them and name the zone.
ALTER TABLE users ADD COLUMN time_zone TEXT NOT NULL DEFAULT 'UTC';
