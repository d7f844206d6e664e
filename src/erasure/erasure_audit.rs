//! The audit entries that say what an erasure did, under the actions a compliance
//! reader filters by ("Customers deleted", "Customers archived", "Identifier
//! suppressed"), whichever way it was done: one customer at once (see `single`), a
//! bulk job (one entry for the whole job when it ends, done or cancelled, with what
//! it did until then), identifiers suppressed with a deletion, or a replay after a
//! restore. Ids, counts and the receipt only: never a customer's personal data.

use crate::db::DbConnection;
use crate::domain::{AuditAction, JobKind, JobState};
use crate::store::audit::{self, Actor, AuditEntry, NewEntry, RequestOrigin};
use crate::store::jobs::Job;
use crate::store::StoreResult;

/// The action an erasure of this kind is recorded under.
pub fn erasure_action(kind: JobKind) -> AuditAction {
    if kind.deletes() {
        AuditAction::CustomerDeleted
    } else {
        AuditAction::CustomerArchived
    }
}

/// A bulk erasure job's own entry, written in the transaction that ends it, and beside
/// it an "identifier suppressed" entry when the job suppressed the identifiers of the
/// customers it deleted. `job` holds its counts as they are at its end. Returns the
/// erasure's entry, whose hash its receipt carries; `None` for an import, which erases
/// nothing.
pub(crate) fn record_job(
    conn: &mut DbConnection,
    job: &Job,
    final_state: JobState,
    origin: &RequestOrigin,
) -> StoreResult<Option<AuditEntry>> {
    if job.kind == JobKind::Import {
        return Ok(None);
    }
    let actor = Actor::User(job.created_by);
    let suppressed = job.suppress && job.kind.deletes();
    let entry = audit::append(
        conn,
        NewEntry::new(actor, erasure_action(job.kind), origin)
            .workspace(job.workspace_id)
            .target(format!("job:{}", job.id))
            .selection(job.selection.clone())
            .affected(job.done)
            .details(serde_json::json!({
                "job": job.id,
                "kind": job.kind.key(),
                "state": final_state.key(),
                "previewed": job.total,
                "skipped_already_gone": job.skipped_missing,
                "skipped_legal_hold": job.skipped_held,
                "skipped_already_anonymous": job.skipped_other,
                "events_removed": job.events_removed,
                "devices_removed": job.devices_removed,
                "suppressed": suppressed,
                "receipt": job.receipt_id,
            })),
    )?;
    if suppressed && job.done > 0 {
        audit::append(
            conn,
            NewEntry::new(actor, AuditAction::IdentifierSuppressed, origin)
                .workspace(job.workspace_id)
                .target(format!("job:{}", job.id))
                .selection(job.selection.clone())
                .affected(job.done)
                .details(serde_json::json!({
                    "job": job.id,
                    "customers": job.done,
                    "reason": "deleted",
                    "receipt": job.receipt_id,
                })),
        )?;
    }
    Ok(Some(entry))
}

/// The "identifier suppressed" entry of one customer deleted with their identifiers
/// suppressed, beside the deletion's own entry.
pub(crate) fn record_single_suppression(
    conn: &mut DbConnection,
    actor: Actor,
    origin: &RequestOrigin,
    workspace_id: i64,
    customer_id: i64,
    receipt_id: &str,
) -> StoreResult<AuditEntry> {
    audit::append(
        conn,
        NewEntry::new(actor, AuditAction::IdentifierSuppressed, origin)
            .workspace(workspace_id)
            .target(format!("customer:{customer_id}"))
            .selection(format!("customer #{customer_id}"))
            .affected(1)
            .details(serde_json::json!({
                "customers": 1,
                "reason": "deleted",
                "receipt": receipt_id,
            })),
    )
}

/// What a replay after a restore did again in one workspace, under the erasure
/// actions: the restored log may have lost the entries of the erasures it repeats.
pub(crate) fn record_replay(
    conn: &mut DbConnection,
    origin: &RequestOrigin,
    workspace_id: i64,
    deleted_again: i64,
    archived_again: i64,
    suppressed_again: i64,
) -> StoreResult<()> {
    for (action, count) in [
        (AuditAction::CustomerDeleted, deleted_again),
        (AuditAction::CustomerArchived, archived_again),
        (AuditAction::IdentifierSuppressed, suppressed_again),
    ] {
        if count == 0 {
            continue;
        }
        audit::append(
            conn,
            NewEntry::new(Actor::System, action, origin)
                .workspace(workspace_id)
                .target("journal".to_owned())
                .selection("replayed after a restore".to_owned())
                .affected(count)
                .details(serde_json::json!({ "replay": true })),
        )?;
    }
    Ok(())
}
