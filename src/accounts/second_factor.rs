//! The second factor: checking a code, turning two-step sign-in on and off, and
//! making new recovery codes.

use serde_json::json;

use super::{Account, AccountError, AccountResult};
use crate::db::{write_transaction, DbConnection};
use crate::domain::AuditAction;
use crate::secret::SecretKey;
use crate::store::audit::{self, Actor, NewEntry, RequestOrigin};
use crate::store::login_throttles::{Attempt, FIXED_LOCK};
use crate::store::users::User;
use crate::store::{self, StoreError, StoreResult};
use crate::totp;

fn unix_now() -> u64 {
    u64::try_from(chrono::Utc::now().timestamp()).unwrap_or_default()
}

/// Whether `code` is a current authenticator code of the user (each time step is
/// accepted once) or one of their unused recovery codes (used up here, with its own
/// audit entry). Runs inside the caller's write transaction, which decides what the
/// code unlocks. `key` is the server's secret key, which keys the stored recovery codes.
pub fn verify(
    conn: &mut DbConnection,
    user: &User,
    code: &str,
    key: &SecretKey,
    origin: &RequestOrigin,
) -> StoreResult<bool> {
    let Some(secret) = user.totp_secret.as_deref() else {
        return Ok(false);
    };
    if let Some(step) = totp::matching_step(secret, code, unix_now()) {
        return store::users::consume_totp_step(conn, user.id, step);
    }
    let mut remaining: Vec<String> = serde_json::from_str(&user.recovery_codes).unwrap_or_default();
    let Some(position) = remaining
        .iter()
        .position(|stored| totp::recovery_code_matches(key, stored, code))
    else {
        return Ok(false);
    };
    remaining.remove(position);
    let replacement = serde_json::to_string(&remaining).unwrap_or_else(|_| "[]".into());
    let swapped = store::users::swap_recovery_codes(conn, user.id, &user.recovery_codes, &replacement)?;
    if swapped {
        audit::append(
            conn,
            NewEntry::new(Actor::User(user.id), AuditAction::RecoveryCodeUsed, origin)
                .affected(remaining.len() as i64)
                .details(json!({ "remaining": remaining.len() })),
        )?;
    }
    Ok(swapped)
}

/// An authenticator being enrolled: its secret, and the time step of the code that
/// came back from it.
pub struct Enrolment<'a> {
    pub secret: &'a str,
    pub step: i64,
    /// The digests of the new recovery codes, as stored (a JSON array).
    pub recovery_code_digests: &'a str,
}

/// Turns two-step sign-in on with the enrolled secret and fresh recovery codes, and
/// ends every session of the person: one opened with the password alone must not
/// outlive the change (the caller keeps its own under a new id). The code that
/// confirmed the enrolment uses up its time step, so it cannot also open a sign-in; a
/// step already used is [`AccountError::Replayed`].
pub fn enable(conn: &mut DbConnection, account: &Account, enrolment: &Enrolment<'_>) -> AccountResult<()> {
    let enabled = write_transaction(conn, |conn| -> Result<bool, StoreError> {
        if !store::users::consume_totp_step(conn, account.user_id, enrolment.step)? {
            return Ok(false);
        }
        store::users::set_totp(
            conn,
            account.user_id,
            Some(enrolment.secret),
            enrolment.recovery_code_digests,
        )?;
        store::sessions::delete_for_user(conn, account.user_id)?;
        audit::append(
            conn,
            NewEntry::new(account.actor(), AuditAction::TotpEnabled, &account.origin)
                .target(account.target()),
        )?;
        Ok(true)
    })?;
    if enabled {
        Ok(())
    } else {
        Err(AccountError::Replayed)
    }
}

