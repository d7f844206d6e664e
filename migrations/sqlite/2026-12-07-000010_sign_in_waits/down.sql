DROP TABLE sign_in_tallies;
DROP TABLE sign_in_addresses;
ALTER TABLE login_throttles RENAME COLUMN wait_until TO locked_until;
ALTER TABLE login_throttles RENAME COLUMN last_failure_at TO window_started_at;
