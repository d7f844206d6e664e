//! Hashing and checking passwords from a request: always through the server's bounded
//! pool, never on a thread of their own.

use super::state::AppState;
use super::WebError;
use crate::password::PoolError;

fn pool_error(err: PoolError) -> WebError {
    match err {
        PoolError::Busy => WebError::Busy,
        PoolError::Stopped => WebError::internal(err),
    }
}

/// The argon2id hash of a new password.
pub async fn hash_password(state: &AppState, password: String) -> Result<String, WebError> {
    state
        .passwords
        .hash(password)
        .await
        .map_err(pool_error)?
        .map_err(|err| WebError::Internal(err.to_string().into()))
}

/// Whether a password matches a stored hash.
pub async fn password_matches(
    state: &AppState,
    password: String,
    stored_hash: String,
) -> Result<bool, WebError> {
    state
        .passwords
        .verify(password, stored_hash)
        .await
        .map_err(pool_error)
}
