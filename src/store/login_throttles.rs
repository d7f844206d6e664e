//! Failed attempts at a secret (a password, a code), counted per key, with growing
//! waits. Keys are keyed digests (of an account name, a client address, or both), so
//! unknown and known accounts are counted alike and no address is stored.

use chrono::{Duration, NaiveDateTime};
use diesel::prelude::*;

use super::{now, StoreResult};
use crate::db::schema::login_throttles;
use crate::db::DbConnection;

/// How a key's failures turn into waits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Policy {
    /// Failures allowed before the first wait.
    pub free: i32,
    /// The wait once `free` failures are counted; it doubles with each failure after.
    pub first_wait_seconds: i64,
    /// The longest wait.
    pub longest_wait_seconds: i64,
    /// A key with no failure for this long starts again from nothing.
    pub forget_after_seconds: i64,
}

impl Policy {
    /// The wait after the `failures`-th failure, if any.
    pub fn wait_after(&self, failures: i32) -> Option<Duration> {
        if failures < self.free {
            return None;
        }
        let doublings = u32::try_from(failures - self.free).unwrap_or(0).min(30);
        let seconds = self
            .first_wait_seconds
            .saturating_mul(1i64 << doublings)
            .min(self.longest_wait_seconds);
        Some(Duration::seconds(seconds))
    }
}

/// A secret that may be tried `MAX_FAILURES` times, then not for `LOCK_MINUTES`: for the
/// codes a signed-in person types (turning two-step sign-in off, the owner's code).
pub const MAX_FAILURES: i32 = 5;
pub const LOCK_MINUTES: i64 = 15;
pub const FIXED_LOCK: Policy = Policy {
    free: MAX_FAILURES,
    first_wait_seconds: LOCK_MINUTES * 60,
    longest_wait_seconds: LOCK_MINUTES * 60,
    forget_after_seconds: LOCK_MINUTES * 60,
};

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = login_throttles)]
struct Throttle {
    failures: i32,
    wait_until: Option<NaiveDateTime>,
}

/// What one attempt may do, decided before the secret is checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Attempt {
    /// Check the secret. The attempt already counts as a failure on every key, so
    /// settle it when it succeeds; `waits_until` is the wait this failure starts, when
    /// it started one, and `failures` each key's count with this attempt, in order.
    Allowed {
        waits_until: Option<NaiveDateTime>,
        failures: Vec<i32>,
    },
    /// Refuse without checking (and without counting): a key waits until then.
    Waiting(NaiveDateTime),
}

/// Claims one attempt on a single key; see [`begin_attempts`].
pub fn begin_attempt(conn: &mut DbConnection, key: &str, policy: Policy) -> StoreResult<Attempt> {
    begin_attempts(conn, &[(key, policy)])
}

/// Claims one attempt on every key at once, in the caller's write transaction, before
/// the secret is checked.
///
/// Counting a failure only after the check let guesses sent together all read "no
/// wait" while the first of them was still being checked. Here each key's count goes
/// up first, in the database (on SQLite under the write lock, on PostgreSQL with the
/// row locked until the caller commits), so the n-th attempt sees exactly n. If any
/// key turns out to be waiting, the counts are taken back (to a savepoint) and the
/// attempt is refused unchecked: refusals never lengthen a wait.
pub fn begin_attempts(conn: &mut DbConnection, keys: &[(&str, Policy)]) -> StoreResult<Attempt> {
    let at = now();
    diesel::sql_query("SAVEPOINT begin_attempts").execute(conn)?;
    let mut counted = Vec::with_capacity(keys.len());
    let mut waiting: Option<NaiveDateTime> = None;
    for (key, policy) in keys {
        let row = count_one(conn, key, policy, at)?;
        if let Some(until) = row.wait_until.filter(|until| *until > at) {
            waiting = waiting.max(Some(until));
        }
        counted.push(row.failures);
    }
    if let Some(until) = waiting {
        diesel::sql_query("ROLLBACK TO SAVEPOINT begin_attempts").execute(conn)?;
        diesel::sql_query("RELEASE SAVEPOINT begin_attempts").execute(conn)?;
        return Ok(Attempt::Waiting(until));
    }
    let mut waits_until = None;
    for ((key, policy), failures) in keys.iter().zip(&counted) {
        if let Some(wait) = policy.wait_after(*failures) {
            let until = at + wait;
            diesel::update(login_throttles::table.find(*key))
                .set(login_throttles::wait_until.eq(Some(until)))
                .execute(conn)?;
            waits_until = waits_until.max(Some(until));
        }
    }
    diesel::sql_query("RELEASE SAVEPOINT begin_attempts").execute(conn)?;
    Ok(Attempt::Allowed {
        waits_until,
        failures: counted,
    })
}

