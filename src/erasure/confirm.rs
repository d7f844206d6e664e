//! What happens to a previewed job: confirmed (queued for the runner), discarded, or,
//! once running, cancelled. Each is one transaction with its audit entry.

use crate::db::{write_transaction, DbConnection};
use crate::domain::{AuditAction, JobKind, JobState, Permission};
use crate::erasure::eraser::Eraser;
use crate::erasure::ErasureError;
use crate::store::audit::{self, NewEntry};
use crate::store::jobs::{self, Job};

/// The permission acting on a job takes: its kind's, and `customers.delete_all` for a
/// set that is every customer of the workspace, whatever its kind.
pub fn permissions_for(job: &Job) -> Vec<Permission> {
    let mut needed = vec![permission_for(job.kind)];
    if job.whole_workspace && !needed.contains(&Permission::CustomersDeleteAll) {
        needed.push(Permission::CustomersDeleteAll);
    }
    needed
}

/// The permission a kind of job takes.
pub fn permission_for(kind: JobKind) -> Permission {
    match kind {
        JobKind::Delete => Permission::CustomersDelete,
        JobKind::Archive => Permission::CustomersArchive,
        JobKind::DeleteAll => Permission::CustomersDeleteAll,
        // Adding customers in bulk is a decision about the workspace's data as a whole.
        JobKind::Import => Permission::SettingsManage,
    }
}

/// What confirming did.
#[derive(Debug, PartialEq, Eq)]
pub enum Confirmed {
    /// Queued now.
    Queued,
    /// It was no longer a preview: someone confirmed or discarded it first.
    AlreadyDecided,
}

/// Confirms a previewed job without a code, once its set is frozen. A job that waits
/// for the owner's code (a delete-all, a whole workspace, a set above the threshold) is
/// refused here: only `owner_code::enter_code` queues those.
pub fn confirm_job(
    conn: &mut DbConnection,
    eraser: &Eraser,
    job_id: i64,
    suppress: bool,
) -> Result<Confirmed, ErasureError> {
    write_transaction(conn, |conn| {
        let job = jobs::find(conn, eraser.workspace.id, job_id)?.ok_or(ErasureError::NotFound)?;
        if job.state == JobState::Preview && job.freezing {
            return Err(ErasureError::NotFrozen);
        }
        // Before the state: this route never confirms such a job, whatever its state.
        if job.needs_owner_code || job.kind == JobKind::DeleteAll {
            return Err(ErasureError::NeedsOwnerCode);
        }
        if job.state != JobState::Preview {
            return Ok(Confirmed::AlreadyDecided);
        }
        if job.total == 0 {
            // Everyone it was for was gone before the freeze reached them.
            return Err(ErasureError::EmptySelection);
        }
        queue(conn, eraser, &job, suppress)
    })
}

/// Queues a previewed job with its one "job started" audit entry. For callers that
/// checked what the job needs (a code, a permission) in the same transaction.
pub(crate) fn queue(
    conn: &mut DbConnection,
    eraser: &Eraser,
    job: &Job,
    suppress: bool,
) -> Result<Confirmed, ErasureError> {
    let suppress = suppress && job.kind.deletes();
    if !jobs::confirm(conn, job.id, suppress)? {
        return Ok(Confirmed::AlreadyDecided);
    }
    audit::append(
        conn,
        NewEntry::new(eraser.actor, AuditAction::JobStarted, &eraser.origin)
            .workspace(eraser.workspace.id)
            .target(format!("job:{}", job.id))
            .selection(job.selection.clone())
            .affected(job.total)
            .details(serde_json::json!({
                "kind": job.kind.key(),
                "suppress": suppress,
                "whole_workspace": job.whole_workspace,
                "owner_code": job.needs_owner_code,
            })),
    )?;
    Ok(Confirmed::Queued)
}

/// Discards a preview and forgets its frozen set; nothing else changes. True when it
/// was still a preview.
pub fn discard_job(conn: &mut DbConnection, eraser: &Eraser, job_id: i64) -> Result<bool, ErasureError> {
    write_transaction(conn, |conn| {
        let job = jobs::find(conn, eraser.workspace.id, job_id)?.ok_or(ErasureError::NotFound)?;
        if !jobs::discard(conn, job.id)? {
            return Ok(false);
        }
        jobs::clear_targets(conn, job.id)?;
        Ok(true)
    })
}

/// Asks a queued or running job to stop after the batch in progress; the runner
/// writes the audit entry when it stops. True when the request was taken.
pub fn cancel_job(conn: &mut DbConnection, eraser: &Eraser, job_id: i64) -> Result<bool, ErasureError> {
    write_transaction(conn, |conn| {
        let job = jobs::find(conn, eraser.workspace.id, job_id)?.ok_or(ErasureError::NotFound)?;
        Ok(jobs::request_cancel(conn, job.id)?)
    })
}
