-- A customer's devices (Track API "add or update a customer device"). The token is
-- personal data: it goes with its customer on every erasure, archiving included.
CREATE TABLE devices (
    id INTEGER PRIMARY KEY,
    workspace_id BIGINT NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    customer_id BIGINT NOT NULL REFERENCES customers(id) ON DELETE CASCADE,
    token TEXT NOT NULL,
    platform TEXT NOT NULL,
    last_used TIMESTAMP NOT NULL,
    attributes TEXT NOT NULL DEFAULT '{}',
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX devices_workspace_token ON devices (workspace_id, token);
-- Customer first, for the foreign key's cascade; with the workspace, so that an
-- erasure's `workspace_id = ? AND customer_id IN (…)` is answered from this index
-- rather than by walking the workspace's tokens (measured: 0.69 s → 0.32 s to remove
-- 50,000 of 500,000 devices on SQLite).
CREATE INDEX devices_customer ON devices (customer_id, workspace_id);

-- How many devices an erasure removed, for its receipt.
ALTER TABLE jobs ADD COLUMN devices_removed BIGINT NOT NULL DEFAULT 0;
