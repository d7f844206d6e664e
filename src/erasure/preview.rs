//! The preview of a bulk erasure: the exact set it will touch, frozen as the job's
//! targets before anyone confirms. Customers who start matching afterwards are not
//! in it; customers gone by the time it runs are counted as already gone.

use crate::db::{write_transaction, DbConnection};
use crate::domain::{CustomerFilter, JobKind};
use crate::erasure::receipt::new_receipt_id;
use crate::erasure::ErasureError;
use crate::store::jobs::{self, state, Job, NewJob};
use crate::store::workspaces::Workspace;
use crate::store::{customers, devices, erasures, now};

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
            Selection::Ids(ids) => format!("{} selected customers", ids.len()),
            Selection::Filter(filter) => filter.describe_for_record(),
            Selection::All => format!("every customer of workspace {workspace_name}"),
        }
    }
}

/// How many ids are read and frozen per round trip.
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

/// Freezes the selection as a previewed job's targets, with its counts, and decides
/// how it must be confirmed: a set that is every customer of the workspace is a
/// delete-all (a deletion becomes one; either kind then needs `customers.delete_all`),
/// and such a set, or one above the threshold, waits for the owner's code.
pub fn create_preview(
    conn: &mut DbConnection,
    workspace: &Workspace,
    user_id: i64,
    kind: JobKind,
    selection: &Selection,
) -> Result<Job, ErasureError> {
    let workspace_id = workspace.id;
    write_transaction(conn, |conn| {
        let receipt_id = new_receipt_id();
        let words = selection.describe(&workspace.name);
        let job = jobs::insert(
            conn,
            &NewJob {
                workspace_id,
                kind: kind.key(),
                state: state::PREVIEW,
                selection: &words,
                suppress: false,
                created_by: user_id,
                created_at: now(),
                receipt_id: &receipt_id,
                payload: "{}",
            },
        )?;
        let mut counts = PreviewCounts::default();
        match selection {
            Selection::Ids(wanted) => {
                let mut sorted = wanted.clone();
                sorted.sort_unstable();
                sorted.dedup();
                for chunk in sorted.chunks(CHUNK as usize) {
                    let ids = erasures::existing_ids(conn, workspace_id, chunk)?;
                    freeze(conn, workspace_id, job.id, &ids, &mut counts)?;
                }
            }
            Selection::Filter(_) | Selection::All => {
                let everyone = CustomerFilter::default();
                let filter = match selection {
                    Selection::Filter(filter) => filter,
                    _ => &everyone,
                };
                let mut after = 0i64;
                loop {
                    let ids = customers::matching_ids(conn, workspace_id, filter, after, CHUNK)?;
                    let Some(last) = ids.last().copied() else { break };
                    freeze(conn, workspace_id, job.id, &ids, &mut counts)?;
                    after = last;
                }
            }
        }
        let total = counts.customers;
        if total == 0 {
            return Err(ErasureError::EmptySelection);
        }
        jobs::set_preview_counts(conn, job.id, total, counts.held, counts.events, counts.devices)?;
        // The frozen set holds only customers of this workspace, so as many as it has
        // means all of them.
        let workspace_total = customers::count_all(conn, workspace_id)?;
        let whole = total >= workspace_total;
        let kind = if whole && kind == JobKind::Delete {
            JobKind::DeleteAll
        } else {
            kind
        };
        let gated = needs_owner_code(total, workspace_total, workspace.owner_code_threshold);
        jobs::set_gate(conn, job.id, kind, gated, whole)?;
        Ok(jobs::get(conn, job.id)?)
    })
}

#[derive(Debug, Default)]
struct PreviewCounts {
    customers: i64,
    held: i64,
    events: i64,
    devices: i64,
}

/// Adds one chunk of ids to the frozen set and to the preview's counts.
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
    use super::needs_owner_code;

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
}
