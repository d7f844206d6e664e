//! Customers' activity.

use diesel::prelude::*;

use super::StoreResult;
use crate::db::schema::events;
use crate::db::DbConnection;
use crate::domain::TrackEvent;

pub fn insert(
    conn: &mut DbConnection,
    workspace_id: i64,
    customer_id: i64,
    event: &TrackEvent,
) -> StoreResult<()> {
    diesel::insert_into(events::table)
        .values((
            events::workspace_id.eq(workspace_id),
            events::customer_id.eq(customer_id),
            events::name.eq(&event.name),
            events::properties.eq(&event.properties),
            events::occurred_at.eq(event.occurred_at),
        ))
        .execute(conn)?;
    Ok(())
}

/// Removes every event of one customer; returns how many there were.
pub fn delete_for_customer(conn: &mut DbConnection, customer_id: i64) -> StoreResult<usize> {
    Ok(diesel::delete(events::table.filter(events::customer_id.eq(customer_id))).execute(conn)?)
}
