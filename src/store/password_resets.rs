//! Mailed links that set a forgotten password. Only keyed digests are kept, of the
//! token and of the client address that asked for it, so a copy of this table opens
//! no account and names no address. Each row is one mailed link, and the limits on
//! asking count rows.

use chrono::{Duration, NaiveDateTime};
use diesel::prelude::*;

use super::{now, StoreError, StoreResult};
use crate::db::schema::password_resets;
use crate::db::DbConnection;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = password_resets)]
pub struct PasswordReset {
    pub id: i64,
    pub user_id: i64,
    pub token_digest: String,
    pub client_digest: String,
    pub created_at: NaiveDateTime,
    pub expires_at: NaiveDateTime,
    pub used_at: Option<NaiveDateTime>,
}

/// Makes requests for links take turns until the caller's transaction ends, so that
/// the rows a limit counts cannot change between the count and the insert.
///
/// On SQLite the write transaction's lock already does; on PostgreSQL two requests
/// counting at once would both see room for one more, so a transaction-scoped
/// advisory lock orders them (requests are rare: one lock for all is cheap).
pub fn take_turn(conn: &mut DbConnection) -> StoreResult<()> {
    if let DbConnection::Postgres(pg) = conn {
        diesel::sql_query("SELECT pg_advisory_xact_lock(7261002)").execute(pg)?;
    }
    Ok(())
}

/// Links mailed for this account since `since`.
pub fn count_for_user_since(conn: &mut DbConnection, user_id: i64, since: NaiveDateTime) -> StoreResult<i64> {
    Ok(password_resets::table
        .filter(password_resets::user_id.eq(user_id))
        .filter(password_resets::created_at.gt(since))
        .count()
        .get_result(conn)?)
}

/// Links mailed at the request of this client address (by digest) since `since`.
pub fn count_for_client_since(
    conn: &mut DbConnection,
    client_digest: &str,
    since: NaiveDateTime,
) -> StoreResult<i64> {
    Ok(password_resets::table
        .filter(password_resets::client_digest.eq(client_digest))
        .filter(password_resets::created_at.gt(since))
        .count()
        .get_result(conn)?)
}

/// Ends every open link of the account now: a link asked for later, a reset or a
/// password change makes older ones worthless. Returns how many were open.
pub fn close_open_for_user(conn: &mut DbConnection, user_id: i64) -> StoreResult<usize> {
    let at = now();
    Ok(diesel::update(
        password_resets::table
            .filter(password_resets::user_id.eq(user_id))
            .filter(password_resets::used_at.is_null())
            .filter(password_resets::expires_at.gt(at)),
    )
    .set(password_resets::expires_at.eq(at))
    .execute(conn)?)
}

pub fn insert(
    conn: &mut DbConnection,
    user_id: i64,
    token_digest: &str,
    client_digest: &str,
    lifetime: Duration,
) -> StoreResult<PasswordReset> {
    let at = now();
    diesel::insert_into(password_resets::table)
        .values((
            password_resets::user_id.eq(user_id),
            password_resets::token_digest.eq(token_digest),
            password_resets::client_digest.eq(client_digest),
            password_resets::created_at.eq(at),
            password_resets::expires_at.eq(at + lifetime),
        ))
        .execute(conn)?;
    password_resets::table
        .filter(password_resets::token_digest.eq(token_digest))
        .select(PasswordReset::as_select())
        .first(conn)
        .optional()?
        .ok_or_else(|| StoreError::Inconsistent("a password reset just inserted cannot be found".into()))
}

/// The link behind a token digest, if it is still unused and unexpired.
pub fn find_open(conn: &mut DbConnection, token_digest: &str) -> StoreResult<Option<PasswordReset>> {
    Ok(password_resets::table
        .filter(password_resets::token_digest.eq(token_digest))
        .filter(password_resets::used_at.is_null())
        .filter(password_resets::expires_at.gt(now()))
        .select(PasswordReset::as_select())
        .first(conn)
        .optional()?)
}

/// Uses an open link up. False when it was used or expired in the meantime, so two
/// requests racing with one link cannot both set a password.
pub fn mark_used(conn: &mut DbConnection, id: i64) -> StoreResult<bool> {
    let at = now();
    let changed = diesel::update(
        password_resets::table
            .find(id)
            .filter(password_resets::used_at.is_null())
            .filter(password_resets::expires_at.gt(at)),
    )
    .set(password_resets::used_at.eq(at))
    .execute(conn)?;
    Ok(changed == 1)
}
