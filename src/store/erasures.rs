//! The rows an erasure touches: customers and their events, a batch at a time.
//! Always scoped by workspace, so an id from another workspace matches nothing.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::{now, StoreResult};
use crate::db::schema::{customers, events};
use crate::db::DbConnection;

/// What an erasure needs to know of a customer before touching it.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = customers)]
pub struct ErasureTarget {
    pub id: i64,
    pub external_id: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub name: Option<String>,
    pub attributes: String,
    pub archived_at: Option<NaiveDateTime>,
    pub legal_hold_reason: Option<String>,
}

impl ErasureTarget {
    pub fn is_held(&self) -> bool {
        self.legal_hold_reason.is_some()
    }

    /// Whether any identifying field still holds a value.
    pub fn has_identifiers(&self) -> bool {
        self.external_id.is_some() || self.email.is_some() || self.phone.is_some() || self.name.is_some()
    }
}

/// Ids per statement: SQLite binds each id of an IN list as its own parameter, and
/// allows at most 32,766 of them; a job's batch can be larger.
const IDS_PER_STATEMENT: usize = 10_000;

/// The customers among `ids` (in ascending order), in id order.
pub fn load_targets(
    conn: &mut DbConnection,
    workspace_id: i64,
    ids: &[i64],
) -> StoreResult<Vec<ErasureTarget>> {
    let mut targets = Vec::with_capacity(ids.len());
    for chunk in ids.chunks(IDS_PER_STATEMENT) {
        targets.extend(
            customers::table
                .filter(customers::workspace_id.eq(workspace_id))
                .filter(customers::id.eq_any(chunk))
                .order(customers::id)
                .select(ErasureTarget::as_select())
                .load(conn)?,
        );
    }
    Ok(targets)
}

/// Which of these ids are customers of the workspace, in id order.
pub fn existing_ids(conn: &mut DbConnection, workspace_id: i64, ids: &[i64]) -> StoreResult<Vec<i64>> {
    let mut found = Vec::with_capacity(ids.len());
    for chunk in ids.chunks(500) {
        let mut part: Vec<i64> = customers::table
            .filter(customers::workspace_id.eq(workspace_id))
            .filter(customers::id.eq_any(chunk))
            .select(customers::id)
            .load(conn)?;
        found.append(&mut part);
    }
    found.sort_unstable();
    Ok(found)
}

/// How many of these customers are under legal hold.
pub fn count_held(conn: &mut DbConnection, workspace_id: i64, ids: &[i64]) -> StoreResult<i64> {
    let mut held = 0;
    for chunk in ids.chunks(500) {
        held += customers::table
            .filter(customers::workspace_id.eq(workspace_id))
            .filter(customers::id.eq_any(chunk))
            .filter(customers::legal_hold_reason.is_not_null())
            .count()
            .get_result::<i64>(conn)?;
    }
    Ok(held)
}

/// How many events these customers have.
pub fn count_events(conn: &mut DbConnection, workspace_id: i64, ids: &[i64]) -> StoreResult<i64> {
    let mut total = 0;
    for chunk in ids.chunks(500) {
        total += events::table
            .filter(events::workspace_id.eq(workspace_id))
            .filter(events::customer_id.eq_any(chunk))
            .count()
            .get_result::<i64>(conn)?;
    }
    Ok(total)
}

/// What deleting customers removed with them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Removed {
    pub events: i64,
    pub devices: i64,
}

/// Deletes the customers with all their events and devices.
pub fn delete_customers(conn: &mut DbConnection, workspace_id: i64, ids: &[i64]) -> StoreResult<Removed> {
    let mut removed = Removed::default();
    for chunk in ids.chunks(IDS_PER_STATEMENT) {
        let chunk_removed = delete_chunk(conn, workspace_id, chunk)?;
        removed.events += chunk_removed.events;
        removed.devices += chunk_removed.devices;
    }
    Ok(removed)
}

fn delete_chunk(conn: &mut DbConnection, workspace_id: i64, ids: &[i64]) -> StoreResult<Removed> {
    if let DbConnection::Postgres(pg) = conn {
        // Lock the customers first. A Track API call that has just added an event to
        // one of them holds its row until it commits; without this wait the events
        // below are deleted without that one, which the cascade then removes unseen,
        // and the receipt's count of removed events comes out short.
        customers::table
            .filter(customers::workspace_id.eq(workspace_id))
            .filter(customers::id.eq_any(ids))
            .order(customers::id)
            .select(customers::id)
            .for_update()
            .load::<i64>(pg)?;
    }
    let events_removed = diesel::delete(
        events::table
            .filter(events::workspace_id.eq(workspace_id))
            .filter(events::customer_id.eq_any(ids)),
    )
    .execute(conn)?;
    // Counted for the receipt; the foreign key's cascade would remove them unseen.
    let devices_removed = super::devices::delete_for_customers(conn, workspace_id, ids)?;
    diesel::delete(
        customers::table
            .filter(customers::workspace_id.eq(workspace_id))
            .filter(customers::id.eq_any(ids)),
    )
    .execute(conn)?;
    Ok(Removed {
        events: events_removed as i64,
        devices: devices_removed,
    })
}

