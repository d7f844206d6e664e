//! The preview of a bulk erasure: the exact set it will touch, frozen as the job's
//! targets before anyone confirms. Customers who start matching afterwards are not
//! in it; customers gone by the time it runs are counted as already gone.
//!
//! Freezing hundreds of thousands of customers takes half a minute, so it runs like a
//! job. The request that asks for a preview records what was asked for (the job's
//! payload) and freezes the first batch; when that was not all, the runner freezes the
//! rest a batch per transaction, under a lease. A server that stops mid-freeze leaves
//! its lease to run out, and any server (itself, restarted, included) goes on after the
//! last batch that committed. Until the last batch the preview is `freezing`, and
//! nothing confirms it: a half-frozen set is never erased.

use chrono::NaiveDateTime;
use serde::{Deserialize, Serialize};

use crate::db::{write_transaction, DbConnection};
use crate::domain::{CustomerFilter, JobKind};
use crate::erasure::receipt::new_receipt_id;
use crate::erasure::ErasureError;
use crate::store::jobs::{self, state, Job, NewJob, PreviewCounts, PreviewGate};
use crate::store::workspaces::Workspace;
use crate::store::{customers, devices, erasures, now, StoreError};

/// Which customers a bulk action is for.
#[derive(Debug, Clone)]
pub enum Selection {
    /// Ticked on the list (ids of other workspaces are ignored).
    Ids(Vec<i64>),
    /// Everyone matching the list's filters.
    Filter(CustomerFilter),
    /// Every customer of the workspace.
    All,
}

impl Selection {
    /// The selection in words, for the preview, the receipt and the audit log: never
    /// a typed search or attribute value, which could name the people it erases.
    pub fn describe(&self, workspace_name: &str) -> String {
        match self {
            Selection::Ids(ids) if ids.len() == 1 => "1 selected customer".to_owned(),
            Selection::Ids(ids) => format!(
                "{} selected customers",
                crate::format::thousands(ids.len() as i64)
            ),
            Selection::Filter(filter) => filter.describe_for_record(),
            Selection::All => format!("every customer of workspace {workspace_name}"),
        }
    }
}

/// How many customers one batch freezes when a preview is frozen whole, in one
/// transaction (a delete-all, whose code starts it at once).
const CHUNK: i64 = 5000;

/// The default threshold above which a bulk erasure needs the owner's code.
pub const DEFAULT_OWNER_CODE_THRESHOLD: i64 = 10_000;

/// Whether a bulk erasure of `total` of a workspace's `workspace_total` customers waits
/// for the account owner's code: always when it is every customer (a delete-all by
/// another name), and above the workspace's threshold, by default 10,000 customers or
/// half of the workspace, whichever is smaller.
pub fn needs_owner_code(total: i64, workspace_total: i64, configured: Option<i64>) -> bool {
    total >= workspace_total || total > owner_code_threshold(workspace_total, configured)
}

/// Above how many customers a bulk erasure of this workspace needs the owner's code:
/// the configured number, or 10,000 or half of the workspace, whichever is smaller.
pub fn owner_code_threshold(workspace_total: i64, configured: Option<i64>) -> i64 {
    configured.unwrap_or_else(|| DEFAULT_OWNER_CODE_THRESHOLD.min(workspace_total / 2))
}

/// What a freeze works through, kept as the job's payload until its set is frozen (and
/// then forgotten: a filter's typed search may name the people it erases).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "freeze", rename_all = "snake_case")]
enum FreezePlan {
    /// These ids, ascending and without repeats; those not of the workspace are skipped.
    Ids { ids: Vec<i64> },
    /// Everyone matching the filter, in its stored form (every customer when empty).
    Filter { filter: String },
}

/// One batch of a freeze: the customers found, the id the batch ends at, and whether
/// nothing comes after it.
struct Chunk {
    ids: Vec<i64>,
    end: i64,
    last: bool,
}

impl FreezePlan {
    fn of(selection: &Selection) -> FreezePlan {
        match selection {
            Selection::Ids(wanted) => {
                let mut ids = wanted.clone();
                ids.sort_unstable();
                ids.dedup();
                FreezePlan::Ids { ids }
            }
            Selection::Filter(filter) => FreezePlan::Filter {
                filter: filter.to_stored(),
            },
            Selection::All => FreezePlan::Filter {
                filter: CustomerFilter::default().to_stored(),
            },
        }
    }

    fn read(payload: &str) -> Result<FreezePlan, ErasureError> {
        serde_json::from_str(payload).map_err(|err| {
            StoreError::Inconsistent(format!("a freezing preview's plan cannot be read: {err}")).into()
        })
    }

