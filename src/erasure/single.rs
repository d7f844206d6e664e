//! Erasing one customer at once, from their page or the API: no queue, but the same
//! batch code, a job row that serves as its receipt, and one audit entry.

use crate::db::{write_transaction, DbConnection};
use crate::domain::{AuditAction, JobKind};
use crate::erasure::batch::{erase_batch, ErasureScope};
use crate::erasure::receipt::new_receipt_id;
use crate::erasure::ErasureError;
use crate::store::audit::{self, Actor, NewEntry, RequestOrigin};
use crate::store::jobs::{self, state, Job, NewJob};
use crate::store::{erasures, now};

pub struct SingleErasure {
    pub job: Job,
    pub events_removed: i64,
    pub audit_hash: String,
}

/// Deletes or archives one customer. Missing → NotFound, held → Held, and nothing
/// changes in either case. Called inside a transaction it joins it; the caller then
/// flushes erased pages (`erasures::flush_erased_pages`) once it has committed.
pub fn erase_one(
    conn: &mut DbConnection,
    scope: &ErasureScope<'_>,
    actor: Actor,
    kind: JobKind,
    customer_id: i64,
    suppress: bool,
    origin: &RequestOrigin,
) -> Result<SingleErasure, ErasureError> {
    let outcome = write_transaction(conn, |conn| -> Result<SingleErasure, ErasureError> {
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
            },
        )?;
        // One customer's trigrams leave the search index now, not at the next merge.
        erasures::erase_search_entries_at_once(conn, true)?;
        let counts = erase_batch(conn, scope, kind, &[customer_id], suppress)?;
        erasures::erase_search_entries_at_once(conn, false)?;
        let action = if kind.deletes() {
            AuditAction::CustomerDeleted
        } else {
            AuditAction::CustomerArchived
        };
        let entry = audit::append(
            conn,
            NewEntry::new(actor, action, origin)
                .workspace(scope.workspace.id)
                .target(format!("customer:{customer_id}"))
                .selection(selection)
                .affected(counts.done)
                .details(serde_json::json!({
                    "events_removed": counts.events_removed,
                    "suppressed": suppress && kind.deletes(),
                    "receipt": receipt_id,
                    "skipped_already_anonymous": counts.skipped_other,
                })),
        )?;
        let job = jobs::complete_immediately(conn, job.id, 1, counts, &entry.hash)?;
        Ok(SingleErasure {
            job,
            events_removed: counts.events_removed,
            audit_hash: entry.hash,
        })
    })?;
    Ok(outcome)
}
