-- Data-subject requests (GDPR Art. 15-17, CCPA): what a person asked, by when it is
-- due, and what was done. The identifiers the person gave (`email`, `external_id`,
-- `phone`) are kept in plain only while the request is open; closing it replaces them
-- with keyed digests (`identifier_digests`, a JSON list of [kind, digest]), which still
-- prove which request was about whom when the person asks again. The access export
-- lives in the data folder until `export_expires_at`, then it is purged.
CREATE TABLE requests (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    workspace_id BIGINT NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    kind TEXT NOT NULL,
    email TEXT,
    external_id TEXT,
    phone TEXT,
    identifier_digests TEXT NOT NULL DEFAULT '[]',
    verification TEXT NOT NULL,
    received_at TIMESTAMP NOT NULL,
    due_at TIMESTAMP NOT NULL,
    extension_reason TEXT,
    state TEXT NOT NULL,
    outcome TEXT,
    job_id BIGINT,
    exported_at TIMESTAMP,
    export_expires_at TIMESTAMP,
    due_soon_mailed_at TIMESTAMP,
    overdue_mailed_at TIMESTAMP,
    created_by BIGINT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    closed_at TIMESTAMP
);
CREATE INDEX requests_workspace_due ON requests (workspace_id, state, due_at);
CREATE INDEX requests_job ON requests (job_id);
