//! What an access export reads: the customers asked for, their devices, and their
//! events a page at a time, always within one workspace.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::customers::{Customer, TimelineEvent};
use super::devices::Device;
use super::StoreResult;
use crate::db::schema::{customers, devices, events};
use crate::db::DbConnection;

/// Ids per statement, well under both backends' bound-parameter limits.
pub const IDS_PER_STATEMENT: usize = 500;

/// Where the next page of a customer's events starts: strictly after this event, in
/// (occurred_at, id) order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EventPosition {
    pub occurred_at: NaiveDateTime,
    pub id: i64,
}

impl EventPosition {
    pub fn of(event: &TimelineEvent) -> EventPosition {
        EventPosition {
            occurred_at: event.occurred_at,
            id: event.id,
        }
    }
}

/// The customers of the workspace among `ids` (at most [`IDS_PER_STATEMENT`]), in id
/// order; ids of other workspaces, or of no one, are left out.
pub fn customers_by_ids(
    conn: &mut DbConnection,
    workspace_id: i64,
    ids: &[i64],
) -> StoreResult<Vec<Customer>> {
    Ok(customers::table
        .filter(customers::workspace_id.eq(workspace_id))
        .filter(customers::id.eq_any(ids))
        .order(customers::id)
        .select(Customer::as_select())
        .load(conn)?)
}

/// One customer's devices, in the order they were added.
pub fn devices_of(conn: &mut DbConnection, workspace_id: i64, customer_id: i64) -> StoreResult<Vec<Device>> {
    Ok(devices::table
        .filter(devices::workspace_id.eq(workspace_id))
        .filter(devices::customer_id.eq(customer_id))
        .order(devices::id)
        .select(Device::as_select())
        .load(conn)?)
}

/// Up to `limit` of one customer's events, oldest first, after `after` (from the
/// first when `None`).
///
/// The order is (occurred_at, id), which the `(customer_id, occurred_at)` index gives
/// without sorting: ordered by id alone, every page would sort all of the customer's
/// events again.
pub fn events_page(
    conn: &mut DbConnection,
    workspace_id: i64,
    customer_id: i64,
    after: Option<EventPosition>,
    limit: i64,
) -> StoreResult<Vec<TimelineEvent>> {
    let mut query = events::table
        .filter(events::workspace_id.eq(workspace_id))
        .filter(events::customer_id.eq(customer_id))
        .into_boxed::<<DbConnection as Connection>::Backend>();
    if let Some(after) = after {
        // `>=` first, so that the index range starts at the position rather than at
        // the customer's first event.
        query = query.filter(events::occurred_at.ge(after.occurred_at)).filter(
            events::occurred_at
                .gt(after.occurred_at)
                .or(events::id.gt(after.id)),
        );
    }
    Ok(query
        .order((events::occurred_at, events::id))
        .limit(limit)
        .select(TimelineEvent::as_select())
        .load(conn)?)
}

/// Runs `read` so that every query in it sees the database as it was at one moment:
/// an export whose counts and rows agree although writes go on meanwhile. Call it
/// outside any transaction (PostgreSQL sets the isolation level as the first statement
/// of the transaction).
pub fn in_snapshot<T, E>(
    conn: &mut DbConnection,
    read: impl FnOnce(&mut DbConnection) -> Result<T, E>,
) -> Result<T, E>
where
    E: From<diesel::result::Error>,
{
    conn.transaction(|conn| {
        if let DbConnection::Postgres(_) = conn {
            diesel::sql_query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY").execute(conn)?;
        }
        // SQLite: a deferred transaction reads from one snapshot of the WAL from its
        // first read on, and takes no write lock.
        read(conn)
    })
}
