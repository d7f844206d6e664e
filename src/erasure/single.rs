//! Erasing one customer at once, from their page or the API: no queue, but the same
//! batch code, a job row that serves as its receipt, and one audit entry.

use crate::db::{write_transaction, DbConnection};
use crate::domain::{Identifier, JobKind};
use crate::erasure::batch::{erase_batch, ErasureScope};
use crate::erasure::eraser::Eraser;
use crate::erasure::erasure_audit;
use crate::erasure::outgoing::{JobRef, Told};
use crate::erasure::receipt::new_receipt_id;
use crate::erasure::ErasureError;
use crate::store::audit::{self, Actor, NewEntry, RequestOrigin};
use crate::store::jobs::{self, state, Job, NewJob};
use crate::store::{customer_writes, erasures, now};

pub struct SingleErasure {
    pub job: Job,
    pub events_removed: i64,
    pub devices_removed: i64,
    pub audit_hash: String,
}

/// How the caller names the customer to erase.
#[derive(Debug, Clone, Copy)]
pub enum CustomerRef<'a> {
    /// The internal id, as the console's pages name customers.
    Internal(i64),
    /// As a Track API call names them; resolved inside the erasure's transaction.
    Identifier(&'a Identifier),
}

/// Deletes or archives one customer with every guarantee an erasure has: the row
/// locked against concurrent writes, legal hold respected, identifiers suppressed when
/// asked, the journal synced before the commit, the search index's trigrams removed at
/// once, one audit entry and a receipt; and after the commit, the erased pages flushed
/// out of every database file. `Ok(None)` when no customer has that identifier.
pub fn erase_customer(
    conn: &mut DbConnection,
    eraser: &Eraser,
    kind: JobKind,
    customer: CustomerRef<'_>,
    suppress: bool,
) -> Result<Option<SingleErasure>, ErasureError> {
    let scope = eraser.scope();
    let outcome = write_transaction(conn, |conn| -> Result<Option<SingleErasure>, ErasureError> {
        let id = match customer {
            CustomerRef::Internal(id) => id,
            CustomerRef::Identifier(identifier) => {
                match customer_writes::resolve(conn, scope.workspace.id, identifier)? {
                    Some(id) => id,
                    None => return Ok(None),
                }
            }
        };
        let erased = erase_one(conn, &scope, eraser.actor, kind, id, suppress, &eraser.origin)?;
        if suppress && kind.deletes() && erased.job.done > 0 {
            let receipt = &erased.job.receipt_id;
            erasure_audit::record_single_suppression(
                conn,
                eraser.actor,
                &eraser.origin,
                scope.workspace.id,
                id,
                receipt,
            )?;
        }
        Ok(Some(erased))
    })?;
    if outcome.is_some() {
        flush_after_commit(conn);
    }
    Ok(outcome)
}

/// After an erasure committed: what it removed leaves the log files too. The erasure
/// stands either way, so a failure here is logged rather than reported as a failed
/// erasure; the next erasure's flush folds the same pages.
pub(crate) fn flush_after_commit(conn: &mut DbConnection) {
    if let Err(err) = erasures::flush_erased_pages(conn, false) {
        tracing::warn!(error = %err, "could not flush erased pages");
    }
}

/// Deletes or archives one customer inside the caller's transaction (or its own).
/// Missing → NotFound, held → Held, and nothing changes in either case. The caller
/// flushes erased pages (`flush_after_commit`) once the outermost transaction committed.
pub(crate) fn erase_one(
    conn: &mut DbConnection,
    scope: &ErasureScope<'_>,
    actor: Actor,
    kind: JobKind,
    customer_id: i64,
    suppress: bool,
    origin: &RequestOrigin,
) -> Result<SingleErasure, ErasureError> {
    let outcome = write_transaction(conn, |conn| -> Result<SingleErasure, ErasureError> {
        // Locked first: an event a Track API call is adding meanwhile is then either
        // committed before (and erased with the rest) or added after, to a new customer.
        if !erasures::lock_customer(conn, scope.workspace.id, customer_id)? {
            return Err(ErasureError::NotFound);
        }
        let target = erasures::load_targets(conn, scope.workspace.id, &[customer_id])?
            .into_iter()
            .next()
            .ok_or(ErasureError::NotFound)?;
        if target.is_held() {
            return Err(ErasureError::Held);
        }
        let receipt_id = new_receipt_id();
        let selection = format!("customer #{customer_id}");
        let started = now();
        let job = jobs::insert(
            conn,
            &NewJob {
                workspace_id: scope.workspace.id,
                kind: kind.key(),
                state: state::RUNNING,
                selection: &selection,
                suppress,
                created_by: scope.by_user.unwrap_or(0),
                created_at: started,
                receipt_id: &receipt_id,
                payload: "{}",
                freezing: false,
                freeze_expected: 0,
            },
        )?;
        // One customer's trigrams leave the search index now, not at the next merge.
        erasures::erase_search_entries_at_once(conn, true)?;
        let told = Told::Single(JobRef {
            id: job.id,
            receipt_id: &receipt_id,
        });
        let counts = erase_batch(conn, scope, kind, &[customer_id], suppress, told)?;
        erasures::erase_search_entries_at_once(conn, false)?;
        let action = erasure_audit::erasure_action(kind);
        let entry = audit::append(
            conn,
            NewEntry::new(actor, action, origin)
                .workspace(scope.workspace.id)
                .target(format!("customer:{customer_id}"))
                .selection(selection)
                .affected(counts.done)
                .details(serde_json::json!({
                    "events_removed": counts.events_removed,
                    "devices_removed": counts.devices_removed,
                    "suppressed": suppress && kind.deletes(),
                    "receipt": receipt_id,
                    "skipped_already_anonymous": counts.skipped_other,
                })),
        )?;
        let job = jobs::complete_immediately(conn, job.id, 1, counts, &entry.hash)?;
        Ok(SingleErasure {
            job,
            events_removed: counts.events_removed,
            devices_removed: counts.devices_removed,
            audit_hash: entry.hash,
        })
    })?;
    Ok(outcome)
}
