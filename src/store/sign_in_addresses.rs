//! The client addresses each person has signed in from, as keyed digests: an address a
//! person is known at is not held to the limits that strangers' failures set off.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::{now, StoreResult};
use crate::db::schema::sign_in_addresses;
use crate::db::DbConnection;

/// Whether the person has signed in from this address (digest) before.
pub fn is_known(conn: &mut DbConnection, user_id: i64, address_digest: &str) -> StoreResult<bool> {
    let found: i64 = sign_in_addresses::table
        .filter(sign_in_addresses::user_id.eq(user_id))
        .filter(sign_in_addresses::address_digest.eq(address_digest))
        .count()
        .get_result(conn)?;
    Ok(found > 0)
}

/// Records a completed sign-in from this address.
pub fn remember(conn: &mut DbConnection, user_id: i64, address_digest: &str) -> StoreResult<()> {
    let at = now();
    let updated = diesel::update(
        sign_in_addresses::table
            .filter(sign_in_addresses::user_id.eq(user_id))
            .filter(sign_in_addresses::address_digest.eq(address_digest)),
    )
    .set(sign_in_addresses::last_signed_in_at.eq(at))
    .execute(conn)?;
    if updated == 0 {
        let insert = diesel::insert_into(sign_in_addresses::table)
            .values((
                sign_in_addresses::user_id.eq(user_id),
                sign_in_addresses::address_digest.eq(address_digest),
                sign_in_addresses::last_signed_in_at.eq(at),
            ))
            .on_conflict_do_nothing();
        match conn {
            DbConnection::Sqlite(c) => insert.execute(c)?,
            DbConnection::Postgres(c) => insert.execute(c)?,
        };
    }
    Ok(())
}

/// Forgets addresses not signed in from since `before`.
pub fn forget_older_than(conn: &mut DbConnection, before: NaiveDateTime) -> StoreResult<usize> {
    Ok(
        diesel::delete(sign_in_addresses::table.filter(sign_in_addresses::last_signed_in_at.lt(before)))
            .execute(conn)?,
    )
}