/// Turns two-step sign-in off, given whether the password was right and a current
/// code (or an unused recovery code), and ends every session of the person (the caller
/// keeps its own under a new id). Failures count towards a lock, as at sign-in;
/// turning off what is already off succeeds.
pub fn disable(
    conn: &mut DbConnection,
    account: &Account,
    throttle_key: &str,
    password_ok: bool,
    code: &str,
    key: &SecretKey,
) -> AccountResult<()> {
    enum Outcome {
        Done,
        Refused,
        Throttled(chrono::NaiveDateTime),
    }
    let outcome = write_transaction(conn, |conn| -> Result<Outcome, StoreError> {
        // Claimed before anything is checked, so parallel guesses get no more checks
        // than the limit.
        let locks_until = match store::login_throttles::begin_attempt(conn, throttle_key, FIXED_LOCK)? {
            Attempt::Waiting(until) => return Ok(Outcome::Throttled(until)),
            Attempt::Allowed { waits_until, .. } => waits_until,
        };
        let Some(user) = store::users::find(conn, account.user_id)? else {
            return Ok(Outcome::Refused);
        };
        if !user.has_totp() {
            store::login_throttles::clear(conn, throttle_key)?;
            return Ok(Outcome::Done);
        }
        // The code is only tried after the password, so a wrong password never uses
        // up a code.
        if !(password_ok && verify(conn, &user, code, key, &account.origin)?) {
            return Ok(match locks_until {
                Some(until) => Outcome::Throttled(until),
                None => Outcome::Refused,
            });
        }
        store::login_throttles::clear(conn, throttle_key)?;
        store::users::set_totp(conn, account.user_id, None, "[]")?;
        store::sessions::delete_for_user(conn, account.user_id)?;
        audit::append(
            conn,
            NewEntry::new(account.actor(), AuditAction::TotpDisabled, &account.origin)
                .target(account.target()),
        )?;
        Ok(Outcome::Done)
    })?;
    match outcome {
        Outcome::Done => Ok(()),
        Outcome::Refused => Err(AccountError::Refused),
        Outcome::Throttled(until) => Err(AccountError::Throttled(until)),
    }
}

/// Replaces the person's recovery codes with new ones, given whether the password was
/// right and a current authenticator code (not a recovery code: new codes are made
/// because the old ones may be lost or seen), and ends every session of the person
/// (the caller keeps its own under a new id). Failures count towards a lock, as at
/// sign-in; with two-step sign-in off there is nothing to replace and the answer is
/// [`AccountError::Refused`]. A code whose time step was used is
/// [`AccountError::Replayed`].
pub fn regenerate_recovery_codes(
    conn: &mut DbConnection,
    account: &Account,
    throttle_key: &str,
    password_ok: bool,
    code: &str,
    recovery_code_digests: &[String],
) -> AccountResult<()> {
    let stored_codes = serde_json::to_string(recovery_code_digests)
        .map_err(|err| StoreError::Inconsistent(format!("recovery codes cannot be stored: {err}")))?;
    enum Outcome {
        Done,
        Refused,
        Replayed,
        Throttled(chrono::NaiveDateTime),
    }
    let outcome = write_transaction(conn, |conn| -> Result<Outcome, StoreError> {
        // Claimed before anything is checked, so parallel guesses get no more checks
        // than the limit.
        let locks_until = match store::login_throttles::begin_attempt(
            conn,
            throttle_key,
            store::login_throttles::FIXED_LOCK,
        )? {
            Attempt::Waiting(until) => return Ok(Outcome::Throttled(until)),
            Attempt::Allowed { waits_until, .. } => waits_until,
        };
        let refused = match locks_until {
            Some(until) => Outcome::Throttled(until),
            None => Outcome::Refused,
        };
        let Some(user) = store::users::find(conn, account.user_id)?.filter(|u| !u.disabled) else {
            return Ok(Outcome::Refused);
        };
        let Some(secret) = user.totp_secret.as_deref() else {
            return Ok(Outcome::Refused);
        };
        // The code is only tried after the password, so a wrong password never uses
        // up a time step.
        let step = if password_ok {
            totp::matching_step(secret, code, unix_now())
        } else {
            None
        };
        let Some(step) = step else {
            return Ok(refused);
        };
        if !store::users::consume_totp_step(conn, user.id, step)? {
            return Ok(match locks_until {
                Some(until) => Outcome::Throttled(until),
                None => Outcome::Replayed,
            });
        }
        store::login_throttles::clear(conn, throttle_key)?;
        // Only if they are still the ones read: a recovery code used meanwhile must
        // not be brought back, nor new codes made twice by a double submit.
        if !store::users::swap_recovery_codes(conn, user.id, &user.recovery_codes, &stored_codes)? {
            return Ok(Outcome::Replayed);
        }
        let ended = store::sessions::delete_for_user(conn, account.user_id)?;
        audit::append(
            conn,
            NewEntry::new(
                account.actor(),
                AuditAction::RecoveryCodesRegenerated,
                &account.origin,
            )
            .target(account.target())
            .details(json!({ "codes": recovery_code_digests.len(), "sessions_ended": ended })),
        )?;
        Ok(Outcome::Done)
    })?;
    match outcome {
        Outcome::Done => Ok(()),
        Outcome::Refused => Err(AccountError::Refused),
        Outcome::Replayed => Err(AccountError::Replayed),
        Outcome::Throttled(until) => Err(AccountError::Throttled(until)),
    }
}
