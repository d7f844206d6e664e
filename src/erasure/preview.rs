//! The preview of a bulk erasure: the exact set it will touch, frozen as the job's
//! targets before anyone confirms. Customers who start matching afterwards are not
//! in it; customers gone by the time it runs are counted as already gone.

use crate::db::{write_transaction, DbConnection};
use crate::domain::{CustomerFilter, JobKind};
use crate::erasure::receipt::new_receipt_id;
use crate::erasure::ErasureError;
use crate::store::jobs::{self, state, Job, NewJob};
use crate::store::{customers, erasures, now};

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

pub fn create_preview(
    conn: &mut DbConnection,
    workspace_id: i64,
    workspace_name: &str,
    user_id: i64,
    kind: JobKind,
    selection: &Selection,
) -> Result<Job, ErasureError> {
    write_transaction(conn, |conn| {
        let receipt_id = new_receipt_id();
        let words = selection.describe(workspace_name);
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
        jobs::set_preview_counts(conn, job.id, total, counts.held, counts.events)?;
        Ok(jobs::get(conn, job.id)?)
    })
}

#[derive(Debug, Default)]
struct PreviewCounts {
    customers: i64,
    held: i64,
    events: i64,
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
    Ok(())
}
