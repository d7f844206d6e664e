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

/// What one attempt on a key may do, decided before the secret is checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Attempt {
    /// Check the secret. The attempt already counts as a failure, so call [`clear`]
    /// when it succeeds; `locks_until` is the lock's end when it used the last try.
    Allowed { locks_until: Option<NaiveDateTime> },
    /// Refuse without checking: the key is locked until then.
    Locked(NaiveDateTime),
}

/// Claims one attempt on the key, in the caller's write transaction, before the
/// secret is checked.
///
/// Counting a failure only after the check let guesses sent at once all read "not
/// locked" while the first of them was still being checked: fifty parallel wrong
/// passwords got fifty checks. Here the count goes up first, in the database: on
/// SQLite under the write lock, on PostgreSQL with the row locked until the caller
/// commits, so the n-th attempt sees exactly n and only the first `MAX_FAILURES` are
/// allowed, however many arrive together.
pub fn begin_attempt(conn: &mut DbConnection, key: &str) -> StoreResult<Attempt> {
    let at = now();
    if let Some(until) = locked_until(conn, key)? {
        return Ok(Attempt::Locked(until));
    }
    let row = count_one(conn, key, at)?;
    if row.failures < MAX_FAILURES {
        return Ok(Attempt::Allowed { locks_until: None });
    }
    let until = lock(conn, key, &row, at)?;
    Ok(if row.failures == MAX_FAILURES {
        Attempt::Allowed {
            locks_until: Some(until),
        }
    } else {
        Attempt::Locked(until)
    })
}

/// Raises the key's count by one (starting a new window when the last one is over)
/// and returns the row as it now is.
///
/// The count is raised with `failures = failures + 1` in the database, not read and
/// written back, so parallel attempts on PostgreSQL cannot overwrite each other's count.
fn count_one(conn: &mut DbConnection, key: &str, at: NaiveDateTime) -> StoreResult<Throttle> {
    let window = Duration::minutes(WINDOW_MINUTES);
    let this_key = login_throttles::table.find(key);
    let mut counted = diesel::update(this_key.filter(login_throttles::window_started_at.gt(at - window)))
        .set(login_throttles::failures.eq(login_throttles::failures + 1))
        .execute(conn)?;
    if counted == 0 {
        // Its window is over: start a new one. Only then: a row a parallel attempt has
        // just inserted (invisible to the update above, committed by now) must be
        // counted on, not reset to one.
        counted = diesel::update(this_key.filter(login_throttles::window_started_at.le(at - window)))
            .set((
                login_throttles::failures.eq(1),
                login_throttles::window_started_at.eq(at),
                login_throttles::locked_until.eq(None::<NaiveDateTime>),
            ))
            .execute(conn)?;
    }
    if counted == 0 {
        // ON CONFLICT rather than catching the unique violation: on PostgreSQL an error
        // aborts the whole transaction, so the count on top could never run.
        let insert = diesel::insert_into(login_throttles::table)
            .values((
                login_throttles::key_digest.eq(key),
                login_throttles::failures.eq(1),
                login_throttles::window_started_at.eq(at),
            ))
            .on_conflict_do_nothing();
        let inserted = match conn {
            DbConnection::Sqlite(c) => insert.execute(c)?,
            DbConnection::Postgres(c) => insert.execute(c)?,
        };
        if inserted == 0 {
            // A parallel attempt inserted the row first: count on top of it.
            diesel::update(this_key)
                .set(login_throttles::failures.eq(login_throttles::failures + 1))
                .execute(conn)?;
        }
    }
    Ok(this_key.select(Throttle::as_select()).first(conn)?)
}

/// Locks the key (once its count reached the limit); returns the lock's end.
fn lock(conn: &mut DbConnection, key: &str, row: &Throttle, at: NaiveDateTime) -> StoreResult<NaiveDateTime> {
    if let Some(until) = row.locked_until.filter(|until| *until > at) {
        return Ok(until);
    }
    let until = at + Duration::minutes(WINDOW_MINUTES);
    diesel::update(login_throttles::table.find(key))
        .set(login_throttles::locked_until.eq(Some(until)))
        .execute(conn)?;
    Ok(until)
}

pub fn clear(conn: &mut DbConnection, key: &str) -> StoreResult<()> {
    diesel::delete(login_throttles::table.find(key)).execute(conn)?;
    Ok(())
}
