//! Events of people not identified yet, kept under the keyed digest of their device's
//! anonymous id until an identify claims them or they are purged.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::StoreResult;
use crate::db::schema::{anonymous_events, events};
use crate::db::DbConnection;
use crate::domain::TrackEvent;

pub fn insert(
    conn: &mut DbConnection,
    workspace_id: i64,
    anonymous_digest: &str,
    event: &TrackEvent,
    received_at: NaiveDateTime,
) -> StoreResult<()> {
    diesel::insert_into(anonymous_events::table)
        .values((
            anonymous_events::workspace_id.eq(workspace_id),
            anonymous_events::anonymous_digest.eq(anonymous_digest),
            anonymous_events::name.eq(&event.name),
            anonymous_events::properties.eq(&event.properties),
            anonymous_events::occurred_at.eq(event.occurred_at),
            anonymous_events::received_at.eq(received_at),
        ))
        .execute(conn)?;
    Ok(())
}

/// What a claim moved: how many events, and the latest time among them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Claimed {
    pub events: usize,
    pub latest: Option<NaiveDateTime>,
}

/// Moves the workspace's anonymous events of this digest to the customer's events, in
/// one statement each way, inside the caller's transaction.
pub fn claim(
    conn: &mut DbConnection,
    workspace_id: i64,
    anonymous_digest: &str,
    customer_id: i64,
) -> StoreResult<Claimed> {
    let of_digest = anonymous_events::table
        .filter(anonymous_events::workspace_id.eq(workspace_id))
        .filter(anonymous_events::anonymous_digest.eq(anonymous_digest));
    let latest: Option<NaiveDateTime> = of_digest
        .select(diesel::dsl::max(anonymous_events::occurred_at))
        .first(conn)?;
    if latest.is_none() {
        return Ok(Claimed::default());
    }
    let moved = diesel::insert_into(events::table)
        .values(of_digest.order(anonymous_events::id).select((
            anonymous_events::workspace_id,
            customer_id.into_sql::<diesel::sql_types::BigInt>(),
            anonymous_events::name,
            anonymous_events::properties,
            anonymous_events::occurred_at,
        )))
        .into_columns((
            events::workspace_id,
            events::customer_id,
            events::name,
            events::properties,
            events::occurred_at,
        ))
        .execute(conn)?;
    diesel::delete(of_digest).execute(conn)?;
    Ok(Claimed {
        events: moved,
        latest,
    })
}

/// Removes anonymous events that arrived before `cutoff`; returns how many.
pub fn delete_received_before(conn: &mut DbConnection, cutoff: NaiveDateTime) -> StoreResult<usize> {
    Ok(
        diesel::delete(anonymous_events::table.filter(anonymous_events::received_at.lt(cutoff)))
            .execute(conn)?,
    )
}
