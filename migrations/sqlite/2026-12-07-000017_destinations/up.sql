-- Downstream systems told about every erasure (GDPR Art. 17(2), 19), and the outbox
-- their events wait in.
--
-- A destination's signing secret is never stored: it is derived from the server's key
-- and `secret_nonce`, so a copy of the database alone cannot sign. After a rotation the
-- previous nonce keeps signing beside the new one until `previous_secret_until`.
-- `paused_reason` is NULL while the destination receives events: 'owner' (paused by
-- hand), 'failing' (failing for three days), 'gone' (it answered 410 Gone).
CREATE TABLE destinations (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    workspace_id BIGINT NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    url TEXT NOT NULL,
    events TEXT NOT NULL,
    holds_external_id BOOLEAN NOT NULL DEFAULT 0,
    include_identifiers BOOLEAN NOT NULL DEFAULT 0,
    secret_nonce TEXT NOT NULL,
    previous_secret_nonce TEXT,
    previous_secret_until TIMESTAMP,
    paused_reason TEXT,
    failing_since TIMESTAMP,
    created_by BIGINT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    removed_at TIMESTAMP
);
CREATE INDEX destinations_workspace ON destinations (workspace_id, removed_at);

-- One row per event and destination, written in the erasure's own transaction, so a
-- crash never loses one and a rollback never sends one. `body` is the exact JSON sent
-- on every attempt; an event that carries identifier values (`carries_identifiers`)
-- has it cleared once delivered or given up. `state`: pending, delivered, failed,
-- dropped (its destination was removed). Attempts go on until the retry window, counted
-- from `retry_from` (its writing, a resend or its destination's resume), has passed.
CREATE TABLE outbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    workspace_id BIGINT NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    destination_id BIGINT NOT NULL REFERENCES destinations(id) ON DELETE CASCADE,
    message_id TEXT NOT NULL UNIQUE,
    event_type TEXT NOT NULL,
    body TEXT,
    carries_identifiers BOOLEAN NOT NULL DEFAULT 0,
    customers BIGINT NOT NULL DEFAULT 0,
    job_id BIGINT,
    receipt_id TEXT,
    state TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TIMESTAMP NOT NULL,
    retry_from TIMESTAMP NOT NULL,
    last_attempt_at TIMESTAMP,
    last_status INTEGER,
    last_error TEXT,
    created_at TIMESTAMP NOT NULL,
    delivered_at TIMESTAMP,
    lease_owner TEXT,
    lease_until TIMESTAMP
);
CREATE INDEX outbox_due ON outbox (state, next_attempt_at);
CREATE INDEX outbox_receipt ON outbox (receipt_id);
CREATE INDEX outbox_destination ON outbox (destination_id, id);
