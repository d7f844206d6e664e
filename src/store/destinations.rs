//! Destinations: the downstream systems a workspace tells about its erasures.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::{now, StoreResult};
use crate::db::schema::destinations;
use crate::db::DbConnection;
use crate::domain::{DestinationEvent, DestinationEvents, PausedReason};

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = destinations)]
pub struct Destination {
    pub id: i64,
    pub workspace_id: i64,
    pub name: String,
    pub url: String,
    pub events: String,
    pub holds_external_id: bool,
    pub include_identifiers: bool,
    pub secret_nonce: String,
    pub previous_secret_nonce: Option<String>,
    pub previous_secret_until: Option<NaiveDateTime>,
    pub paused_reason: Option<String>,
    pub failing_since: Option<NaiveDateTime>,
    pub created_by: i64,
    pub created_at: NaiveDateTime,
    pub removed_at: Option<NaiveDateTime>,
}

impl Destination {
    /// The events it wants; a stored list nobody wrote reads as none.
    pub fn subscriptions(&self) -> Option<DestinationEvents> {
        DestinationEvents::from_stored(&self.events).ok()
    }

    pub fn wants(&self, event: DestinationEvent) -> bool {
        self.subscriptions().is_some_and(|events| events.contains(event))
    }

    pub fn paused(&self) -> Option<PausedReason> {
        self.paused_reason
            .as_deref()
            .map(|r| PausedReason::parse(r).unwrap_or(PausedReason::Owner))
    }

    /// The nonces whose secrets sign a delivery made at `at`: the current one, and the
    /// previous one during the overlap after a rotation.
    pub fn signing_nonces(&self, at: NaiveDateTime) -> Vec<&str> {
        let mut nonces = vec![self.secret_nonce.as_str()];
        if let (Some(previous), Some(until)) = (&self.previous_secret_nonce, self.previous_secret_until) {
            if at < until {
                nonces.push(previous.as_str());
            }
        }
        nonces
    }
}

/// A destination as it is created or edited.
pub struct DestinationFields<'a> {
    pub name: &'a str,
    pub url: &'a str,
    pub events: &'a DestinationEvents,
    pub holds_external_id: bool,
    pub include_identifiers: bool,
}

pub fn insert(
    conn: &mut DbConnection,
    workspace_id: i64,
    fields: &DestinationFields<'_>,
    secret_nonce: &str,
    created_by: i64,
) -> StoreResult<Destination> {
    let id: i64 = diesel::insert_into(destinations::table)
        .values((
            destinations::workspace_id.eq(workspace_id),
            destinations::name.eq(fields.name),
            destinations::url.eq(fields.url),
            destinations::events.eq(fields.events.stored()),
            destinations::holds_external_id.eq(fields.holds_external_id),
            destinations::include_identifiers.eq(fields.include_identifiers),
            destinations::secret_nonce.eq(secret_nonce),
            destinations::created_by.eq(created_by),
            destinations::created_at.eq(now()),
        ))
        .returning(destinations::id)
        .get_result(conn)?;
    get(conn, id)
}

/// The workspace's destinations that were not removed, oldest first.
pub fn list(conn: &mut DbConnection, workspace_id: i64) -> StoreResult<Vec<Destination>> {
    Ok(destinations::table
        .filter(destinations::workspace_id.eq(workspace_id))
        .filter(destinations::removed_at.is_null())
        .order(destinations::id)
        .select(Destination::as_select())
        .load(conn)?)
}

/// One destination of the workspace, removed ones included (receipts still name them).
pub fn find_any(conn: &mut DbConnection, workspace_id: i64, id: i64) -> StoreResult<Option<Destination>> {
    Ok(destinations::table
        .filter(destinations::workspace_id.eq(workspace_id))
        .filter(destinations::id.eq(id))
        .select(Destination::as_select())
        .first(conn)
        .optional()?)
}

/// One destination of the workspace that was not removed.
pub fn find(conn: &mut DbConnection, workspace_id: i64, id: i64) -> StoreResult<Option<Destination>> {
    Ok(find_any(conn, workspace_id, id)?.filter(|d| d.removed_at.is_none()))
}

/// By id alone, for the delivery worker, which works across workspaces.
pub fn get(conn: &mut DbConnection, id: i64) -> StoreResult<Destination> {
    Ok(destinations::table
        .find(id)
        .select(Destination::as_select())
        .first(conn)?)
}

/// The destinations an erasure event of this kind goes to. Paused ones included: their
/// events wait and are delivered when they resume.
pub fn subscribed(
    conn: &mut DbConnection,
    workspace_id: i64,
    event: DestinationEvent,
) -> StoreResult<Vec<Destination>> {
    Ok(list(conn, workspace_id)?
        .into_iter()
        .filter(|d| d.wants(event))
        .collect())
}

pub fn update(conn: &mut DbConnection, id: i64, fields: &DestinationFields<'_>) -> StoreResult<()> {
    diesel::update(destinations::table.find(id))
        .set((
            destinations::name.eq(fields.name),
            destinations::url.eq(fields.url),
            destinations::events.eq(fields.events.stored()),
            destinations::holds_external_id.eq(fields.holds_external_id),
            destinations::include_identifiers.eq(fields.include_identifiers),
        ))
        .execute(conn)?;
    Ok(())
}

pub fn set_paused(conn: &mut DbConnection, id: i64, reason: Option<PausedReason>) -> StoreResult<()> {
    diesel::update(destinations::table.find(id))
        .set((
            destinations::paused_reason.eq(reason.map(|r| r.key())),
            destinations::failing_since.eq(None::<NaiveDateTime>),
        ))
        .execute(conn)?;
    Ok(())
}

/// A new signing secret; the previous one keeps signing until `previous_until`.
pub fn rotate(
    conn: &mut DbConnection,
    destination: &Destination,
    new_nonce: &str,
    previous_until: NaiveDateTime,
) -> StoreResult<()> {
    diesel::update(destinations::table.find(destination.id))
        .set((
            destinations::secret_nonce.eq(new_nonce),
            destinations::previous_secret_nonce.eq(Some(&destination.secret_nonce)),
            destinations::previous_secret_until.eq(Some(previous_until)),
        ))
        .execute(conn)?;
    Ok(())
}

/// Records a failed attempt; returns since when the destination has been failing.
pub fn mark_failing(conn: &mut DbConnection, id: i64, at: NaiveDateTime) -> StoreResult<NaiveDateTime> {
    diesel::update(
        destinations::table
            .find(id)
            .filter(destinations::failing_since.is_null()),
    )
    .set(destinations::failing_since.eq(Some(at)))
    .execute(conn)?;
    Ok(destinations::table
        .find(id)
        .select(destinations::failing_since)
        .first::<Option<NaiveDateTime>>(conn)?
        .unwrap_or(at))
}

pub fn clear_failing(conn: &mut DbConnection, id: i64) -> StoreResult<()> {
    diesel::update(
        destinations::table
            .find(id)
            .filter(destinations::failing_since.is_not_null()),
    )
    .set(destinations::failing_since.eq(None::<NaiveDateTime>))
    .execute(conn)?;
    Ok(())
}

pub fn remove(conn: &mut DbConnection, id: i64) -> StoreResult<()> {
    diesel::update(destinations::table.find(id))
        .set(destinations::removed_at.eq(Some(now())))
        .execute(conn)?;
    Ok(())
}
