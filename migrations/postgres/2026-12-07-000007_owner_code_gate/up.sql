-- A bulk erasure that covers the whole workspace, or more customers than the
-- workspace's threshold, waits for the account owner's one-time code.
ALTER TABLE jobs ADD COLUMN needs_owner_code BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE jobs ADD COLUMN whole_workspace BOOLEAN NOT NULL DEFAULT FALSE;
-- NULL: the default, 10,000 customers or half of the workspace, whichever is smaller.
ALTER TABLE workspaces ADD COLUMN owner_code_threshold BIGINT;
