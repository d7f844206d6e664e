//! A data-subject request from intake to close, one function per change, each with its
//! transaction and its audit entry: recorded, extended, erasure started (through the
//! erasure core's own preview), exported, its export downloaded, closed. The audit log
//! names requests by id, kind and dates only, never by what the person gave.

use chrono::Duration;
use serde_json::json;

use crate::db::{write_transaction, DbConnection};
use crate::domain::data_request::{Extension, RequestIntake};
use crate::domain::{AuditAction, JobKind};
use crate::erasure::preview::{create_preview, Selection};
use crate::erasure::suppress;
use crate::erasure::ErasureError;
use crate::secret::SecretKey;
use crate::store::audit::{self, NewEntry};
use crate::store::jobs::Job;
use crate::store::requests::{self, DataRequest, MatchedCustomer};
use crate::store::workspaces::Workspace;
use crate::store::{now, StoreError};
use crate::team::Manager;

#[derive(Debug, thiserror::Error)]
pub enum RequestError {
    #[error("not found")]
    NotFound,
    /// A rule forbids it; the message says which, in plain words.
    #[error("{0}")]
    Refused(String),
    #[error(transparent)]
    Erasure(#[from] ErasureError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("the export could not be written: {0}")]
    Export(String),
}

impl From<diesel::result::Error> for RequestError {
    fn from(err: diesel::result::Error) -> Self {
        RequestError::Store(StoreError::Query(err))
    }
}

impl From<diesel::r2d2::PoolError> for RequestError {
    fn from(err: diesel::r2d2::PoolError) -> Self {
        RequestError::Store(StoreError::Pool(err))
    }
}

pub type RequestResult<T> = Result<T, RequestError>;

/// How the outcome of a closed request is recorded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Done as asked: the export given, the data erased.
    Completed,
    /// Nothing was stored about the person.
    NoData,
    /// Refused, e.g. the identity could not be verified.
    Refused,
}

impl Outcome {
    pub const ALL: [Outcome; 3] = [Outcome::Completed, Outcome::NoData, Outcome::Refused];

    pub fn key(self) -> &'static str {
        match self {
            Outcome::Completed => "completed",
            Outcome::NoData => "no_data",
            Outcome::Refused => "refused",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Outcome::Completed => "Completed as asked",
            Outcome::NoData => "No data held about the person",
            Outcome::Refused => "Refused (identity not verified, or another lawful reason)",
        }
    }

    pub fn parse(key: &str) -> Option<Outcome> {
        Self::ALL.into_iter().find(|o| o.key() == key)
    }
}

fn entry(manager: &Manager, action: AuditAction, request_id: i64) -> NewEntry<'_> {
    NewEntry::new(manager.actor(), action, &manager.origin)
        .workspace(manager.workspace_id)
        .target(format!("request:{request_id}"))
}

fn open_request(conn: &mut DbConnection, manager: &Manager, id: i64) -> RequestResult<DataRequest> {
    let request = requests::find(conn, manager.workspace_id, id)?.ok_or(RequestError::NotFound)?;
    if request.is_closed() {
        return Err(RequestError::Refused("This request is closed.".into()));
    }
    Ok(request)
}

pub fn record(conn: &mut DbConnection, manager: &Manager, intake: &RequestIntake) -> RequestResult<i64> {
    write_transaction(conn, |conn| {
        let id = requests::insert(conn, manager.workspace_id, intake, manager.user_id)?;
        audit::append(
            conn,
            entry(manager, AuditAction::RequestRecorded, id).details(json!({
                "kind": intake.kind.key(),
                "received": intake.received_on.to_string(),
                "due": crate::format::iso(intake.due_at()),
            })),
        )?;
        Ok(id)
    })
}

