//! Changes to a workspace's destinations, one function each, each with its transaction
//! and its audit entry: added, changed, paused, resumed, secret rotated, removed, a
//! delivery resent; and the pauses the delivery worker makes on its own.

use chrono::Duration;
use serde_json::json;

use crate::db::{write_transaction, DbConnection};
use crate::domain::{AuditAction, DestinationEvents, DestinationUrl, PausedReason};
use crate::propagation::signature::SigningSecret;
use crate::propagation::signing_keys::{new_nonce, signing_secret};
use crate::secret::SecretKey;
use crate::store::audit::{self, Actor, NewEntry, RequestOrigin};
use crate::store::destinations::{self, Destination, DestinationFields};
use crate::store::{now, outbox, StoreError};
use crate::team::Manager;

/// How long a rotated-out secret keeps signing beside the new one.
pub const ROTATION_OVERLAP_HOURS: i64 = 24;
const MAX_NAME_CHARS: usize = 80;

#[derive(Debug, thiserror::Error)]
pub enum DestinationError {
    #[error("not found")]
    NotFound,
    /// One form field's value cannot be used; the message goes next to that field.
    #[error("{field}: {message}")]
    Field { field: &'static str, message: String },
    /// A rule forbids it; the message says which, in plain words.
    #[error("{0}")]
    Refused(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<diesel::result::Error> for DestinationError {
    fn from(err: diesel::result::Error) -> Self {
        DestinationError::Store(StoreError::Query(err))
    }
}

impl From<diesel::r2d2::PoolError> for DestinationError {
    fn from(err: diesel::r2d2::PoolError) -> Self {
        DestinationError::Store(StoreError::Pool(err))
    }
}

pub type DestinationResult<T> = Result<T, DestinationError>;

/// A destination's settings as a form sends them, before they are checked.
#[derive(Debug, Clone, Default)]
pub struct DestinationInput {
    pub name: String,
    pub url: String,
    pub events: Vec<String>,
    pub holds_external_id: bool,
    pub include_identifiers: bool,
}

/// Settings that passed every check.
pub struct CheckedDestination {
    name: String,
    url: DestinationUrl,
    events: DestinationEvents,
    holds_external_id: bool,
    include_identifiers: bool,
}

impl DestinationInput {
    /// Every field checked; the first that cannot be used is named.
    pub fn check(&self) -> DestinationResult<CheckedDestination> {
        let name = self.name.trim();
        if name.is_empty() {
            return Err(field(
                "name",
                "Give the destination a name, such as the system it is.",
            ));
        }
        if name.chars().count() > MAX_NAME_CHARS || name.chars().any(char::is_control) {
            return Err(field("name", "Use at most 80 characters, on one line."));
        }
        let url = DestinationUrl::parse(&self.url).map_err(|err| field("url", &err.to_string()))?;
        let events = DestinationEvents::parse(self.events.iter().map(String::as_str))
            .map_err(|err| field("events", &err.to_string()))?;
        Ok(CheckedDestination {
            name: name.to_owned(),
            url,
            events,
            holds_external_id: self.holds_external_id,
            include_identifiers: self.include_identifiers,
        })
    }
}

impl CheckedDestination {
    fn fields(&self) -> DestinationFields<'_> {
        DestinationFields {
            name: &self.name,
            url: self.url.as_str(),
            events: &self.events,
            holds_external_id: self.holds_external_id,
            include_identifiers: self.include_identifiers,
        }
    }

    /// What the audit log keeps of the settings: the host, never the path or query
    /// (which may hold a token), and whether identifiers go out.
    fn recorded(&self) -> serde_json::Value {
        json!({
            "host": self.url.url().host_str().unwrap_or_default(),
            "events": self.events.iter().map(|e| e.key()).collect::<Vec<_>>(),
            "holds_external_id": self.holds_external_id,
            "include_identifiers": self.include_identifiers,
        })
    }
}

fn field(field: &'static str, message: &str) -> DestinationError {
    DestinationError::Field {
        field,
        message: message.to_owned(),
    }
}

/// A new destination, and its signing secret, shown this once.
pub fn create(
    conn: &mut DbConnection,
    manager: &Manager,
    server: &SecretKey,
    input: &DestinationInput,
) -> DestinationResult<(Destination, SigningSecret)> {
    let checked = input.check()?;
    let nonce = new_nonce();
    let destination = write_transaction(conn, |conn| -> DestinationResult<Destination> {
        let destination = destinations::insert(
            conn,
            manager.workspace_id,
            &checked.fields(),
            &nonce,
            manager.user_id,
        )?;
        record(
            conn,
            manager,
            AuditAction::DestinationCreated,
            &destination,
            checked.recorded(),
        )?;
        Ok(destination)
    })?;
    Ok((destination, signing_secret(server, &nonce)))
}

/// New settings. Ticking or unticking "include identifiers" is said in its own words in
/// the entry, since it decides whether personal data leaves.
pub fn update(
    conn: &mut DbConnection,
    manager: &Manager,
    id: i64,
    input: &DestinationInput,
) -> DestinationResult<Destination> {
    let checked = input.check()?;
    write_transaction(conn, |conn| {
        let before = destinations::find(conn, manager.workspace_id, id)?.ok_or(DestinationError::NotFound)?;
        destinations::update(conn, id, &checked.fields())?;
        let mut details = checked.recorded();
        if before.include_identifiers != checked.include_identifiers {
            details["identifiers"] = json!(if checked.include_identifiers {
                "now included"
            } else {
                "no longer included"
            });
        }
        record(conn, manager, AuditAction::DestinationUpdated, &before, details)?;
        Ok(destinations::get(conn, id)?)
    })
}

/// A new signing secret, shown this once; the old one keeps signing for a day.
pub fn rotate_secret(
    conn: &mut DbConnection,
    manager: &Manager,
    server: &SecretKey,
    id: i64,
) -> DestinationResult<SigningSecret> {
    let nonce = new_nonce();
    write_transaction(conn, |conn| -> DestinationResult<()> {
        let destination =
            destinations::find(conn, manager.workspace_id, id)?.ok_or(DestinationError::NotFound)?;
        let until = now() + Duration::hours(ROTATION_OVERLAP_HOURS);
        destinations::rotate(conn, &destination, &nonce, until)?;
        record(
            conn,
            manager,
            AuditAction::DestinationSecretRotated,
            &destination,
            json!({ "previous_valid_hours": ROTATION_OVERLAP_HOURS }),
        )
    })?;
    Ok(signing_secret(server, &nonce))
}

/// Paused by hand: its events wait, and are delivered when it resumes.
pub fn pause(conn: &mut DbConnection, manager: &Manager, id: i64) -> DestinationResult<()> {
    write_transaction(conn, |conn| {
        let destination =
            destinations::find(conn, manager.workspace_id, id)?.ok_or(DestinationError::NotFound)?;
        if destination.paused().is_some() {
            return Ok(());
        }
        destinations::set_paused(conn, id, Some(PausedReason::Owner))?;
        record(
            conn,
            manager,
            AuditAction::DestinationPaused,
            &destination,
            json!({ "reason": "owner" }),
        )
    })
}

/// Receives again, whatever paused it; what waited is due at once, with a whole retry
/// window again.
pub fn resume(conn: &mut DbConnection, manager: &Manager, id: i64) -> DestinationResult<()> {
    write_transaction(conn, |conn| {
        let destination =
            destinations::find(conn, manager.workspace_id, id)?.ok_or(DestinationError::NotFound)?;
        let Some(reason) = destination.paused() else {
            return Ok(());
        };
        destinations::set_paused(conn, id, None)?;
        outbox::wake_pending(conn, id)?;
        record(
            conn,
            manager,
            AuditAction::DestinationResumed,
            &destination,
            json!({ "was": reason.key() }),
        )
    })
}

/// Removed: it receives nothing more, and what waited for it is dropped. Receipts still
/// name it with what it was told.
pub fn remove(conn: &mut DbConnection, manager: &Manager, id: i64) -> DestinationResult<()> {
    write_transaction(conn, |conn| {
        let destination =
            destinations::find(conn, manager.workspace_id, id)?.ok_or(DestinationError::NotFound)?;
        destinations::remove(conn, id)?;
        outbox::drop_pending(conn, id)?;
        record(
            conn,
            manager,
            AuditAction::DestinationRemoved,
            &destination,
            json!({}),
        )
    })
}

/// One event sent again with the same `webhook-id` (receivers deduplicate on it).
pub fn resend(
    conn: &mut DbConnection,
    manager: &Manager,
    destination_id: i64,
    event_id: i64,
) -> DestinationResult<()> {
    write_transaction(conn, |conn| {
        let destination = destinations::find(conn, manager.workspace_id, destination_id)?
            .ok_or(DestinationError::NotFound)?;
        let event = outbox::find(conn, destination_id, event_id)?.ok_or(DestinationError::NotFound)?;
        if event.body.is_none() {
            return Err(DestinationError::Refused(
                "This event told identifiers, which were cleared once it was delivered; it cannot be sent again."
                    .into(),
            ));
        }
        outbox::resend(conn, event_id)?;
        record(
            conn,
            manager,
            AuditAction::DeliveryResent,
            &destination,
            json!({ "event": event.message_id, "type": event.event_type }),
        )
    })
}

/// Paused by the delivery worker: failing for the whole window, or told to stop (410).
/// False when it was paused already.
pub fn pause_on_its_own(
    conn: &mut DbConnection,
    destination: &Destination,
    reason: PausedReason,
) -> DestinationResult<bool> {
    write_transaction(conn, |conn| {
        let current = destinations::get(conn, destination.id)?;
        if current.paused().is_some() || current.removed_at.is_some() {
            return Ok(false);
        }
        destinations::set_paused(conn, destination.id, Some(reason))?;
        let origin = RequestOrigin {
            request_id: "delivery".into(),
            client_ip: String::new(),
        };
        audit::append(
            conn,
            NewEntry::new(Actor::System, AuditAction::DestinationPaused, &origin)
                .workspace(destination.workspace_id)
                .target(format!("destination:{}", destination.id))
                .details(json!({ "reason": reason.key() })),
        )?;
        Ok(true)
    })
}

fn record(
    conn: &mut DbConnection,
    manager: &Manager,
    action: AuditAction,
    destination: &Destination,
    details: serde_json::Value,
) -> DestinationResult<()> {
    audit::append(
        conn,
        NewEntry::new(manager.actor(), action, &manager.origin)
            .workspace(manager.workspace_id)
            .target(format!("destination:{}", destination.id))
            .details(details),
    )?;
    Ok(())
}
