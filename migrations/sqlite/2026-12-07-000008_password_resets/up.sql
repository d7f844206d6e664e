-- Links that set a forgotten password. Only a keyed digest of the mailed token is
-- kept, and of the client address that asked (for the per-address limit), never the
-- token or the address. A row is one mailed link: the limits count rows.
CREATE TABLE password_resets (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    token_digest TEXT NOT NULL UNIQUE,
    client_digest TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL,
    used_at TIMESTAMP
);
CREATE INDEX password_resets_user ON password_resets (user_id, created_at);
CREATE INDEX password_resets_client ON password_resets (client_digest, created_at);
