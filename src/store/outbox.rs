//! The outbox: erasure events on their way to destinations, written in the erasure's
//! own transaction and delivered in the background under a lease.

use chrono::{Duration, NaiveDateTime};
use diesel::prelude::*;

use super::{now, StoreResult};
use crate::db::schema::{destinations, outbox};
use crate::db::DbConnection;
use crate::domain::DeliveryState;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = outbox)]
pub struct OutboxEvent {
    pub id: i64,
    pub workspace_id: i64,
    pub destination_id: i64,
    pub message_id: String,
    pub event_type: String,
    pub body: Option<String>,
    pub carries_identifiers: bool,
    pub customers: i64,
    pub job_id: Option<i64>,
    pub receipt_id: Option<String>,
    pub state: String,
    pub attempts: i32,
    pub next_attempt_at: NaiveDateTime,
    /// The retry window counts from here: the event's writing, a resend, a resume.
    pub retry_from: NaiveDateTime,
    pub last_attempt_at: Option<NaiveDateTime>,
    pub last_status: Option<i32>,
    pub last_error: Option<String>,
    pub created_at: NaiveDateTime,
    pub delivered_at: Option<NaiveDateTime>,
    pub lease_owner: Option<String>,
    pub lease_until: Option<NaiveDateTime>,
}

impl OutboxEvent {
    pub fn delivery_state(&self) -> DeliveryState {
        DeliveryState::parse(&self.state).unwrap_or(DeliveryState::Pending)
    }
}

/// An event as the erasure writes it, for one destination.
pub struct NewOutboxEvent {
    pub workspace_id: i64,
    pub destination_id: i64,
    pub message_id: String,
    pub event_type: &'static str,
    pub body: String,
    pub carries_identifiers: bool,
    pub customers: i64,
    pub job_id: Option<i64>,
    pub receipt_id: Option<String>,
}

/// Writes events in the caller's transaction, due at once.
pub fn insert_many(conn: &mut DbConnection, events: &[NewOutboxEvent]) -> StoreResult<()> {
    let at = now();
    for event in events {
        diesel::insert_into(outbox::table)
            .values((
                outbox::workspace_id.eq(event.workspace_id),
                outbox::destination_id.eq(event.destination_id),
                outbox::message_id.eq(&event.message_id),
                outbox::event_type.eq(event.event_type),
                outbox::body.eq(Some(&event.body)),
                outbox::carries_identifiers.eq(event.carries_identifiers),
                outbox::customers.eq(event.customers),
                outbox::job_id.eq(event.job_id),
                outbox::receipt_id.eq(event.receipt_id.as_deref()),
                outbox::state.eq(DeliveryState::Pending.key()),
                outbox::next_attempt_at.eq(at),
                outbox::retry_from.eq(at),
                outbox::created_at.eq(at),
            ))
            .execute(conn)?;
    }
    Ok(())
}

/// Claims up to `limit` events that are due, whose destination receives, and that no
/// live lease holds; on PostgreSQL, rows another server is claiming are skipped, so
/// each event is sent by one server.
pub fn claim_due(
    conn: &mut DbConnection,
    owner: &str,
    lease: Duration,
    limit: i64,
) -> StoreResult<Vec<OutboxEvent>> {
    let at = now();
    let receiving = destinations::table
        .filter(destinations::paused_reason.is_null())
        .filter(destinations::removed_at.is_null())
        .select(destinations::id);
    let due = || {
        outbox::state
            .eq(DeliveryState::Pending.key())
            .and(outbox::next_attempt_at.le(at))
            .and(outbox::lease_until.is_null().or(outbox::lease_until.lt(at)))
    };
    let ids: Vec<i64> = match conn {
        DbConnection::Postgres(pg) => outbox::table
            .filter(due())
            .filter(outbox::destination_id.eq_any(receiving))
            .order(outbox::next_attempt_at)
            .select(outbox::id)
            .limit(limit)
            .for_update()
            .skip_locked()
            .load(pg)?,
        DbConnection::Sqlite(_) => outbox::table
            .filter(due())
            .filter(outbox::destination_id.eq_any(receiving))
            .order(outbox::next_attempt_at)
            .select(outbox::id)
            .limit(limit)
            .load(conn)?,
    };
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    diesel::update(outbox::table.filter(outbox::id.eq_any(&ids)).filter(due()))
        .set((
            outbox::lease_owner.eq(Some(owner)),
            outbox::lease_until.eq(Some(at + lease)),
        ))
        .execute(conn)?;
    Ok(outbox::table
        .filter(outbox::id.eq_any(&ids))
        .filter(outbox::lease_owner.eq(owner))
        .order(outbox::next_attempt_at)
        .select(OutboxEvent::as_select())
        .load(conn)?)
}

/// Gives back claimed events without attempting them: they are due again at once.
pub fn release(conn: &mut DbConnection, ids: &[i64], owner: &str) -> StoreResult<()> {
    diesel::update(
        outbox::table
            .filter(outbox::id.eq_any(ids))
            .filter(outbox::lease_owner.eq(owner)),
    )
    .set((
        outbox::lease_owner.eq(None::<String>),
        outbox::lease_until.eq(None::<NaiveDateTime>),
    ))
    .execute(conn)?;
    Ok(())
}

/// How one attempt ended.
pub enum AttemptOutcome<'a> {
    /// A 2xx.
    Delivered { status: i32 },
    /// Anything else; the event is tried again at `next_at`, or given up when `None`.
    Failed {
        status: Option<i32>,
        error: &'a str,
        next_at: Option<NaiveDateTime>,
    },
    /// The destination asked to hear no more (410): the event waits with it.
    Held { status: i32 },
}

