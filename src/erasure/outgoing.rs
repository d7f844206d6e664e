//! The events an erasure leaves in the outbox for the workspace's destinations, written
//! in the erasure's own transaction: a crash after the commit never loses one, and an
//! erasure that rolls back never sends one (GDPR Art. 17(2) and 19: every recipient is
//! told).
//!
//! What an event says: the workspace, the internal ids, the job and its receipt, the
//! suppression digests. The external id only to a destination that already holds it;
//! an email, phone or name only to one whose owner ticked "include identifiers".

use rand::distributions::{Alphanumeric, DistString};
use serde_json::{json, Value};

use crate::db::DbConnection;
use crate::domain::DestinationEvent;
use crate::store::destinations::{self, Destination};
use crate::store::erasures::ErasureTarget;
use crate::store::outbox::{self, NewOutboxEvent};
use crate::store::workspaces::Workspace;
use crate::store::{now, StoreResult};

/// How many customers one event of a bulk job lists at most.
pub const CUSTOMERS_PER_EVENT: usize = 1_000;

/// The job an erasure belongs to, and its receipt.
#[derive(Debug, Clone, Copy)]
pub struct JobRef<'a> {
    pub id: i64,
    pub receipt_id: &'a str,
}

/// How an erasure is told: one customer as one event (`customer.deleted`), a bulk job's
/// batch as lists of up to a thousand (`customers.deleted`), and a replay after a restore
/// (which repeats erasures whose events the restore may have lost) as lists with no job.
#[derive(Debug, Clone, Copy)]
pub enum Told<'a> {
    Single(JobRef<'a>),
    Batch(JobRef<'a>),
    Replay,
}

impl<'a> Told<'a> {
    fn job(self) -> Option<JobRef<'a>> {
        match self {
            Told::Single(job) | Told::Batch(job) => Some(job),
            Told::Replay => None,
        }
    }

    fn lists(self) -> bool {
        !matches!(self, Told::Single(_))
    }
}

