//! Signing in: the password step, the authenticator step, and signing out.
//!
//! Checking a password takes argon2's deliberate work, which must not hold the write
//! lock, so the password step is two changes around the check: [`claim_attempt`]
//! before it and [`accept_password`] or [`refuse_password`] after it.

use chrono::NaiveDateTime;
use serde_json::json;

use super::second_factor;
use super::{Account, AccountError, AccountResult};
use crate::db::{write_transaction, DbConnection};
use crate::domain::AuditAction;
use crate::secret::SecretKey;
use crate::store::audit::{self, Actor, NewEntry, RequestOrigin};
use crate::store::login_throttles::Attempt;
use crate::store::users::User;
use crate::store::{self, StoreError};

/// A claimed password attempt: the account the email names, if any, and the lock's
/// end when this attempt used the last try.
#[derive(Debug)]
pub struct ClaimedAttempt {
    pub user: Option<User>,
    pub locks_until: Option<NaiveDateTime>,
}

/// Claims (and counts) one password attempt on the account name before the password
/// is checked, so guesses sent in parallel get no more checks than the limit: see
/// [`store::login_throttles::begin_attempt`]. A locked name is refused with
/// [`AccountError::Throttled`] and the refusal recorded.
pub fn claim_attempt(
    conn: &mut DbConnection,
    throttle_key: &str,
    email: &str,
    origin: &RequestOrigin,
) -> AccountResult<ClaimedAttempt> {
    let (attempt, user) = write_transaction(conn, |conn| -> Result<_, StoreError> {
        let attempt = store::login_throttles::begin_attempt(conn, throttle_key)?;
        let user = find_user(conn, email)?;
        if let Attempt::Locked(_) = attempt {
            let actor = user.as_ref().map_or(Actor::Anonymous, |u| Actor::User(u.id));
            audit::append(conn, NewEntry::new(actor, AuditAction::SignInThrottled, origin))?;
        }
        Ok((attempt, user))
    })?;
    match attempt {
        Attempt::Locked(until) => Err(AccountError::Throttled(until)),
        Attempt::Allowed { locks_until } => Ok(ClaimedAttempt { user, locks_until }),
    }
}

/// The account an address names, in whichever form the address was stored: accounts
/// made before addresses were composed may hold one decomposed.
fn find_user(conn: &mut DbConnection, email: &str) -> Result<Option<User>, StoreError> {
    for form in crate::domain::email::stored_forms(email) {
        if let Some(user) = store::users::find_by_email(conn, &form)? {
            return Ok(Some(user));
        }
    }
    Ok(None)
}

/// The password was right: clears the failures counted on the name and records the
/// sign-in.
pub fn accept_password(conn: &mut DbConnection, account: &Account, throttle_key: &str) -> AccountResult<()> {
    write_transaction(conn, |conn| -> Result<(), StoreError> {
        store::login_throttles::clear(conn, throttle_key)?;
        audit::append(
            conn,
            NewEntry::new(account.actor(), AuditAction::SignInSucceeded, &account.origin)
                .target(account.target()),
        )?;
        Ok(())
    })?;
    Ok(())
}

/// The password was wrong, or the account unknown or disabled: records the failure
/// (already counted when the attempt was claimed).
pub fn refuse_password(conn: &mut DbConnection, actor: Actor, origin: &RequestOrigin) -> AccountResult<()> {
    record(conn, actor, AuditAction::SignInFailed, origin)
}

/// The authenticator step of a sign-in: an authenticator code (each time step once)
/// or an unused recovery code, for the user who passed the password step. Failures
/// count towards a lock of their own, as passwords do. `key` keys the stored recovery
/// codes.
pub fn second_step(
    conn: &mut DbConnection,
    account: &Account,
    throttle_key: &str,
    code: &str,
    key: &SecretKey,
) -> AccountResult<()> {
    enum Outcome {
        Accepted,
        Refused,
        Throttled(NaiveDateTime),
    }
    let outcome = write_transaction(conn, |conn| -> Result<Outcome, StoreError> {
        // Claimed before the code is checked, so parallel guesses get no more checks
        // than the limit.
        let locks_until = match store::login_throttles::begin_attempt(conn, throttle_key)? {
            Attempt::Locked(until) => return Ok(Outcome::Throttled(until)),
            Attempt::Allowed { locks_until } => locks_until,
        };
        let Some(user) = store::users::find(conn, account.user_id)?.filter(|u| !u.disabled) else {
            return Ok(Outcome::Refused);
        };
        if second_factor::verify(conn, &user, code, key, &account.origin)? {
            store::login_throttles::clear(conn, throttle_key)?;
            audit::append(
                conn,
                NewEntry::new(account.actor(), AuditAction::SignInSucceeded, &account.origin)
                    .target(account.target())
                    .details(json!({ "second_factor": true })),
            )?;
            return Ok(Outcome::Accepted);
        }
        audit::append(
            conn,
            NewEntry::new(account.actor(), AuditAction::SignInFailed, &account.origin)
                .details(json!({ "second_factor": true })),
        )?;
        Ok(match locks_until {
            Some(until) => Outcome::Throttled(until),
            None => Outcome::Refused,
        })
    })?;
    match outcome {
        Outcome::Accepted => Ok(()),
        Outcome::Refused => Err(AccountError::Refused),
        Outcome::Throttled(until) => Err(AccountError::Throttled(until)),
    }
}

/// Records that the person signed out.
pub fn sign_out(conn: &mut DbConnection, account: &Account) -> AccountResult<()> {
    record(conn, account.actor(), AuditAction::SignOut, &account.origin)
}

fn record(
    conn: &mut DbConnection,
    actor: Actor,
    action: AuditAction,
    origin: &RequestOrigin,
) -> AccountResult<()> {
    write_transaction(conn, |conn| {
        audit::append(conn, NewEntry::new(actor, action, origin)).map(|_| ())
    })?;
    Ok(())
}
