//! The rows a merge of two customers reads and writes: both profiles, the primary's
//! filled-in fields, and every row the secondary owns, handed to the primary.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::StoreResult;
use crate::db::schema::{customers, devices, events};
use crate::db::DbConnection;

/// One side of a merge, as stored.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = customers)]
pub struct MergeSide {
    pub id: i64,
    pub external_id: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub name: Option<String>,
    pub country: Option<String>,
    pub city: Option<String>,
    pub attributes: String,
    pub created_at: NaiveDateTime,
    pub last_seen_at: NaiveDateTime,
    pub archived_at: Option<NaiveDateTime>,
    pub legal_hold_reason: Option<String>,
}

pub fn load(conn: &mut DbConnection, workspace_id: i64, id: i64) -> StoreResult<Option<MergeSide>> {
    Ok(customers::table
        .filter(customers::workspace_id.eq(workspace_id))
        .filter(customers::id.eq(id))
        .select(MergeSide::as_select())
        .first(conn)
        .optional()?)
}

/// The primary's fields after the merge; `None` leaves a column as it is.
#[derive(Debug, Default, AsChangeset)]
#[diesel(table_name = customers)]
pub struct FilledIn {
    pub email: Option<String>,
    pub phone: Option<String>,
    pub name: Option<String>,
    pub country: Option<String>,
    pub city: Option<String>,
    pub attributes: Option<String>,
    pub created_at: Option<NaiveDateTime>,
    pub last_seen_at: Option<NaiveDateTime>,
}

pub fn fill_in(conn: &mut DbConnection, primary_id: i64, filled: &FilledIn) -> StoreResult<()> {
    let FilledIn {
        email,
        phone,
        name,
        country,
        city,
        attributes,
        created_at,
        last_seen_at,
    } = filled;
    let nothing = email.is_none()
        && phone.is_none()
        && name.is_none()
        && country.is_none()
        && city.is_none()
        && attributes.is_none()
        && created_at.is_none()
        && last_seen_at.is_none();
    if !nothing {
        diesel::update(customers::table.find(primary_id))
            .set(filled)
            .execute(conn)?;
    }
    Ok(())
}

/// Hands every row the secondary owns (events, devices) to the primary; returns how
/// many events moved. A table of customer rows added later is one more statement here.
pub fn move_owned_rows(conn: &mut DbConnection, workspace_id: i64, from: i64, to: i64) -> StoreResult<i64> {
    let events_moved = diesel::update(
        events::table
            .filter(events::workspace_id.eq(workspace_id))
            .filter(events::customer_id.eq(from)),
    )
    .set(events::customer_id.eq(to))
    .execute(conn)?;
    // Devices go with their person: a token is unique in the workspace, so moving one
    // cannot collide.
    diesel::update(
        devices::table
            .filter(devices::workspace_id.eq(workspace_id))
            .filter(devices::customer_id.eq(from)),
    )
    .set(devices::customer_id.eq(to))
    .execute(conn)?;
    Ok(events_moved as i64)
}