/// The one extension a request may have (Art. 12(3)).
pub fn extend(
    conn: &mut DbConnection,
    manager: &Manager,
    id: i64,
    extension: &Extension,
) -> RequestResult<()> {
    write_transaction(conn, |conn| {
        let request = open_request(conn, manager, id)?;
        if request.extension_reason.is_some() {
            return Err(RequestError::Refused(
                "A request can be extended once only.".into(),
            ));
        }
        let due_at = request.due_at + Duration::days(extension.days);
        requests::extend(conn, id, due_at, &extension.reason)?;
        audit::append(
            conn,
            entry(manager, AuditAction::RequestExtended, id)
                .details(json!({ "days": extension.days, "due": crate::format::iso(due_at) })),
        )?;
        Ok(())
    })
}

/// The customers the request's identifiers name.
pub fn matches(conn: &mut DbConnection, request: &DataRequest) -> RequestResult<Vec<MatchedCustomer>> {
    Ok(requests::matching_customers(
        conn,
        request.workspace_id,
        request.email.as_deref(),
        request.external_id.as_deref(),
        request.phone.as_deref(),
    )?)
}

/// The suppression digests of the identifiers the person gave, by kind: what closing
/// keeps, and what the request page checks against the suppression list.
pub fn identifier_digests(secret: &SecretKey, request: &DataRequest) -> Vec<(&'static str, String)> {
    let mut digests = Vec::new();
    if let Some(email) = &request.email {
        digests.push((suppress::KIND_EMAIL, suppress::email_digest(secret, email)));
    }
    if let Some(external_id) = &request.external_id {
        digests.push((suppress::KIND_ID, suppress::id_digest(secret, external_id)));
    }
    if let Some(phone) = &request.phone {
        digests.push(("phone", secret.digest("request:phone", phone.trim().as_bytes())));
    }
    digests
}

/// Starts the erasure of the matched customers through the erasure core: a preview of
/// exactly them, which whoever confirms it sees first (with "also suppress"). The
/// request records the job, and through it the receipt.
pub fn start_erasure(
    conn: &mut DbConnection,
    manager: &Manager,
    workspace: &Workspace,
    id: i64,
    kind: JobKind,
) -> RequestResult<Job> {
    write_transaction(conn, |conn| {
        let request = open_request(conn, manager, id)?;
        if !request.request_kind().wants_erasure() {
            return Err(RequestError::Refused(
                "The person asked for a copy of their data, not its erasure.".into(),
            ));
        }
        let ids: Vec<i64> = matches(conn, &request)?.into_iter().map(|m| m.id).collect();
        if ids.is_empty() {
            return Err(RequestError::Refused(
                "No customer has the identifiers this request gives.".into(),
            ));
        }
        let job = create_preview(conn, workspace, manager.user_id, kind, &Selection::Ids(ids))?;
        requests::set_job(conn, id, job.id)?;
        audit::append(
            conn,
            entry(manager, AuditAction::RequestErasureStarted, id)
                .affected(job.total)
                .details(json!({ "job": job.id, "kind": kind.key() })),
        )?;
        Ok(job)
    })
}

/// Closes the request with its outcome; the identifiers the person gave are kept from
/// now on as keyed digests only, and their plain values leave the database files as an
/// erasure's do.
pub fn close(
    conn: &mut DbConnection,
    manager: &Manager,
    secret: &SecretKey,
    id: i64,
    outcome: Outcome,
) -> RequestResult<()> {
    write_transaction(conn, |conn| -> RequestResult<()> {
        let request = open_request(conn, manager, id)?;
        let digests = identifier_digests(secret, &request);
        let stored = serde_json::to_string(&digests).expect("digests serialize");
        requests::close(conn, id, outcome.key(), &stored)?;
        audit::append(
            conn,
            entry(manager, AuditAction::RequestClosed, id).details(json!({
                "outcome": outcome.key(),
                "on_time": now() <= request.due_at,
                "job": request.job_id,
            })),
        )?;
        Ok(())
    })?;
    if let Err(err) = crate::store::erasures::flush_erased_pages(conn, false) {
        tracing::warn!(error = %err, "could not flush a closed request's pages");
    }
    Ok(())
}
