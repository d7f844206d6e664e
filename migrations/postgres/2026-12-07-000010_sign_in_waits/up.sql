-- Failed attempts now lead to growing waits rather than one fixed lock: a key keeps
-- its latest failure (it is forgotten after a quiet spell) and when it may be tried next.
ALTER TABLE login_throttles RENAME COLUMN window_started_at TO last_failure_at;
ALTER TABLE login_throttles RENAME COLUMN locked_until TO wait_until;

-- The client addresses (keyed digests of the address or its /64) each person has
-- signed in from: failures from elsewhere cannot lock them out from there.
CREATE TABLE sign_in_addresses (
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    address_digest TEXT NOT NULL,
    last_signed_in_at TIMESTAMP NOT NULL,
    PRIMARY KEY (user_id, address_digest)
);

-- Refused sign-in attempts that name no account, counted per hour instead of each
-- being written to the audit log.
CREATE TABLE sign_in_tallies (
    hour TIMESTAMP PRIMARY KEY NOT NULL,
    refused BIGINT NOT NULL
);