/// One erased customer as the events may tell of them.
#[derive(Debug, Clone)]
pub struct ErasedCustomer {
    pub id: i64,
    pub external_id: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub name: Option<String>,
    /// (kind, digest) of each identifier suppressed with the deletion.
    pub suppressed: Vec<(&'static str, String)>,
}

impl From<&ErasureTarget> for ErasedCustomer {
    /// A target as its erasure's events may tell of it: with the values it had before.
    fn from(target: &ErasureTarget) -> ErasedCustomer {
        ErasedCustomer {
            id: target.id,
            external_id: target.external_id.clone(),
            email: target.email.clone(),
            phone: target.phone.clone(),
            name: target.name.clone(),
            suppressed: Vec::new(),
        }
    }
}

/// Writes the events telling of erased customers: one per customer for a single
/// erasure, one per thousand for a bulk job's batch, to each destination that wants it.
pub fn customers_erased(
    conn: &mut DbConnection,
    workspace: &Workspace,
    event: DestinationEvent,
    told: Told<'_>,
    customers: &[ErasedCustomer],
    suppressed: bool,
) -> StoreResult<()> {
    if customers.is_empty() {
        return Ok(());
    }
    let targets = destinations::subscribed(conn, workspace.id, event)?;
    if targets.is_empty() {
        return Ok(());
    }
    let mut events = Vec::new();
    for destination in &targets {
        for chunk in customers.chunks(if told.lists() { CUSTOMERS_PER_EVENT } else { 1 }) {
            let listed: Vec<Value> = chunk.iter().map(|c| customer_data(destination, c)).collect();
            // Whatever identifies a person beyond our own ids leaves the outbox once sent.
            let carries = listed.iter().any(|c| {
                ["external_id", "email", "phone", "name"]
                    .iter()
                    .any(|k| c.get(k).is_some())
            });
            let mut data = common_data(workspace, told.job());
            data["suppressed"] = json!(suppressed);
            if matches!(told, Told::Replay) {
                data["replay"] = json!(true);
            }
            let event_type = if told.lists() {
                data["customers"] = Value::Array(listed);
                event.bulk_key()
            } else {
                data["customer"] = listed.into_iter().next().unwrap_or(Value::Null);
                event.key()
            };
            events.push(new_event(
                workspace,
                destination,
                event_type,
                data,
                told.job(),
                chunk.len() as i64,
                carries,
            ));
        }
    }
    outbox::insert_many(conn, &events)
}

/// Writes the event telling that identifiers were suppressed (or freed), by digest.
pub fn identifiers_changed(
    conn: &mut DbConnection,
    workspace: &Workspace,
    event: DestinationEvent,
    digests: &[(String, String)],
    reason: Option<&str>,
    job: Option<JobRef<'_>>,
) -> StoreResult<()> {
    let targets = destinations::subscribed(conn, workspace.id, event)?;
    let mut events = Vec::new();
    for destination in &targets {
        let mut data = common_data(workspace, job);
        data["identifiers"] = digests
            .iter()
            .map(|(kind, digest)| json!({ "kind": kind, "digest": digest }))
            .collect();
        if let Some(reason) = reason {
            data["reason"] = json!(reason);
        }
        events.push(new_event(
            workspace,
            destination,
            event.key(),
            data,
            job,
            0,
            false,
        ));
    }
    outbox::insert_many(conn, &events)
}

/// Writes the event telling that a "delete all" job ended with every customer gone.
pub fn delete_all_finished(
    conn: &mut DbConnection,
    workspace: &Workspace,
    job: JobRef<'_>,
    deleted: i64,
    skipped_held: i64,
) -> StoreResult<()> {
    let event = DestinationEvent::DeleteAllFinished;
    let targets = destinations::subscribed(conn, workspace.id, event)?;
    let mut events = Vec::new();
    for destination in &targets {
        let mut data = common_data(workspace, Some(job));
        data["deleted"] = json!(deleted);
        data["skipped_legal_hold"] = json!(skipped_held);
        events.push(new_event(
            workspace,
            destination,
            event.key(),
            data,
            Some(job),
            deleted,
            false,
        ));
    }
    outbox::insert_many(conn, &events)
}

fn common_data(workspace: &Workspace, job: Option<JobRef<'_>>) -> Value {
    let mut data = json!({ "workspace": workspace.slug, "workspace_id": workspace.id });
    if let Some(job) = job {
        data["job"] = json!(job.id);
        data["receipt"] = json!(job.receipt_id);
    }
    data
}

/// What one destination is told of one customer.
fn customer_data(destination: &Destination, customer: &ErasedCustomer) -> Value {
    let mut data = json!({ "id": customer.id });
    if destination.holds_external_id || destination.include_identifiers {
        if let Some(external_id) = &customer.external_id {
            data["external_id"] = json!(external_id);
        }
    }
    if destination.include_identifiers {
        for (key, value) in [
            ("email", &customer.email),
            ("phone", &customer.phone),
            ("name", &customer.name),
        ] {
            if let Some(value) = value {
                data[key] = json!(value);
            }
        }
    }
    if !customer.suppressed.is_empty() {
        data["suppression_digests"] = customer
            .suppressed
            .iter()
            .map(|(kind, digest)| json!({ "kind": kind, "digest": digest }))
            .collect();
    }
    data
}

fn new_event(
    workspace: &Workspace,
    destination: &Destination,
    event_type: &'static str,
    data: Value,
    job: Option<JobRef<'_>>,
    customers: i64,
    carries_identifiers: bool,
) -> NewOutboxEvent {
    let body = json!({
        "type": event_type,
        "timestamp": crate::format::iso(now()),
        "data": data,
    });
    NewOutboxEvent {
        workspace_id: workspace.id,
        destination_id: destination.id,
        message_id: new_message_id(),
        event_type,
        body: body.to_string(),
        carries_identifiers,
        customers,
        job_id: job.map(|j| j.id),
        receipt_id: job.map(|j| j.receipt_id.to_owned()),
    }
}

/// A `webhook-id`: unique per event and destination, the same on every attempt, so a
/// receiver deduplicates on it.
fn new_message_id() -> String {
    format!("msg_{}", Alphanumeric.sample_string(&mut rand::rngs::OsRng, 27))
}