    fn to_payload(&self) -> Result<String, ErasureError> {
        serde_json::to_string(self).map_err(|err| {
            StoreError::Inconsistent(format!("a preview's plan cannot be written: {err}")).into()
        })
    }

    fn filter(stored: &str) -> Result<CustomerFilter, ErasureError> {
        CustomerFilter::from_stored(stored).map_err(|err| {
            StoreError::Inconsistent(format!("a freezing preview's filter cannot be read: {err}")).into()
        })
    }

    /// Whether the plan is every customer of the workspace, whatever their number.
    fn is_everyone(&self) -> Result<bool, ErasureError> {
        Ok(match self {
            FreezePlan::Ids { .. } => false,
            FreezePlan::Filter { filter } => !Self::filter(filter)?.narrows(),
        })
    }

    /// How many customers the set should come to: exact for a filter when the preview
    /// starts (the list's own count), at most this many for ticked ids.
    fn expected(&self, conn: &mut DbConnection, workspace_id: i64) -> Result<i64, ErasureError> {
        Ok(match self {
            FreezePlan::Ids { ids } => ids.len() as i64,
            FreezePlan::Filter { filter } => customers::count(conn, workspace_id, &Self::filter(filter)?)?,
        })
    }

    /// The next batch after `after`, of at most `limit`; `at` is when the preview was
    /// asked for, so a status such as "active" means the same in every batch.
    fn next(
        &self,
        conn: &mut DbConnection,
        workspace_id: i64,
        at: NaiveDateTime,
        after: i64,
        limit: i64,
    ) -> Result<Chunk, ErasureError> {
        let limit = limit.max(1);
        Ok(match self {
            FreezePlan::Ids { ids } => {
                let rest = &ids[ids.partition_point(|id| *id <= after)..];
                let taken = &rest[..rest.len().min(limit as usize)];
                Chunk {
                    ids: erasures::existing_ids(conn, workspace_id, taken)?,
                    end: taken.last().copied().unwrap_or(after),
                    last: taken.len() == rest.len(),
                }
            }
            FreezePlan::Filter { filter } => {
                let filter = Self::filter(filter)?;
                // One more than the batch says whether another batch follows, so a set
                // that fits one batch is whole after it.
                let mut ids = customers::matching_ids(conn, workspace_id, &filter, at, after, limit + 1)?;
                let last = ids.len() as i64 <= limit;
                ids.truncate(limit as usize);
                Chunk {
                    end: ids.last().copied().unwrap_or(after),
                    last,
                    ids,
                }
            }
        })
    }
}

/// Starts a preview of the selection: records what it is for and freezes its first
/// batch of at most `first_batch` customers. The returned job is still `freezing` when
/// more remain, for the runner to freeze ([`freeze_batch`]). A set that is every
/// customer of the workspace by its very filter is known as such at once, so whoever
/// may not erase everyone is refused before anything else.
pub fn start_preview(
    conn: &mut DbConnection,
    workspace: &Workspace,
    user_id: i64,
    kind: JobKind,
    selection: &Selection,
    first_batch: i64,
) -> Result<Job, ErasureError> {
    let plan = FreezePlan::of(selection);
    let payload = plan.to_payload()?;
    let everyone = plan.is_everyone()?;
    write_transaction(conn, |conn| {
        let expected = plan.expected(conn, workspace.id)?;
        let receipt_id = new_receipt_id();
        let words = selection.describe(&workspace.name);
        let kind = if everyone && kind == JobKind::Delete {
            JobKind::DeleteAll
        } else {
            kind
        };
        let job = jobs::insert(
            conn,
            &NewJob {
                workspace_id: workspace.id,
                kind: kind.key(),
                state: state::PREVIEW,
                selection: &words,
                suppress: false,
                created_by: user_id,
                created_at: now(),
                receipt_id: &receipt_id,
                payload: &payload,
                freezing: true,
                freeze_expected: expected,
            },
        )?;
        if everyone {
            jobs::set_gate(conn, job.id, kind, true, true)?;
        }
        let job = jobs::get(conn, job.id)?;
        let job = freeze_batch(conn, workspace, &job, first_batch)?;
        // Nothing to freeze is said at once, where the person chose it.
        if !job.freezing && job.total == 0 {
            return Err(ErasureError::EmptySelection);
        }
        Ok(job)
    })
}

/// Freezes the whole selection as a previewed job's targets in one transaction: for a
/// delete-all, whose owner's code starts it the moment it is accepted.
pub fn create_preview(
    conn: &mut DbConnection,
    workspace: &Workspace,
    user_id: i64,
    kind: JobKind,
    selection: &Selection,
) -> Result<Job, ErasureError> {
    write_transaction(conn, |conn| {
        let mut job = start_preview(conn, workspace, user_id, kind, selection, CHUNK)?;
        while job.freezing {
            job = freeze_batch(conn, workspace, &job, CHUNK)?;
        }
        if job.total == 0 {
            return Err(ErasureError::EmptySelection);
        }
        Ok(job)
    })
}

