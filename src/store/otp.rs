//! One-time code challenges: stored as keyed hashes bound to the person, the sign-in,
//! the workspace and the action they were made for.

use chrono::{Duration, NaiveDateTime};
use diesel::prelude::*;

use super::{now, StoreError, StoreResult};
use crate::db::schema::otp_challenges;
use crate::db::DbConnection;

pub const MAX_ATTEMPTS: i32 = 5;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = otp_challenges)]
pub struct Challenge {
    pub id: i64,
    pub workspace_id: i64,
    pub user_id: i64,
    pub session_digest: String,
    pub purpose: String,
    pub code_hash: String,
    pub created_at: NaiveDateTime,
    pub expires_at: NaiveDateTime,
    pub attempts: i32,
    pub used_at: Option<NaiveDateTime>,
}

impl Challenge {
    pub fn is_locked(&self) -> bool {
        self.attempts >= MAX_ATTEMPTS
    }

    pub fn is_expired(&self, at: NaiveDateTime) -> bool {
        self.expires_at <= at
    }
}

pub struct NewChallenge<'a> {
    pub workspace_id: i64,
    pub user_id: i64,
    pub session_digest: &'a str,
    pub purpose: &'a str,
    pub code_hash: &'a str,
    pub lifetime: Duration,
}

pub fn insert(conn: &mut DbConnection, new: NewChallenge<'_>) -> StoreResult<Challenge> {
    let at = now();
    diesel::insert_into(otp_challenges::table)
        .values((
            otp_challenges::workspace_id.eq(new.workspace_id),
            otp_challenges::user_id.eq(new.user_id),
            otp_challenges::session_digest.eq(new.session_digest),
            otp_challenges::purpose.eq(new.purpose),
            otp_challenges::code_hash.eq(new.code_hash),
            otp_challenges::created_at.eq(at),
            otp_challenges::expires_at.eq(at + new.lifetime),
            otp_challenges::attempts.eq(0),
        ))
        .execute(conn)?;
    otp_challenges::table
        .filter(otp_challenges::code_hash.eq(new.code_hash))
        .order(otp_challenges::id.desc())
        .select(Challenge::as_select())
        .first(conn)
        .optional()?
        .ok_or_else(|| StoreError::Inconsistent("a challenge just inserted cannot be found".into()))
}

/// The newest unused challenge of this person, sign-in, workspace and action.
pub fn latest_open(
    conn: &mut DbConnection,
    workspace_id: i64,
    user_id: i64,
    session_digest: &str,
    purpose: &str,
) -> StoreResult<Option<Challenge>> {
    Ok(otp_challenges::table
        .filter(otp_challenges::workspace_id.eq(workspace_id))
        .filter(otp_challenges::user_id.eq(user_id))
        .filter(otp_challenges::session_digest.eq(session_digest))
        .filter(otp_challenges::purpose.eq(purpose))
        .filter(otp_challenges::used_at.is_null())
        .order(otp_challenges::id.desc())
        .select(Challenge::as_select())
        .first(conn)
        .optional()?)
}

/// Claims one attempt on the challenge before its code is compared; returns the
/// attempts so far, this one included, or `None` when none are left.
///
/// A conditional `UPDATE … WHERE attempts < MAX_ATTEMPTS` decides, not a count read
/// earlier: codes sent in parallel all read the same count, and counting only the
/// wrong ones afterwards let every one of them be compared. On PostgreSQL the second
/// of two parallel updates waits for the first and then re-checks the condition
/// against its result; on SQLite writers take turns.
pub fn claim_attempt(conn: &mut DbConnection, id: i64) -> StoreResult<Option<i32>> {
    let claimed = diesel::update(
        otp_challenges::table
            .find(id)
            .filter(otp_challenges::attempts.lt(MAX_ATTEMPTS)),
    )
    .set(otp_challenges::attempts.eq(otp_challenges::attempts + 1))
    .execute(conn)?;
    if claimed == 0 {
        return Ok(None);
    }
    Ok(Some(
        otp_challenges::table
            .find(id)
            .select(otp_challenges::attempts)
            .first(conn)?,
    ))
}

/// Uses the challenge up; false when it was already used (a double submit).
pub fn mark_used(conn: &mut DbConnection, id: i64) -> StoreResult<bool> {
    let changed = diesel::update(
        otp_challenges::table
            .find(id)
            .filter(otp_challenges::used_at.is_null()),
    )
    .set(otp_challenges::used_at.eq(Some(now())))
    .execute(conn)?;
    Ok(changed == 1)
}

/// How many codes this person asked for since `since`, for any action in any
/// workspace: the budget is theirs, so one holder of the permission cannot use it up
/// for everyone else.
pub fn count_asked_by(conn: &mut DbConnection, user_id: i64, since: NaiveDateTime) -> StoreResult<i64> {
    Ok(otp_challenges::table
        .filter(otp_challenges::user_id.eq(user_id))
        .filter(otp_challenges::created_at.gt(since))
        .count()
        .get_result(conn)?)
}
