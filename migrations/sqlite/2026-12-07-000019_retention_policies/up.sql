-- Retention policies: each day, archive or delete the customers of a workspace whose
-- last interaction (`customers.last_seen_at`) is more than `days` days old, optionally
-- only those matching `filter` (a stored customer filter without a last-seen range).
-- Each run is an ordinary previewed job (`last_job_id`). A first run above a tenth of
-- the workspace waits for the account owner; `confirmed_big_run` records that the
-- owner once confirmed such a run. `next_run_at` is when the policy is due next.
CREATE TABLE retention_policies (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    workspace_id BIGINT NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    action TEXT NOT NULL,
    days INTEGER NOT NULL,
    filter TEXT NOT NULL DEFAULT '',
    paused BOOLEAN NOT NULL DEFAULT 0,
    created_by BIGINT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    last_run_at TIMESTAMP,
    next_run_at TIMESTAMP NOT NULL,
    last_job_id BIGINT,
    confirmed_big_run BOOLEAN NOT NULL DEFAULT 0
);
CREATE INDEX retention_policies_workspace ON retention_policies (workspace_id, id);
-- What the scheduler asks every minute: the unpaused policies that are due.
CREATE INDEX retention_policies_due ON retention_policies (paused, next_run_at);
