//! actix-session's storage over our own database, so that sessions survive restarts,
//! are shared by every server on one PostgreSQL, and end at once when revoked.

use std::collections::HashMap;

use actix_session::storage::{LoadError, SaveError, SessionKey, SessionStore, UpdateError};
use actix_web::cookie::time::Duration as CookieDuration;
use rand::distributions::{Alphanumeric, DistString};
use sha2::{Digest, Sha256};

use crate::db::Database;
use crate::store::{self, StoreError};

/// Session state key that holds the signed-in user's id (JSON-encoded, as actix-session
/// stores every value).
pub const USER_ID_KEY: &str = "user_id";
/// When the user signed in (unix seconds), for the absolute timeout.
pub const SIGNED_IN_AT_KEY: &str = "signed_in_at";

#[derive(Clone)]
pub struct DbSessionStore {
    db: Database,
    idle: chrono::Duration,
}

impl DbSessionStore {
    pub fn new(db: Database, idle: chrono::Duration) -> Self {
        DbSessionStore { db, idle }
    }
}

/// Only a digest of the cookie value is stored.
pub fn session_digest(key: &str) -> String {
    hex::encode(Sha256::digest(key.as_bytes()))
}

fn user_id_of(state: &HashMap<String, String>) -> Option<i64> {
    state.get(USER_ID_KEY).and_then(|v| v.parse().ok())
}

fn ttl_of(ttl: &CookieDuration, idle: chrono::Duration) -> chrono::Duration {
    // The middleware passes its own TTL; the configured idle timeout is the one that counts.
    let from_middleware = chrono::Duration::seconds(ttl.whole_seconds());
    if from_middleware > chrono::Duration::zero() {
        from_middleware.min(idle)
    } else {
        idle
    }
}

/// The database was out of reach when the session was to be read or written.
///
/// actix-session turns every store error into an opaque 500 whose cause cannot be
/// reached again, only its message; this error's message is how the error pages tell
/// an outage (503, try again) from a fault (500).
#[derive(Debug, thiserror::Error)]
#[error("{STORAGE_UNAVAILABLE}")]
struct StorageUnavailable(#[source] StoreError);

const STORAGE_UNAVAILABLE: &str = "session storage is unavailable: the database cannot be reached";

fn storage_error(err: StoreError) -> anyhow::Error {
    if err.is_unavailable() {
        anyhow::Error::new(StorageUnavailable(err))
    } else {
        anyhow::Error::new(err)
    }
}

/// Whether an error the session middleware raised means the database is out of reach.
pub fn is_storage_unavailable(err: &actix_web::Error) -> bool {
    err.to_string() == STORAGE_UNAVAILABLE
}

/// How stale `touched_at` may get before a read refreshes the expiry: one write per
/// session per minute at most, instead of one per request.
const TOUCH_EVERY_SECONDS: i64 = 60;

impl SessionStore for DbSessionStore {
    async fn load(&self, key: &SessionKey) -> Result<Option<HashMap<String, String>>, LoadError> {
        let digest = session_digest(key.as_ref());
        let idle = self.idle;
        self.db
            .run(move |conn| -> Result<_, StoreError> {
                let Some(row) = store::sessions::find_live(conn, &digest)? else {
                    return Ok(None);
                };
                let state: HashMap<String, String> = match serde_json::from_str(&row.state) {
                    Ok(state) => state,
                    Err(_) => return Ok(None),
                };
                if (store::now() - row.touched_at).num_seconds() >= TOUCH_EVERY_SECONDS {
                    store::sessions::touch(conn, &digest, idle)?;
                }
                Ok(Some(state))
            })
            .await
            .map_err(|err| LoadError::Other(storage_error(err)))
    }

    async fn save(
        &self,
        state: HashMap<String, String>,
        ttl: &CookieDuration,
    ) -> Result<SessionKey, SaveError> {
        let key = Alphanumeric.sample_string(&mut rand::rngs::OsRng, 64);
        let digest = session_digest(&key);
        let body =
            serde_json::to_string(&state).map_err(|err| SaveError::Serialization(anyhow::Error::new(err)))?;
        let ttl = ttl_of(ttl, self.idle);
        let user_id = user_id_of(&state);
        self.db
            .run(move |conn| store::sessions::insert(conn, &digest, user_id, &body, ttl))
            .await
            .map_err(|err| SaveError::Other(storage_error(err)))?;
        SessionKey::try_from(key).map_err(|err| SaveError::Other(anyhow::Error::new(err)))
    }

    async fn update(
        &self,
        key: SessionKey,
        state: HashMap<String, String>,
        ttl: &CookieDuration,
    ) -> Result<SessionKey, UpdateError> {
        let digest = session_digest(key.as_ref());
        let body = serde_json::to_string(&state)
            .map_err(|err| UpdateError::Serialization(anyhow::Error::new(err)))?;
        let ttl_chrono = ttl_of(ttl, self.idle);
        let user_id = user_id_of(&state);
        let updated = self
            .db
            .run(move |conn| store::sessions::update_state(conn, &digest, user_id, &body, ttl_chrono))
            .await
            .map_err(|err| UpdateError::Other(storage_error(err)))?;
        if updated {
            Ok(key)
        } else {
            // The session was revoked while this request ran: never bring it back, and
            // never carry its sign-in over to the fresh one that replaces it.
            let mut state = state;
            state.remove(USER_ID_KEY);
            state.remove(SIGNED_IN_AT_KEY);
            self.save(state, ttl).await.map_err(|err| match err {
                SaveError::Serialization(e) => UpdateError::Serialization(e),
                SaveError::Other(e) => UpdateError::Other(e),
            })
        }
    }

    async fn update_ttl(&self, key: &SessionKey, ttl: &CookieDuration) -> Result<(), anyhow::Error> {
        let digest = session_digest(key.as_ref());
        let ttl = ttl_of(ttl, self.idle);
        self.db
            .run(move |conn| store::sessions::touch(conn, &digest, ttl))
            .await
            .map_err(storage_error)
    }

    async fn delete(&self, key: &SessionKey) -> Result<(), anyhow::Error> {
        let digest = session_digest(key.as_ref());
        self.db
            .run(move |conn| store::sessions::delete(conn, &digest))
            .await
            .map_err(storage_error)
    }
}