/// Writes an anonymized profile: every identifier and personal attribute gone.
pub fn write_anonymized(
    conn: &mut DbConnection,
    workspace_id: i64,
    id: i64,
    remaining_attributes: &str,
    archived_by: Option<i64>,
) -> StoreResult<()> {
    diesel::update(
        customers::table
            .filter(customers::workspace_id.eq(workspace_id))
            .filter(customers::id.eq(id)),
    )
    .set((
        customers::external_id.eq(None::<String>),
        customers::email.eq(None::<String>),
        customers::phone.eq(None::<String>),
        customers::name.eq(None::<String>),
        customers::attributes.eq(remaining_attributes),
        customers::archived_at.eq(Some(now())),
        customers::archived_by.eq(archived_by),
    ))
    .execute(conn)?;
    Ok(())
}

/// Scrubs an already anonymized profile again, keeping when and by whom it was first
/// anonymized.
pub fn rescrub_anonymized(
    conn: &mut DbConnection,
    workspace_id: i64,
    id: i64,
    remaining_attributes: &str,
) -> StoreResult<()> {
    diesel::update(
        customers::table
            .filter(customers::workspace_id.eq(workspace_id))
            .filter(customers::id.eq(id)),
    )
    .set((
        customers::external_id.eq(None::<String>),
        customers::email.eq(None::<String>),
        customers::phone.eq(None::<String>),
        customers::name.eq(None::<String>),
        customers::attributes.eq(remaining_attributes),
    ))
    .execute(conn)?;
    Ok(())
}

/// The events of a customer as (id, properties), for scrubbing.
pub fn event_properties(conn: &mut DbConnection, customer_id: i64) -> StoreResult<Vec<(i64, String)>> {
    Ok(events::table
        .filter(events::customer_id.eq(customer_id))
        .order(events::id)
        .select((events::id, events::properties))
        .load(conn)?)
}

pub fn set_event_properties(conn: &mut DbConnection, event_id: i64, properties: &str) -> StoreResult<()> {
    diesel::update(events::table.find(event_id))
        .set(events::properties.eq(properties))
        .execute(conn)?;
    Ok(())
}

/// After erasing. SQLite: fold the WAL back into the database and truncate it, so
/// erased values do not linger in the log file (`secure_delete` already zeroes the
/// freed pages of the database itself). PostgreSQL, after bulk erasures: VACUUM the
/// touched tables so the dead rows' space is reclaimed and overwritten in time (a
/// single erasure leaves that to autovacuum; VACUUM of a large table is not free).
pub fn flush_erased_pages(conn: &mut DbConnection, after_bulk: bool) -> StoreResult<()> {
    use diesel::connection::SimpleConnection;
    // Before the checkpoint, so that a tally row naming only erased customers' city is
    // gone from the file too.
    super::tallies::compact(conn)?;
    if after_bulk {
        // Merging the search index drops the tombstoned trigrams of every erased value.
        super::maintenance::merge_search_index(conn)?;
    }
    match conn {
        DbConnection::Sqlite(c) => c.batch_execute("PRAGMA wal_checkpoint(TRUNCATE);")?,
        DbConnection::Postgres(c) if after_bulk => {
            // One statement at a time: VACUUM refuses to run inside a multi-statement string.
            c.batch_execute("VACUUM customers")?;
            c.batch_execute("VACUUM events")?;
        }
        DbConnection::Postgres(_) => {}
    }
    Ok(())
}

/// On SQLite, whether deletes from the search index in this transaction remove the old
/// trigrams at once (`true`) or leave tombstones for the next merge (`false`, the
/// default). A single erasure switches it on and off again inside its transaction; a
/// bulk one leaves it off and merges the index when it ends (`flush_erased_pages`).
pub fn erase_search_entries_at_once(conn: &mut DbConnection, on: bool) -> StoreResult<()> {
    if conn.backend() == crate::db::Backend::Sqlite {
        diesel::sql_query("INSERT INTO customer_search (customer_search, rank) VALUES ('secure-delete', ?)")
            .bind::<diesel::sql_types::Integer, _>(i32::from(on))
            .execute(conn)?;
    }
    Ok(())
}

/// Locks one customer's row until the transaction ends (PostgreSQL; SQLite's writers
/// take turns anyway). False when there is no such customer in the workspace.
pub fn lock_customer(conn: &mut DbConnection, workspace_id: i64, id: i64) -> StoreResult<bool> {
    let query = customers::table
        .filter(customers::workspace_id.eq(workspace_id))
        .filter(customers::id.eq(id))
        .select(customers::id);
    let found: Option<i64> = match conn {
        DbConnection::Postgres(pg) => query.for_update().first(pg).optional()?,
        DbConnection::Sqlite(_) => query.first(conn).optional()?,
    };
    Ok(found.is_some())
}

/// Sets (`Some(reason)`) or releases (`None`) a legal hold; false when no such customer.
pub fn set_legal_hold(
    conn: &mut DbConnection,
    workspace_id: i64,
    id: i64,
    reason: Option<&str>,
) -> StoreResult<bool> {
    let changed = diesel::update(
        customers::table
            .filter(customers::workspace_id.eq(workspace_id))
            .filter(customers::id.eq(id)),
    )
    .set((
        customers::legal_hold_reason.eq(reason),
        customers::legal_hold_at.eq(reason.map(|_| now())),
    ))
    .execute(conn)?;
    Ok(changed == 1)
}

pub fn count_workspace_events(conn: &mut DbConnection, workspace_id: i64) -> StoreResult<i64> {
    Ok(events::table
        .filter(events::workspace_id.eq(workspace_id))
        .count()
        .get_result(conn)?)
}
