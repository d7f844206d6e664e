//! Passwords: changing one's own.
//!
//! Hashing takes argon2's deliberate work, which must not hold the write lock, so the
//! callers hash (and check the current password) before calling these.

use chrono::NaiveDateTime;
use serde_json::json;

use super::{Account, AccountError, AccountResult};
use crate::db::{write_transaction, DbConnection};
use crate::domain::AuditAction;
use crate::store::audit::{self, NewEntry};
use crate::store::login_throttles::Attempt;
use crate::store::{self, StoreError};

/// A new password for the signed-in person, once the caller found the current one
/// right.
pub struct PasswordChange<'a> {
    /// The stored hash the current password was checked against: if the password was
    /// changed since, the check is stale and the change refused.
    pub checked_hash: &'a str,
    pub new_hash: &'a str,
}

/// Changes the signed-in person's password, given `Some` change when the current
/// password was right and `None` when it was not. Failures count towards a lock, as
/// at sign-in and as when turning two-step sign-in off. On success every session of
/// the person ends (the caller keeps its own under a new id) and any open reset link
/// stops working: whoever held the old password is out.
pub fn change_password(
    conn: &mut DbConnection,
    account: &Account,
    throttle_key: &str,
    change: Option<PasswordChange<'_>>,
) -> AccountResult<()> {
    enum Outcome {
        Done,
        Refused,
        Throttled(NaiveDateTime),
    }
    let outcome = write_transaction(conn, |conn| -> Result<Outcome, StoreError> {
        // Claimed before anything is looked at, so parallel guesses get no more checks
        // than the limit.
        let locks_until = match store::login_throttles::begin_attempt(conn, throttle_key)? {
            Attempt::Locked(until) => return Ok(Outcome::Throttled(until)),
            Attempt::Allowed { locks_until } => locks_until,
        };
        let user = store::users::find(conn, account.user_id)?.filter(|u| !u.disabled);
        let (Some(user), Some(change)) = (user, change) else {
            return Ok(match locks_until {
                Some(until) => Outcome::Throttled(until),
                None => Outcome::Refused,
            });
        };
        if user.password_hash != change.checked_hash {
            return Ok(Outcome::Refused);
        }
        store::login_throttles::clear(conn, throttle_key)?;
        store::users::set_password_hash(conn, user.id, change.new_hash)?;
        store::password_resets::close_open_for_user(conn, user.id)?;
        let ended = store::sessions::delete_for_user(conn, user.id)?;
        audit::append(
            conn,
            NewEntry::new(account.actor(), AuditAction::PasswordChanged, &account.origin)
                .target(account.target())
                .details(json!({ "sessions_ended": ended })),
        )?;
        Ok(Outcome::Done)
    })?;
    match outcome {
        Outcome::Done => Ok(()),
        Outcome::Refused => Err(AccountError::Refused),
        Outcome::Throttled(until) => Err(AccountError::Throttled(until)),
    }
}
