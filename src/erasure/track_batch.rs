//! Applying the operations of a Track API v2 batch, in order, each with exactly the
//! guarantees of its v1 twin: every operation goes through the same function (identify,
//! event, device, erasure, suppression, merge), which owns its transaction, checks
//! suppression in it, and audits what it erases.
//!
//! Each operation is atomic on its own, so one refused operation leaves nothing behind
//! and does not undo the others, as Customer.io's partial-failure answer promises. The
//! one exception to "one transaction per operation" is speed without a change in
//! meaning: a run of consecutive identifies goes through the CSV import's
//! `write_batch`, one transaction that checks every write's suppression digests under
//! their locks and answers per write, exactly as `identify` would.

use crate::db::DbConnection;
use crate::domain::{Change, JobKind, TrackOperation};
use crate::erasure::anonymous::anonymous_digest;
use crate::erasure::merge::{merge_customers, MergeError};
use crate::erasure::single::{erase_customer, CustomerRef};
use crate::erasure::suppress::{digests_for_write, digests_matching_identifier};
use crate::erasure::suppression::{suppress_identifier, unsuppress_digests};
use crate::erasure::{Eraser, ErasureError};
use crate::store::customer_batch::{write_batch, BatchWrite, Outcome};
use crate::store::customer_writes::{self, WriteError};
use crate::store::devices::{self, DeviceWriteError};
use crate::store::suppressions::Digest;
use crate::store::StoreError;

/// Why one operation was refused. Nothing of it was written.
#[derive(Debug, thiserror::Error)]
pub enum OperationFailure {
    #[error(transparent)]
    Write(#[from] WriteError),
    #[error(transparent)]
    Device(#[from] DeviceWriteError),
    #[error(transparent)]
    Merge(#[from] MergeError),
    #[error(transparent)]
    Erasure(#[from] ErasureError),
}

impl OperationFailure {
    /// The database failing is no refusal of the operation: the batch stops there.
    fn into_store_error(self) -> Result<StoreError, OperationFailure> {
        match self {
            OperationFailure::Write(WriteError::Store(err))
            | OperationFailure::Device(DeviceWriteError::Write(WriteError::Store(err)))
            | OperationFailure::Merge(MergeError::Store(err))
            | OperationFailure::Erasure(ErasureError::Store(err)) => Ok(err),
            refused => Err(refused),
        }
    }
}

/// What became of a batch's operations.
#[derive(Debug)]
pub struct BatchOutcome {
    /// One per operation, in order, up to where the batch stopped: applied, or refused.
    pub results: Vec<Result<(), OperationFailure>>,
    /// The database failed at operation `results.len()`: neither it nor any after it
    /// was applied.
    pub stopped: Option<StoreError>,
}

/// Applies the operations in order. Two operations about one person are applied one
/// after the other, as separate calls would be.
pub fn apply_operations(
    conn: &mut DbConnection,
    eraser: &Eraser,
    operations: &[TrackOperation],
) -> BatchOutcome {
    let mut outcome = BatchOutcome {
        results: Vec::with_capacity(operations.len()),
        stopped: None,
    };
    let mut at = 0;
    while at < operations.len() {
        let run = identify_run(&operations[at..]);
        let step: Result<Vec<Result<(), OperationFailure>>, StoreError> = if run > 1 {
            identify_many(conn, eraser, &operations[at..at + run])
        } else {
            match apply_one(conn, eraser, &operations[at]).map_err(OperationFailure::into_store_error) {
                Ok(()) => Ok(vec![Ok(())]),
                Err(Ok(store)) => Err(store),
                Err(Err(refused)) => Ok(vec![Err(refused)]),
            }
        };
        match step {
            Ok(results) => {
                at += results.len();
                outcome.results.extend(results);
            }
            Err(err) => {
                outcome.stopped = Some(err);
                break;
            }
        }
    }
    outcome
}

/// How many operations from the first are plain identifies (no anonymous events to
/// claim), which one `write_batch` can take together.
fn identify_run(operations: &[TrackOperation]) -> usize {
    operations
        .iter()
        .take_while(|op| matches!(op, TrackOperation::Identify { patch, .. } if patch.anonymous_id.is_none()))
        .count()
}

fn identify_many(
    conn: &mut DbConnection,
    eraser: &Eraser,
    operations: &[TrackOperation],
) -> Result<Vec<Result<(), OperationFailure>>, StoreError> {
    let parts: Vec<_> = operations
        .iter()
        .filter_map(|op| match op {
            TrackOperation::Identify { identifier, patch } => {
                let digests: Vec<Digest> = digests_for_write(&eraser.secret, identifier, body_email(patch));
                Some((identifier, patch, digests))
            }
            _ => None,
        })
        .collect();
    let writes: Vec<BatchWrite<'_>> = parts
        .iter()
        .map(|(identifier, patch, digests)| BatchWrite {
            identifier,
            patch,
            digests,
        })
        .collect();
    let outcomes = write_batch(conn, eraser.workspace.id, &writes)?;
    Ok(outcomes
        .into_iter()
        .map(|outcome| match outcome {
            Outcome::Created | Outcome::Updated => Ok(()),
            Outcome::Skipped(refused) => Err(refused.into()),
        })
        .collect())
}

fn body_email(patch: &crate::domain::CustomerPatch) -> Option<&str> {
    match &patch.email {
        Change::Set(email) => Some(email.as_str()),
        _ => None,
    }
}

/// One operation through the function its v1 call uses.
fn apply_one(
    conn: &mut DbConnection,
    eraser: &Eraser,
    operation: &TrackOperation,
) -> Result<(), OperationFailure> {
    let workspace_id = eraser.workspace.id;
    let secret = &eraser.secret;
    match operation {
        TrackOperation::Identify { identifier, patch } => {
            let digests = digests_for_write(secret, identifier, body_email(patch));
            let claim = patch.anonymous_id.as_ref().map(|id| anonymous_digest(secret, id));
            customer_writes::identify_claiming(
                conn,
                workspace_id,
                identifier,
                patch,
                &digests,
                claim.as_deref(),
            )?;
        }
        TrackOperation::Event { identifier, event } => {
            let digests = digests_for_write(secret, identifier, None);
            customer_writes::record_event(conn, workspace_id, identifier, event, &digests)?;
        }
        TrackOperation::AddDevice { identifier, device } => {
            let digests = digests_for_write(secret, identifier, None);
            devices::add_device(conn, workspace_id, identifier, device, &digests)?;
        }
        TrackOperation::DeleteDevice { identifier, token } => {
            devices::remove_device(conn, workspace_id, identifier, token)?;
        }
        // Deleting someone who is not there is done already, as in v1.
        TrackOperation::Delete { identifier } => {
            erase_customer(
                conn,
                eraser,
                JobKind::Delete,
                CustomerRef::Identifier(identifier),
                false,
            )?;
        }
        TrackOperation::Suppress { identifier } => {
            suppress_identifier(conn, eraser, identifier, "api")?;
        }
        TrackOperation::Unsuppress { identifier } => {
            unsuppress_digests(conn, eraser, &digests_matching_identifier(secret, identifier))?;
        }
        TrackOperation::Merge(request) => {
            merge_customers(conn, eraser, &request.primary, &request.secondary)?;
        }
    }
    Ok(())
}