/// Records an attempt, only while `owner` still holds the event's lease; false when it
/// lost it (another server took it over after the lease ran out). An event that carries
/// identifier values loses its body once it is delivered or given up.
pub fn record_attempt(
    conn: &mut DbConnection,
    event: &OutboxEvent,
    owner: &str,
    outcome: AttemptOutcome<'_>,
) -> StoreResult<bool> {
    let at = now();
    let row = outbox::table
        .filter(outbox::id.eq(event.id))
        .filter(outbox::lease_owner.eq(owner))
        .filter(outbox::state.eq(DeliveryState::Pending.key()));
    let no_lease = (
        outbox::lease_owner.eq(None::<String>),
        outbox::lease_until.eq(None::<NaiveDateTime>),
        outbox::attempts.eq(outbox::attempts + 1),
        outbox::last_attempt_at.eq(Some(at)),
    );
    let clear = event.carries_identifiers;
    let changed = match outcome {
        AttemptOutcome::Delivered { status } => diesel::update(row)
            .set((
                no_lease,
                outbox::state.eq(DeliveryState::Delivered.key()),
                outbox::delivered_at.eq(Some(at)),
                outbox::last_status.eq(Some(status)),
                outbox::last_error.eq(None::<String>),
            ))
            .execute(conn)?,
        AttemptOutcome::Failed {
            status,
            error,
            next_at,
        } => {
            let state = if next_at.is_some() {
                DeliveryState::Pending
            } else {
                DeliveryState::Failed
            };
            diesel::update(row)
                .set((
                    no_lease,
                    outbox::state.eq(state.key()),
                    outbox::next_attempt_at.eq(next_at.unwrap_or(at)),
                    outbox::last_status.eq(status),
                    outbox::last_error.eq(Some(error)),
                ))
                .execute(conn)?
        }
        AttemptOutcome::Held { status } => diesel::update(row)
            .set((
                no_lease,
                outbox::last_status.eq(Some(status)),
                outbox::last_error.eq(Some("the receiver answered 410 Gone")),
            ))
            .execute(conn)?,
    };
    if changed > 0 && clear {
        diesel::update(
            outbox::table
                .filter(outbox::id.eq(event.id))
                .filter(outbox::state.ne(DeliveryState::Pending.key())),
        )
        .set(outbox::body.eq(None::<String>))
        .execute(conn)?;
    }
    Ok(changed > 0)
}

/// Every event of one receipt, for its page.
pub fn for_receipt(
    conn: &mut DbConnection,
    workspace_id: i64,
    receipt_id: &str,
) -> StoreResult<Vec<OutboxEvent>> {
    Ok(outbox::table
        .filter(outbox::workspace_id.eq(workspace_id))
        .filter(outbox::receipt_id.eq(receipt_id))
        .order(outbox::id)
        .select(OutboxEvent::as_select())
        .load(conn)?)
}

/// A destination's latest events, newest first.
pub fn recent_for_destination(
    conn: &mut DbConnection,
    destination_id: i64,
    limit: i64,
) -> StoreResult<Vec<OutboxEvent>> {
    Ok(outbox::table
        .filter(outbox::destination_id.eq(destination_id))
        .order(outbox::id.desc())
        .limit(limit)
        .select(OutboxEvent::as_select())
        .load(conn)?)
}

pub fn find(conn: &mut DbConnection, destination_id: i64, id: i64) -> StoreResult<Option<OutboxEvent>> {
    Ok(outbox::table
        .filter(outbox::destination_id.eq(destination_id))
        .filter(outbox::id.eq(id))
        .select(OutboxEvent::as_select())
        .first(conn)
        .optional()?)
}

/// Sends an event again, with the same `webhook-id`, with a fresh retry window.
pub fn resend(conn: &mut DbConnection, id: i64) -> StoreResult<()> {
    let at = now();
    diesel::update(outbox::table.find(id))
        .set((
            outbox::state.eq(DeliveryState::Pending.key()),
            outbox::next_attempt_at.eq(at),
            outbox::retry_from.eq(at),
            outbox::lease_owner.eq(None::<String>),
            outbox::lease_until.eq(None::<NaiveDateTime>),
        ))
        .execute(conn)?;
    Ok(())
}

/// After a pause: what waited is due now, each with a whole retry window again.
pub fn wake_pending(conn: &mut DbConnection, destination_id: i64) -> StoreResult<()> {
    let at = now();
    diesel::update(
        outbox::table
            .filter(outbox::destination_id.eq(destination_id))
            .filter(outbox::state.eq(DeliveryState::Pending.key())),
    )
    .set((outbox::next_attempt_at.eq(at), outbox::retry_from.eq(at)))
    .execute(conn)?;
    Ok(())
}

/// A removed destination's waiting events go nowhere; those carrying identifier values
/// lose them.
pub fn drop_pending(conn: &mut DbConnection, destination_id: i64) -> StoreResult<()> {
    diesel::update(
        outbox::table
            .filter(outbox::destination_id.eq(destination_id))
            .filter(outbox::state.eq(DeliveryState::Pending.key())),
    )
    .set(outbox::state.eq(DeliveryState::Dropped.key()))
    .execute(conn)?;
    diesel::update(
        outbox::table
            .filter(outbox::destination_id.eq(destination_id))
            .filter(outbox::carries_identifiers.eq(true))
            .filter(outbox::state.ne(DeliveryState::Pending.key())),
    )
    .set(outbox::body.eq(None::<String>))
    .execute(conn)?;
    Ok(())
}
