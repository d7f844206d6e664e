-- The whole product's schema. Timestamps are UTC, stored as text in SQLite.
CREATE TABLE workspaces (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL,
    slug TEXT NOT NULL UNIQUE,
    site_id TEXT NOT NULL UNIQUE,
    identifier_mode TEXT NOT NULL DEFAULT 'id',
    pii_keys TEXT NOT NULL DEFAULT '[]',
    created_at TIMESTAMP NOT NULL
);

CREATE TABLE users (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    email TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    is_owner BOOLEAN NOT NULL DEFAULT 0,
    totp_secret TEXT,
    totp_last_step BIGINT,
    recovery_codes TEXT NOT NULL DEFAULT '[]',
    disabled BOOLEAN NOT NULL DEFAULT 0,
    created_at TIMESTAMP NOT NULL
);

CREATE TABLE login_throttles (
    key_digest TEXT PRIMARY KEY NOT NULL,
    failures INTEGER NOT NULL,
    window_started_at TIMESTAMP NOT NULL,
    locked_until TIMESTAMP
);

CREATE TABLE roles (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL UNIQUE,
    builtin TEXT UNIQUE,
    permissions TEXT NOT NULL DEFAULT '',
    created_at TIMESTAMP NOT NULL
);

CREATE TABLE memberships (
    user_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    workspace_id BIGINT NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    role_id BIGINT NOT NULL REFERENCES roles(id),
    created_at TIMESTAMP NOT NULL,
    PRIMARY KEY (user_id, workspace_id)
);
CREATE INDEX memberships_workspace ON memberships (workspace_id);
CREATE INDEX memberships_role ON memberships (role_id);

-- AUTOINCREMENT: an internal id is never handed out twice, even after deletion.
CREATE TABLE customers (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    workspace_id BIGINT NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    external_id TEXT,
    email TEXT,
    phone TEXT,
    name TEXT,
    country TEXT,
    city TEXT,
    attributes TEXT NOT NULL DEFAULT '{}',
    created_at TIMESTAMP NOT NULL,
    last_seen_at TIMESTAMP NOT NULL,
    archived_at TIMESTAMP,
    archived_by BIGINT,
    legal_hold_reason TEXT,
    legal_hold_at TIMESTAMP
);
CREATE UNIQUE INDEX customers_external_id ON customers (workspace_id, external_id);
CREATE INDEX customers_email ON customers (workspace_id, email);
CREATE INDEX customers_last_seen ON customers (workspace_id, last_seen_at, id);
CREATE INDEX customers_created ON customers (workspace_id, created_at, id);
CREATE INDEX customers_name ON customers (workspace_id, name, id);
CREATE INDEX customers_country ON customers (workspace_id, country, city, last_seen_at, id);
CREATE INDEX customers_archived ON customers (workspace_id, archived_at);

CREATE TABLE events (
    id INTEGER PRIMARY KEY,
    workspace_id BIGINT NOT NULL,
    customer_id BIGINT NOT NULL REFERENCES customers(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    properties TEXT NOT NULL DEFAULT '{}',
    occurred_at TIMESTAMP NOT NULL
);
CREATE INDEX events_customer ON events (customer_id, occurred_at);

CREATE TABLE suppressions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    workspace_id BIGINT NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    kind TEXT NOT NULL,
    digest TEXT NOT NULL,
    reason TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    created_by TEXT NOT NULL
);
CREATE UNIQUE INDEX suppressions_digest ON suppressions (workspace_id, kind, digest);
CREATE INDEX suppressions_created ON suppressions (workspace_id, created_at, id);

CREATE TABLE jobs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    workspace_id BIGINT NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    kind TEXT NOT NULL,
    state TEXT NOT NULL,
    selection TEXT NOT NULL,
    suppress BOOLEAN NOT NULL DEFAULT 0,
    created_by BIGINT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    started_at TIMESTAMP,
    finished_at TIMESTAMP,
    total BIGINT NOT NULL DEFAULT 0,
    done BIGINT NOT NULL DEFAULT 0,
    skipped_missing BIGINT NOT NULL DEFAULT 0,
    skipped_held BIGINT NOT NULL DEFAULT 0,
    skipped_other BIGINT NOT NULL DEFAULT 0,
    events_removed BIGINT NOT NULL DEFAULT 0,
    cancel_requested BOOLEAN NOT NULL DEFAULT 0,
    lease_owner TEXT,
    lease_until TIMESTAMP,
    receipt_id TEXT NOT NULL UNIQUE,
    payload TEXT NOT NULL DEFAULT '{}',
    report TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX jobs_workspace ON jobs (workspace_id, created_at);
CREATE INDEX jobs_state ON jobs (state, lease_until);

CREATE TABLE job_targets (
    job_id BIGINT NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,
    customer_id BIGINT NOT NULL,
    PRIMARY KEY (job_id, customer_id)
) WITHOUT ROWID;

CREATE TABLE otp_challenges (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    workspace_id BIGINT NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    user_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    session_digest TEXT NOT NULL,
    purpose TEXT NOT NULL,
    code_hash TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    used_at TIMESTAMP
);
CREATE INDEX otp_challenges_workspace ON otp_challenges (workspace_id, created_at);

CREATE TABLE audit_log (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    created_at TIMESTAMP NOT NULL,
    workspace_id BIGINT,
    actor_kind TEXT NOT NULL,
    actor_id BIGINT,
    action TEXT NOT NULL,
    target TEXT NOT NULL DEFAULT '',
    selection TEXT NOT NULL DEFAULT '',
    affected BIGINT NOT NULL DEFAULT 0,
    details TEXT NOT NULL DEFAULT '{}',
    request_id TEXT NOT NULL DEFAULT '',
    client_ip TEXT NOT NULL DEFAULT '',
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL
);
CREATE INDEX audit_log_workspace ON audit_log (workspace_id, id);
CREATE INDEX audit_log_action ON audit_log (action, id);

CREATE TABLE sessions (
    id_digest TEXT PRIMARY KEY NOT NULL,
    user_id BIGINT REFERENCES users(id) ON DELETE CASCADE,
    state TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    touched_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL
);
CREATE INDEX sessions_user ON sessions (user_id);
CREATE INDEX sessions_expires ON sessions (expires_at);

CREATE TABLE api_keys (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    workspace_id BIGINT NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    key_digest TEXT NOT NULL UNIQUE,
    key_prefix TEXT NOT NULL,
    created_by BIGINT,
    created_at TIMESTAMP NOT NULL,
    last_used_at TIMESTAMP,
    revoked_at TIMESTAMP
);
CREATE INDEX api_keys_workspace ON api_keys (workspace_id);

CREATE TABLE invitations (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    workspace_id BIGINT NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    email TEXT NOT NULL,
    role_id BIGINT NOT NULL REFERENCES roles(id),
    token_digest TEXT NOT NULL UNIQUE,
    invited_by BIGINT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL,
    accepted_at TIMESTAMP
);

INSERT INTO roles (name, builtin, permissions, created_at) VALUES
    ('Owner', 'owner', '', CURRENT_TIMESTAMP),
    ('Admin', 'admin', '', CURRENT_TIMESTAMP),
    ('Compliance reviewer', 'compliance', '', CURRENT_TIMESTAMP),
    ('Member', 'member', '', CURRENT_TIMESTAMP);