/// Raises the key's count by one (from nothing when its last failure is forgotten)
/// and returns the row as it now is.
///
/// The count is raised with `failures = failures + 1` in the database, not read and
/// written back, so parallel attempts on PostgreSQL cannot overwrite each other's count.
fn count_one(
    conn: &mut DbConnection,
    key: &str,
    policy: &Policy,
    at: NaiveDateTime,
) -> StoreResult<Throttle> {
    let forgotten_before = at - Duration::seconds(policy.forget_after_seconds);
    let this_key = login_throttles::table.find(key);
    let mut counted = diesel::update(this_key.filter(login_throttles::last_failure_at.gt(forgotten_before)))
        .set((
            login_throttles::failures.eq(login_throttles::failures + 1),
            login_throttles::last_failure_at.eq(at),
        ))
        .execute(conn)?;
    if counted == 0 {
        // Forgotten: start again. Only then: a row a parallel attempt has just
        // inserted (invisible to the update above, committed by now) must be counted
        // on, not reset to one.
        counted = diesel::update(this_key.filter(login_throttles::last_failure_at.le(forgotten_before)))
            .set((
                login_throttles::failures.eq(1),
                login_throttles::last_failure_at.eq(at),
                login_throttles::wait_until.eq(None::<NaiveDateTime>),
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
                login_throttles::last_failure_at.eq(at),
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

/// Forgets a key's failures: the secret was right.
pub fn clear(conn: &mut DbConnection, key: &str) -> StoreResult<()> {
    diesel::delete(login_throttles::table.find(key)).execute(conn)?;
    Ok(())
}

/// Takes back the one failure an attempt claimed on a key it shares with others (a
/// client address): the secret was right, but the others' failures still stand.
pub fn take_back_one(conn: &mut DbConnection, key: &str) -> StoreResult<()> {
    diesel::update(
        login_throttles::table
            .find(key)
            .filter(login_throttles::failures.gt(0)),
    )
    .set(login_throttles::failures.eq(login_throttles::failures - 1))
    .execute(conn)?;
    Ok(())
}

/// Deletes keys whose failures are older than `older_than`: every policy has forgotten
/// them. Keeps the table as small as the attempts of the last day.
pub fn forget_stale(conn: &mut DbConnection, older_than: NaiveDateTime) -> StoreResult<usize> {
    let at = now();
    Ok(diesel::delete(
        login_throttles::table
            .filter(login_throttles::last_failure_at.lt(older_than))
            .filter(
                login_throttles::wait_until
                    .is_null()
                    .or(login_throttles::wait_until.lt(at)),
            ),
    )
    .execute(conn)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_start_after_the_free_failures_and_double_up_to_the_longest() {
        let policy = Policy {
            free: 5,
            first_wait_seconds: 30,
            longest_wait_seconds: 900,
            forget_after_seconds: 86_400,
        };
        assert_eq!(policy.wait_after(4), None);
        assert_eq!(policy.wait_after(5), Some(Duration::seconds(30)));
        assert_eq!(policy.wait_after(6), Some(Duration::seconds(60)));
        assert_eq!(policy.wait_after(9), Some(Duration::seconds(480)));
        assert_eq!(policy.wait_after(10), Some(Duration::seconds(900)));
        assert_eq!(policy.wait_after(10_000), Some(Duration::seconds(900)));
    }

    #[test]
    fn the_fixed_lock_is_one_wait_of_its_minutes() {
        assert_eq!(FIXED_LOCK.wait_after(MAX_FAILURES - 1), None);
        assert_eq!(
            FIXED_LOCK.wait_after(MAX_FAILURES),
            Some(Duration::minutes(LOCK_MINUTES))
        );
        assert_eq!(
            FIXED_LOCK.wait_after(MAX_FAILURES + 7),
            Some(Duration::minutes(LOCK_MINUTES))
        );
    }
}
