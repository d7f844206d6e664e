//! Failed sign-ins per account name. Keyed by a digest of the lower-cased email so that
//! unknown and known accounts are throttled alike and no address is stored.

use chrono::{Duration, NaiveDateTime};
use diesel::prelude::*;

use super::{now, StoreResult};
use crate::db::schema::login_throttles;
use crate::db::DbConnection;

/// How many failures within the window lock the account name, and for how long.
pub const MAX_FAILURES: i32 = 5;
pub const WINDOW_MINUTES: i64 = 15;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = login_throttles)]
struct Throttle {
    failures: i32,
    locked_until: Option<NaiveDateTime>,
}

/// When the key is locked, until when.
pub fn locked_until(conn: &mut DbConnection, key: &str) -> StoreResult<Option<NaiveDateTime>> {
    let row: Option<Throttle> = login_throttles::table
        .find(key)
        .select(Throttle::as_select())
        .first(conn)
        .optional()?;
    let at = now();
    Ok(row.and_then(|t| t.locked_until).filter(|until| *until > at))
}

/// Counts one failure; returns the lock's end when the key is now locked.
///
/// The count is raised with `failures = failures + 1` in the database, not read and
/// written back, so parallel guesses on PostgreSQL cannot overwrite each other's count.
pub fn record_failure(conn: &mut DbConnection, key: &str) -> StoreResult<Option<NaiveDateTime>> {
    let at = now();
    let window = Duration::minutes(WINDOW_MINUTES);
    let this_key = login_throttles::table.find(key);
    let mut counted = diesel::update(this_key.filter(login_throttles::window_started_at.gt(at - window)))
        .set(login_throttles::failures.eq(login_throttles::failures + 1))
        .execute(conn)?;
    if counted == 0 {
        // No row, or its window is over: start a new window.
        counted = diesel::update(this_key)
            .set((
                login_throttles::failures.eq(1),
                login_throttles::window_started_at.eq(at),
                login_throttles::locked_until.eq(None::<NaiveDateTime>),
            ))
            .execute(conn)?;
    }
    if counted == 0 {
        let inserted = diesel::insert_into(login_throttles::table)
            .values((
                login_throttles::key_digest.eq(key),
                login_throttles::failures.eq(1),
                login_throttles::window_started_at.eq(at),
            ))
            .execute(conn);
        if let Err(diesel::result::Error::DatabaseError(
            diesel::result::DatabaseErrorKind::UniqueViolation,
            _,
        )) = inserted
        {
            // A parallel failure inserted the row first: count on top of it.
            diesel::update(this_key)
                .set(login_throttles::failures.eq(login_throttles::failures + 1))
                .execute(conn)?;
        } else {
            inserted?;
        }
    }
    let row: Throttle = this_key.select(Throttle::as_select()).first(conn)?;
    if row.failures < MAX_FAILURES {
        return Ok(None);
    }
    if let Some(until) = row.locked_until.filter(|until| *until > at) {
        return Ok(Some(until));
    }
    let until = at + window;
    diesel::update(this_key)
        .set(login_throttles::locked_until.eq(Some(until)))
        .execute(conn)?;
    Ok(Some(until))
}

pub fn clear(conn: &mut DbConnection, key: &str) -> StoreResult<()> {
    diesel::delete(login_throttles::table.find(key)).execute(conn)?;
    Ok(())
}
