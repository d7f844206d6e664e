-- Events sent for a person not yet identified (Customer.io's anonymous events). The
-- anonymous id names a person's device, so only its keyed digest is kept. An identify
-- carrying the same anonymous id moves them to `events`; the ones never claimed are
-- purged 30 days after they arrived.
CREATE TABLE anonymous_events (
    id INTEGER PRIMARY KEY,
    workspace_id BIGINT NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    anonymous_digest TEXT NOT NULL,
    name TEXT NOT NULL,
    properties TEXT NOT NULL DEFAULT '{}',
    occurred_at TIMESTAMP NOT NULL,
    received_at TIMESTAMP NOT NULL
);
CREATE INDEX anonymous_events_digest ON anonymous_events (workspace_id, anonymous_digest);
CREATE INDEX anonymous_events_received ON anonymous_events (received_at);
