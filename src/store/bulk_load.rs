//! Loading many generated customers and events at once, for `erasure seed` and the
//! benchmarks: multi-row INSERTs, no per-row round trips. Not for customer data that
//! arrives through the API, which goes through suppression checks first.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::StoreResult;
use crate::db::schema::{customers, events};
use crate::db::DbConnection;

/// One customer row as loaded. `None` is stored as NULL rather than the column
/// default, so every row of a batch has the same columns and SQLite can take the
/// batch as one statement.
#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = customers, treat_none_as_default_value = false)]
pub struct CustomerRow {
    pub workspace_id: i64,
    pub external_id: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub name: Option<String>,
    pub country: Option<String>,
    pub city: Option<String>,
    pub attributes: String,
    pub created_at: NaiveDateTime,
    pub last_seen_at: NaiveDateTime,
}

#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = events)]
pub struct EventRow {
    pub workspace_id: i64,
    pub customer_id: i64,
    pub name: String,
    pub properties: String,
    pub occurred_at: NaiveDateTime,
}

/// Inserts the rows in one statement and returns each new id with its external id,
/// in no promised order.
pub fn insert_customers(
    conn: &mut DbConnection,
    rows: &[CustomerRow],
) -> StoreResult<Vec<(i64, Option<String>)>> {
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    let insert = diesel::insert_into(customers::table)
        .values(rows)
        .returning((customers::id, customers::external_id));
    // Multi-row INSERTs do not compile over the MultiConnection (its backend claims no
    // DEFAULT keyword), so each engine gets the same statement on its own connection.
    Ok(match conn {
        DbConnection::Sqlite(conn) => insert.get_results(conn)?,
        DbConnection::Postgres(conn) => insert.get_results(conn)?,
    })
}

/// Inserts the rows in one statement; returns how many.
pub fn insert_events(conn: &mut DbConnection, rows: &[EventRow]) -> StoreResult<usize> {
    if rows.is_empty() {
        return Ok(0);
    }
    let insert = diesel::insert_into(events::table).values(rows);
    Ok(match conn {
        DbConnection::Sqlite(conn) => insert.execute(conn)?,
        DbConnection::Postgres(conn) => insert.execute(conn)?,
    })
}

/// How many customers of the workspace have an external id starting with `prefix`,
/// so a second run can number its customers after the first run's.
pub fn count_with_external_prefix(
    conn: &mut DbConnection,
    workspace_id: i64,
    prefix: &str,
) -> StoreResult<i64> {
    Ok(customers::table
        .filter(customers::workspace_id.eq(workspace_id))
        .filter(customers::external_id.like(format!("{prefix}%")))
        .count()
        .get_result(conn)?)
}
