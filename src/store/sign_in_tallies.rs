//! Refused sign-in attempts that name no account (or were refused before any check),
//! counted per hour. Strangers can send as many as they like; each one written to the
//! audit log would let them grow it without bound, so they are counted here and the
//! log records a flood only as it crosses each tenfold.

use chrono::{NaiveDateTime, Timelike};
use diesel::prelude::*;

use super::{now, StoreResult};
use crate::db::schema::sign_in_tallies;
use crate::db::DbConnection;

fn hour_of(at: NaiveDateTime) -> NaiveDateTime {
    at.with_minute(0)
        .and_then(|t| t.with_second(0))
        .and_then(|t| t.with_nanosecond(0))
        .unwrap_or(at)
}

/// Counts one refusal in this hour; returns the hour's count with it.
pub fn count_refusal(conn: &mut DbConnection) -> StoreResult<i64> {
    let hour = hour_of(now());
    let this_hour = sign_in_tallies::table.find(hour);
    let updated = diesel::update(this_hour)
        .set(sign_in_tallies::refused.eq(sign_in_tallies::refused + 1))
        .execute(conn)?;
    if updated == 0 {
        let insert = diesel::insert_into(sign_in_tallies::table)
            .values((sign_in_tallies::hour.eq(hour), sign_in_tallies::refused.eq(1i64)))
            .on_conflict_do_nothing();
        let inserted = match conn {
            DbConnection::Sqlite(c) => insert.execute(c)?,
            DbConnection::Postgres(c) => insert.execute(c)?,
        };
        if inserted == 0 {
            diesel::update(this_hour)
                .set(sign_in_tallies::refused.eq(sign_in_tallies::refused + 1))
                .execute(conn)?;
        }
    }
    Ok(this_hour.select(sign_in_tallies::refused).first(conn)?)
}

/// Deletes the tallies of hours before `before`.
pub fn forget_older_than(conn: &mut DbConnection, before: NaiveDateTime) -> StoreResult<usize> {
    Ok(diesel::delete(sign_in_tallies::table.filter(sign_in_tallies::hour.lt(before))).execute(conn)?)
}

/// Whether a count is one at which the audit log records a flood: 100, 1,000, 10,000 …
pub fn is_flood_mark(count: i64) -> bool {
    let mut mark = 100;
    while mark < count {
        mark = mark.saturating_mul(10);
    }
    mark == count
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn floods_are_marked_at_each_tenfold_from_a_hundred() {
        let marks: Vec<i64> = (1..=100_000).filter(|n| is_flood_mark(*n)).collect();
        assert_eq!(marks, vec![100, 1_000, 10_000, 100_000]);
    }
}