/// Freezes the next batch of a freezing preview, of at most `limit` customers, in the
/// caller's transaction, and returns the job as it now is. After the last batch the
/// set is frozen: it says how it must be confirmed (a set that is every customer of the
/// workspace is a delete-all, a deletion becomes one, and either kind then needs
/// `customers.delete_all`; such a set, or one above the threshold, waits for the
/// owner's code) and forgets what it was asked for.
pub fn freeze_batch(
    conn: &mut DbConnection,
    workspace: &Workspace,
    job: &Job,
    limit: i64,
) -> Result<Job, ErasureError> {
    if !job.freezing {
        return Ok(job.clone());
    }
    let plan = FreezePlan::read(&job.payload)?;
    let chunk = plan.next(conn, workspace.id, job.created_at, job.freeze_after, limit)?;
    let mut counts = PreviewCounts::of(job);
    freeze(conn, workspace.id, job.id, &chunk.ids, &mut counts)?;
    let recorded = if chunk.last {
        // The frozen set holds only customers of this workspace, so as many as it has
        // means all of them.
        let workspace_total = customers::count_all(conn, workspace.id)?;
        let whole = plan.is_everyone()? || (counts.customers > 0 && counts.customers >= workspace_total);
        let kind = if whole && job.kind == JobKind::Delete {
            JobKind::DeleteAll
        } else {
            job.kind
        };
        let gate = PreviewGate {
            kind,
            whole_workspace: whole,
            needs_owner_code: whole
                || needs_owner_code(counts.customers, workspace_total, workspace.owner_code_threshold),
        };
        jobs::finish_freeze(conn, job.id, counts, gate)?
    } else {
        jobs::record_freeze_progress(conn, job.id, counts, chunk.end)?
    };
    if !recorded {
        // Discarded meanwhile: this batch goes with the rest of it.
        return Err(ErasureError::LostLease);
    }
    Ok(jobs::get(conn, job.id)?)
}

/// Adds one batch of ids to the frozen set and to the preview's counts.
fn freeze(
    conn: &mut DbConnection,
    workspace_id: i64,
    job_id: i64,
    ids: &[i64],
    counts: &mut PreviewCounts,
) -> Result<(), ErasureError> {
    if ids.is_empty() {
        return Ok(());
    }
    jobs::add_targets(conn, job_id, ids)?;
    counts.customers += ids.len() as i64;
    counts.held += erasures::count_held(conn, workspace_id, ids)?;
    counts.events += erasures::count_events(conn, workspace_id, ids)?;
    counts.devices += devices::count_for_customers(conn, workspace_id, ids)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_customer_always_needs_the_code() {
        assert!(needs_owner_code(3, 3, None));
        assert!(needs_owner_code(3, 3, Some(1_000_000)));
        assert!(needs_owner_code(1, 1, None));
    }

    #[test]
    fn the_default_is_ten_thousand_or_half_whichever_is_smaller() {
        assert!(!needs_owner_code(5, 10, None));
        assert!(needs_owner_code(6, 10, None));
        assert!(!needs_owner_code(10_000, 1_000_000, None));
        assert!(needs_owner_code(10_001, 1_000_000, None));
    }

    #[test]
    fn a_configured_threshold_replaces_the_default() {
        assert!(!needs_owner_code(8, 10, Some(9)));
        assert!(needs_owner_code(10, 11, Some(9)));
        assert!(needs_owner_code(2, 100, Some(1)));
    }

    #[test]
    fn a_plan_survives_the_payload_and_ticked_ids_come_sorted_once() {
        let plan = FreezePlan::of(&Selection::Ids(vec![9, 3, 9, 1]));
        assert_eq!(plan, FreezePlan::Ids { ids: vec![1, 3, 9] });
        assert_eq!(FreezePlan::read(&plan.to_payload().unwrap()).unwrap(), plan);

        let filter = CustomerFilter::from_query_string("country=DE&q=ada").unwrap();
        let plan = FreezePlan::of(&Selection::Filter(filter));
        assert_eq!(FreezePlan::read(&plan.to_payload().unwrap()).unwrap(), plan);
        assert!(!plan.is_everyone().unwrap());
        assert!(FreezePlan::of(&Selection::All).is_everyone().unwrap());
        assert!(
            FreezePlan::read("{}").is_err(),
            "what is not a plan is an error, never everyone"
        );
    }
}
