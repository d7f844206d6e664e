//! Passwords: changing one's own, and setting a forgotten one with a mailed link.
//!
//! Hashing takes argon2's deliberate work, which must not hold the write lock, so the
//! callers hash (and check the current password) before calling these.

use chrono::{Duration, NaiveDateTime};
use serde_json::json;

use super::attempt_keys::AttemptKeys;
use super::{Account, AccountError, AccountResult};
use crate::db::{write_transaction, DbConnection};
use crate::domain::AuditAction;
use crate::store::audit::{self, Actor, NewEntry, RequestOrigin};
use crate::store::login_throttles::Attempt;
use crate::store::password_resets::PasswordReset;
use crate::store::users::User;
use crate::store::{self, StoreError, StoreResult};

/// How long a mailed reset link works.
pub const RESET_LINK_MINUTES: i64 = 30;
/// The window the limits on asking for links count in.
pub const RESET_WINDOW_MINUTES: i64 = 15;
/// Links mailed for one account per window: enough for a mail that went astray,
/// too few to flood a mailbox.
pub const RESETS_PER_ACCOUNT: i64 = 3;
/// Links mailed at the request of one client address per window, whatever accounts
/// they were for.
pub const RESETS_PER_CLIENT: i64 = 10;

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
/// stops working: whoever held the old password, or a link asked for with it in
/// mind, is out.
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
        let locks_until = match store::login_throttles::begin_attempt(
            conn,
            throttle_key,
            store::login_throttles::FIXED_LOCK,
        )? {
            Attempt::Waiting(until) => return Ok(Outcome::Throttled(until)),
            Attempt::Allowed { waits_until, .. } => waits_until,
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

/// Someone asked for a reset link for an address.
pub struct ResetRequest<'a> {
    /// The address as typed, normalized.
    pub email: &'a str,
    /// The keyed digest of the token the caller will mail.
    pub token_digest: &'a str,
    /// The keyed digest of the client address that asked.
    pub client_digest: &'a str,
    pub origin: &'a RequestOrigin,
}

/// Records a reset link for the account the address names and returns the account to
/// mail it to; `None`, with nothing recorded, when no enabled account uses the address
/// or the account or the client address has had its links for now (see
/// [`RESETS_PER_ACCOUNT`] and [`RESETS_PER_CLIENT`]). The caller answers the same in
/// every case. A new link ends the account's older open ones.
pub fn request_reset(conn: &mut DbConnection, request: &ResetRequest<'_>) -> StoreResult<Option<User>> {
    write_transaction(conn, |conn| {
        store::password_resets::take_turn(conn)?;
        let Some(user) = find_user(conn, request.email)?.filter(|u| !u.disabled) else {
            return Ok(None);
        };
        let since = store::now() - Duration::minutes(RESET_WINDOW_MINUTES);
        if store::password_resets::count_for_user_since(conn, user.id, since)? >= RESETS_PER_ACCOUNT
            || store::password_resets::count_for_client_since(conn, request.client_digest, since)?
                >= RESETS_PER_CLIENT
        {
            return Ok(None);
        }
        store::password_resets::close_open_for_user(conn, user.id)?;
        let reset = store::password_resets::insert(
            conn,
            user.id,
            request.token_digest,
            request.client_digest,
            Duration::minutes(RESET_LINK_MINUTES),
        )?;
        audit::append(
            conn,
            NewEntry::new(
                Actor::User(user.id),
                AuditAction::PasswordResetRequested,
                request.origin,
            )
            .target(format!("user:{}", user.id))
            .details(json!({ "expires_at": reset.expires_at.to_string() })),
        )?;
        Ok(Some(user))
    })
}

/// The account an address names, in whichever form the address was stored.
fn find_user(conn: &mut DbConnection, email: &str) -> StoreResult<Option<User>> {
    for form in crate::domain::email::stored_forms(email) {
        if let Some(user) = store::users::find_by_email(conn, &form)? {
            return Ok(Some(user));
        }
    }
    Ok(None)
}

/// The open reset link behind a token digest, if it still works: unused, unexpired,
/// and for an enabled account.
pub fn find_open_reset(conn: &mut DbConnection, token_digest: &str) -> StoreResult<Option<PasswordReset>> {
    let Some(reset) = store::password_resets::find_open(conn, token_digest)? else {
        return Ok(None);
    };
    let enabled = store::users::find(conn, reset.user_id)?.is_some_and(|u| !u.disabled);
    Ok(enabled.then_some(reset))
}

/// A password set with a reset link.
#[derive(Debug, Clone, Copy)]
pub struct ResetDone {
    pub user_id: i64,
    /// Two-step sign-in is on: the link stands in for the password only, and the
    /// browser must still pass the authenticator step.
    pub needs_second_step: bool,
}

/// Sets the password of the account behind an open reset link and uses the link up.
/// Every session of the person ends. A link that is unknown, used, expired, or for a
/// disabled account is [`AccountError::Refused`], one answer for all.
///
/// The counts that failed passwords left on the account are lifted, everywhere and at
/// this browser's address (`sign_in_keys` makes the keys from the stored address):
/// whoever holds the link proved they read the account's mail, which is what a reset
/// trusts, and waits left by someone else's guesses would otherwise keep them out with
/// their new password. The lock on the authenticator step stays: the link proves nothing about
/// the second factor, and resetting must not buy fresh guesses at it.
pub fn reset_password(
    conn: &mut DbConnection,
    token_digest: &str,
    new_hash: &str,
    sign_in_keys: &dyn Fn(&str) -> AttemptKeys,
    origin: &RequestOrigin,
) -> AccountResult<ResetDone> {
    let done = write_transaction(conn, |conn| -> Result<Option<ResetDone>, StoreError> {
        let Some(reset) = find_open_reset(conn, token_digest)? else {
            return Ok(None);
        };
        let Some(user) = store::users::find(conn, reset.user_id)? else {
            return Ok(None);
        };
        if !store::password_resets::mark_used(conn, reset.id)? {
            return Ok(None);
        }
        store::users::set_password_hash(conn, user.id, new_hash)?;
        store::password_resets::close_open_for_user(conn, user.id)?;
        let ended = store::sessions::delete_for_user(conn, user.id)?;
        let keys = sign_in_keys(&user.email);
        store::login_throttles::clear(conn, &keys.at_address)?;
        store::login_throttles::clear(conn, &keys.account)?;
        audit::append(
            conn,
            NewEntry::new(Actor::User(user.id), AuditAction::PasswordReset, origin)
                .target(format!("user:{}", user.id))
                .details(json!({ "sessions_ended": ended })),
        )?;
        Ok(Some(ResetDone {
            user_id: user.id,
            needs_second_step: user.has_totp(),
        }))
    })?;
    done.ok_or(AccountError::Refused)
}
