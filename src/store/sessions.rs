//! Login sessions, keyed by a digest of the cookie's value: a copy of this table
//! does not let anyone sign in.

use chrono::{Duration, NaiveDateTime};
use diesel::prelude::*;

use super::{now, StoreResult};
use crate::db::schema::sessions;
use crate::db::DbConnection;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = sessions)]
pub struct StoredSession {
    pub id_digest: String,
    pub user_id: Option<i64>,
    pub state: String,
    pub created_at: NaiveDateTime,
    pub touched_at: NaiveDateTime,
    pub expires_at: NaiveDateTime,
}

pub fn find_live(conn: &mut DbConnection, id_digest: &str) -> StoreResult<Option<StoredSession>> {
    Ok(sessions::table
        .find(id_digest)
        .filter(sessions::expires_at.gt(now()))
        .select(StoredSession::as_select())
        .first(conn)
        .optional()?)
}

pub fn insert(
    conn: &mut DbConnection,
    id_digest: &str,
    user_id: Option<i64>,
    state: &str,
    ttl: Duration,
) -> StoreResult<()> {
    let at = now();
    diesel::insert_into(sessions::table)
        .values((
            sessions::id_digest.eq(id_digest),
            sessions::user_id.eq(user_id),
            sessions::state.eq(state),
            sessions::created_at.eq(at),
            sessions::touched_at.eq(at),
            sessions::expires_at.eq(at + ttl),
        ))
        .execute(conn)?;
    Ok(())
}

/// Replaces the state; returns false when the session no longer exists.
pub fn update_state(
    conn: &mut DbConnection,
    id_digest: &str,
    user_id: Option<i64>,
    state: &str,
    ttl: Duration,
) -> StoreResult<bool> {
    let at = now();
    let changed = diesel::update(sessions::table.find(id_digest))
        .set((
            sessions::user_id.eq(user_id),
            sessions::state.eq(state),
            sessions::touched_at.eq(at),
            sessions::expires_at.eq(at + ttl),
        ))
        .execute(conn)?;
    Ok(changed == 1)
}

pub fn touch(conn: &mut DbConnection, id_digest: &str, ttl: Duration) -> StoreResult<()> {
    let at = now();
    diesel::update(sessions::table.find(id_digest))
        .set((sessions::touched_at.eq(at), sessions::expires_at.eq(at + ttl)))
        .execute(conn)?;
    Ok(())
}

pub fn delete(conn: &mut DbConnection, id_digest: &str) -> StoreResult<()> {
    diesel::delete(sessions::table.find(id_digest)).execute(conn)?;
    Ok(())
}

/// Ends every session of a user at once (sign out everywhere, disabled, removed).
pub fn delete_for_user(conn: &mut DbConnection, user_id: i64) -> StoreResult<usize> {
    Ok(diesel::delete(sessions::table.filter(sessions::user_id.eq(user_id))).execute(conn)?)
}

pub fn delete_expired(conn: &mut DbConnection) -> StoreResult<usize> {
    Ok(diesel::delete(sessions::table.filter(sessions::expires_at.le(now()))).execute(conn)?)
}
