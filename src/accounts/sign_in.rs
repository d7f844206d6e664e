//! Signing in: the password step, the authenticator step, and signing out.
//!
//! Checking a password takes argon2's deliberate work, which must not hold the write
//! lock, so the password step is two changes around the check: [`claim_attempt`]
//! before it and [`accept_password`] or [`refuse_password`] after it.
//!
//! What the audit log gets: every sign-in, every failure against an account that
//! exists (their number is bounded by the limits in [`super::attempt_keys`]), the
//! moment an account stops taking attempts from new addresses, and a flood as it
//! crosses each tenfold. Failures that name no account and attempts refused unchecked
//! are only counted ([`store::sign_in_tallies`]): strangers cannot grow the log.

use chrono::NaiveDateTime;
use serde_json::json;

use super::attempt_keys::{self, AttemptKeys};
use super::second_factor;
use super::{Account, AccountError, AccountResult};
use crate::db::{write_transaction, DbConnection};
use crate::domain::AuditAction;
use crate::secret::SecretKey;
use crate::store::audit::{self, Actor, NewEntry, RequestOrigin};
use crate::store::login_throttles::{self, Attempt, Policy};
use crate::store::users::User;
use crate::store::{self, StoreError};

/// A claimed password attempt: the account the email names, if any, whether the
/// client address is one it signed in from before, and the wait this attempt starts
/// when it fails.
#[derive(Debug)]
pub struct ClaimedAttempt {
    pub user: Option<User>,
    pub known_address: bool,
    pub waits_until: Option<NaiveDateTime>,
}

/// The counts an attempt is claimed on: at an address the person is known at, only
/// the count for this account at this address.
fn password_claims(keys: &AttemptKeys, known_address: bool) -> Vec<(&str, Policy)> {
    let mut claims = vec![(keys.at_address.as_str(), attempt_keys::PER_ACCOUNT_AT_ADDRESS)];
    if !known_address {
        claims.push((keys.address.as_str(), attempt_keys::PER_ADDRESS));
        claims.push((keys.account.as_str(), attempt_keys::PER_ACCOUNT));
    }
    claims
}

/// Claims (and counts) one password attempt before the password is checked, so
/// guesses sent in parallel get no more checks than the limits: see
/// [`login_throttles::begin_attempts`]. A waiting count refuses the attempt with
/// [`AccountError::Throttled`], counted in the hour's tally.
pub fn claim_attempt(
    conn: &mut DbConnection,
    keys: &AttemptKeys,
    email: &str,
    origin: &RequestOrigin,
) -> AccountResult<ClaimedAttempt> {
    // A refusal is returned from the transaction as a value, not an error, so that
    // its count in the tally is committed.
    let claimed = write_transaction(
        conn,
        |conn| -> AccountResult<Result<ClaimedAttempt, NaiveDateTime>> {
            let user = find_user(conn, email)?;
            let known_address = match &user {
                Some(user) => store::sign_in_addresses::is_known(conn, user.id, &keys.address_digest)?,
                None => false,
            };
            let claims = password_claims(keys, known_address);
            match login_throttles::begin_attempts(conn, &claims)? {
                Attempt::Waiting(until) => {
                    count_refusal(conn, origin)?;
                    Ok(Err(until))
                }
                Attempt::Allowed {
                    waits_until,
                    failures,
                } => {
                    let account_failures = failures.get(2).copied();
                    if let (Some(user), Some(n)) = (&user, account_failures) {
                        if n == attempt_keys::PER_ACCOUNT.free {
                            // The account now refuses new addresses: worth an entry, once.
                            audit::append(
                                conn,
                                NewEntry::new(Actor::User(user.id), AuditAction::SignInThrottled, origin)
                                    .target(format!("user:{}", user.id))
                                    .affected(i64::from(n))
                                    .details(json!({ "failures": n, "refuses": "new addresses" })),
                            )?;
                        }
                    }
                    Ok(Ok(ClaimedAttempt {
                        user,
                        known_address,
                        waits_until,
                    }))
                }
            }
        },
    )?;
    claimed.map_err(AccountError::Throttled)
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

/// The attempt was claimed but its password never checked (every password worker
/// was busy): takes its counts back, so that a flood's refusals cost the person nothing.
pub fn release_attempt(
    conn: &mut DbConnection,
    keys: &AttemptKeys,
    known_address: bool,
) -> AccountResult<()> {
    write_transaction(conn, |conn| -> Result<(), StoreError> {
        for (key, _) in password_claims(keys, known_address) {
            login_throttles::take_back_one(conn, key)?;
        }
        Ok(())
    })?;
    Ok(())
}

/// The password was right: clears this account's counts (and this attempt's one on
/// the address's), and records the sign-in. Without a second step to come the
/// sign-in is complete and the address becomes one the person is known at.
pub fn accept_password(
    conn: &mut DbConnection,
    account: &Account,
    keys: &AttemptKeys,
    known_address: bool,
    second_step_follows: bool,
) -> AccountResult<()> {
    write_transaction(conn, |conn| -> Result<(), StoreError> {
        // A success ends the account's run of failures (NIST counts consecutive ones),
        // wherever it came from; the address's count is others' failures too.
        login_throttles::clear(conn, &keys.at_address)?;
        login_throttles::clear(conn, &keys.account)?;
        if !known_address {
            login_throttles::take_back_one(conn, &keys.address)?;
        }
        if !second_step_follows {
            store::sign_in_addresses::remember(conn, account.user_id, &keys.address_digest)?;
        }
        audit::append(
            conn,
            NewEntry::new(account.actor(), AuditAction::SignInSucceeded, &account.origin)
                .target(account.target())
                .details(json!({ "second_factor_follows": second_step_follows })),
        )?;
        Ok(())
    })?;
    Ok(())
}

/// The password was wrong, or the account unknown or disabled (the failure was
/// counted when the attempt was claimed). A failure against an account is audited;
/// one that names no account is only counted.
pub fn refuse_password(
    conn: &mut DbConnection,
    user: Option<&User>,
    origin: &RequestOrigin,
) -> AccountResult<()> {
    write_transaction(conn, |conn| -> Result<(), StoreError> {
        match user {
            Some(user) => {
                audit::append(
                    conn,
                    NewEntry::new(Actor::User(user.id), AuditAction::SignInFailed, origin)
                        .target(format!("user:{}", user.id)),
                )?;
            }
            None => count_refusal(conn, origin)?,
        }
        Ok(())
    })?;
    Ok(())
}

/// Counts a refusal in the hour's tally; at 100, 1,000, 10,000 … in an hour the audit
/// log records the flood, once per mark.
fn count_refusal(conn: &mut DbConnection, origin: &RequestOrigin) -> Result<(), StoreError> {
    let count = store::sign_in_tallies::count_refusal(conn)?;
    if store::sign_in_tallies::is_flood_mark(count) {
        audit::append(
            conn,
            NewEntry::new(Actor::Anonymous, AuditAction::SignInFlood, origin)
                .affected(count)
                .details(json!({ "refused_this_hour": count })),
        )?;
    }
    Ok(())
}

/// The authenticator step of a sign-in: an authenticator code (each time step once)
/// or an unused recovery code, for the user who passed the password step. Failures
/// are counted as passwords are, per address and (from new addresses) per account. `key` keys the stored
/// recovery codes.
pub fn second_step(
    conn: &mut DbConnection,
    account: &Account,
    keys: &AttemptKeys,
    code: &str,
    key: &SecretKey,
) -> AccountResult<()> {
    enum Outcome {
        Accepted,
        Refused,
        Throttled(NaiveDateTime),
    }
    let outcome = write_transaction(conn, |conn| -> Result<Outcome, StoreError> {
        let known_address = store::sign_in_addresses::is_known(conn, account.user_id, &keys.address_digest)?;
        let mut claims = vec![(keys.at_address.as_str(), attempt_keys::CODE_AT_ADDRESS)];
        if !known_address {
            claims.push((keys.account.as_str(), attempt_keys::CODE_PER_ACCOUNT));
        }
        // Claimed before the code is checked, so parallel guesses get no more checks
        // than the limit.
        let waits_until = match login_throttles::begin_attempts(conn, &claims)? {
            Attempt::Waiting(until) => {
                count_refusal(conn, &account.origin)?;
                return Ok(Outcome::Throttled(until));
            }
            Attempt::Allowed { waits_until, .. } => waits_until,
        };
        let Some(user) = store::users::find(conn, account.user_id)?.filter(|u| !u.disabled) else {
            return Ok(Outcome::Refused);
        };
        if second_factor::verify(conn, &user, code, key, &account.origin)? {
            login_throttles::clear(conn, &keys.at_address)?;
            login_throttles::clear(conn, &keys.account)?;
            store::sign_in_addresses::remember(conn, account.user_id, &keys.address_digest)?;
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
                .target(account.target())
                .details(json!({ "second_factor": true })),
        )?;
        Ok(match waits_until {
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
    write_transaction(conn, |conn| {
        audit::append(
            conn,
            NewEntry::new(account.actor(), AuditAction::SignOut, &account.origin),
        )
        .map(|_| ())
    })?;
    Ok(())
}

/// How long a known address stays known without a sign-in from it.
const KNOWN_ADDRESS_DAYS: i64 = 180;
/// How long the hourly tallies of refusals are kept.
const TALLY_DAYS: i64 = 90;

/// Forgets counts every limit has forgotten, addresses not signed in from for half a
/// year, and old tallies: housekeeping, so the tables hold only what still matters.
pub fn forget_stale(conn: &mut DbConnection) -> AccountResult<usize> {
    let at = store::now();
    let longest_memory = [
        attempt_keys::PER_ACCOUNT_AT_ADDRESS,
        attempt_keys::PER_ADDRESS,
        attempt_keys::PER_ACCOUNT,
        attempt_keys::CODE_PER_ACCOUNT,
        login_throttles::FIXED_LOCK,
    ]
    .iter()
    .map(|p| p.forget_after_seconds)
    .max()
    .unwrap_or_default();
    let forgotten = write_transaction(conn, |conn| -> Result<usize, StoreError> {
        Ok(
            login_throttles::forget_stale(conn, at - chrono::Duration::seconds(longest_memory))?
                + store::sign_in_addresses::forget_older_than(
                    conn,
                    at - chrono::Duration::days(KNOWN_ADDRESS_DAYS),
                )?
                + store::sign_in_tallies::forget_older_than(conn, at - chrono::Duration::days(TALLY_DAYS))?,
        )
    })?;
    Ok(forgotten)
}
