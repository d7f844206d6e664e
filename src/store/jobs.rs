//! Bulk work: a job, the exact set of customers it was confirmed for (its targets),
//! its progress, and the lease that says which server is running it.

use chrono::{Duration, NaiveDateTime};
use diesel::prelude::*;

use super::{now, StoreError, StoreResult};
use crate::db::schema::{job_targets, jobs};
use crate::db::DbConnection;
use crate::domain::{JobKind, JobState};

/// The stored values of `jobs.state`, for the queries that filter on it; rows are read
/// into `JobState`.
pub mod state {
    use crate::domain::JobState;

    pub const PREVIEW: &str = JobState::Preview.key();
    pub const QUEUED: &str = JobState::Queued.key();
    pub const RUNNING: &str = JobState::Running.key();
    pub const DONE: &str = JobState::Done.key();
    pub const DISCARDED: &str = JobState::Discarded.key();
}

#[derive(Debug, Clone, Queryable, Selectable, Identifiable)]
#[diesel(table_name = jobs)]
pub struct Job {
    pub id: i64,
    pub workspace_id: i64,
    #[diesel(deserialize_as = String)]
    pub kind: JobKind,
    #[diesel(deserialize_as = String)]
    pub state: JobState,
    pub selection: String,
    pub suppress: bool,
    pub created_by: i64,
    pub created_at: NaiveDateTime,
    pub started_at: Option<NaiveDateTime>,
    pub finished_at: Option<NaiveDateTime>,
    pub total: i64,
    pub done: i64,
    pub skipped_missing: i64,
    pub skipped_held: i64,
    pub skipped_other: i64,
    pub events_removed: i64,
    pub cancel_requested: bool,
    pub lease_owner: Option<String>,
    pub lease_until: Option<NaiveDateTime>,
    pub receipt_id: String,
    pub payload: String,
    pub report: String,
    /// Waits for the account owner's one-time code before it may be confirmed.
    pub needs_owner_code: bool,
    /// Its frozen set was every customer of the workspace when it was previewed.
    pub whole_workspace: bool,
    pub devices_removed: i64,
    /// A preview whose set is still being frozen, a batch at a time: not yet whole, so
    /// not yet something anyone may confirm.
    pub freezing: bool,
    /// The highest customer id the freeze has gone past; it goes on after it.
    pub freeze_after: i64,
    /// How many customers the set should come to, for the freeze's progress bar.
    pub freeze_expected: i64,
}

impl Job {
    pub fn is_finished(&self) -> bool {
        self.state.is_finished()
    }

    /// Targets dealt with so far, whatever the outcome.
    pub fn processed(&self) -> i64 {
        self.done + self.skipped_missing + self.skipped_held + self.skipped_other
    }
}

#[derive(Debug, Insertable)]
#[diesel(table_name = jobs)]
pub struct NewJob<'a> {
    pub workspace_id: i64,
    pub kind: &'a str,
    pub state: &'a str,
    pub selection: &'a str,
    pub suppress: bool,
    pub created_by: i64,
    pub created_at: NaiveDateTime,
    pub receipt_id: &'a str,
    pub payload: &'a str,
    pub freezing: bool,
    pub freeze_expected: i64,
}

pub fn insert(conn: &mut DbConnection, new: &NewJob<'_>) -> StoreResult<Job> {
    diesel::insert_into(jobs::table).values(new).execute(conn)?;
    jobs::table
        .filter(jobs::receipt_id.eq(new.receipt_id))
        .select(Job::as_select())
        .first(conn)
        .optional()?
        .ok_or_else(|| StoreError::Inconsistent("a job just inserted cannot be found".into()))
}

pub fn find(conn: &mut DbConnection, workspace_id: i64, id: i64) -> StoreResult<Option<Job>> {
    Ok(jobs::table
        .filter(jobs::workspace_id.eq(workspace_id))
        .filter(jobs::id.eq(id))
        .select(Job::as_select())
        .first(conn)
        .optional()?)
}

pub fn find_by_receipt(
    conn: &mut DbConnection,
    workspace_id: i64,
    receipt_id: &str,
) -> StoreResult<Option<Job>> {
    Ok(jobs::table
        .filter(jobs::workspace_id.eq(workspace_id))
        .filter(jobs::receipt_id.eq(receipt_id))
        .select(Job::as_select())
        .first(conn)
        .optional()?)
}

pub fn get(conn: &mut DbConnection, id: i64) -> StoreResult<Job> {
    Ok(jobs::table.find(id).select(Job::as_select()).first(conn)?)
}

/// Recent jobs of a workspace, newest first, without discarded previews.
pub fn recent(conn: &mut DbConnection, workspace_id: i64, limit: i64) -> StoreResult<Vec<Job>> {
    Ok(jobs::table
        .filter(jobs::workspace_id.eq(workspace_id))
        .filter(jobs::state.ne(state::DISCARDED))
        .order(jobs::id.desc())
        .limit(limit)
        .select(Job::as_select())
        .load(conn)?)
}

/// Freezes a set of customers as the job's targets, in chunks that fit any
/// backend's limit on bound parameters.
pub fn add_targets(conn: &mut DbConnection, job_id: i64, customer_ids: &[i64]) -> StoreResult<usize> {
    let mut added = 0;
    for chunk in customer_ids.chunks(500) {
        let rows: Vec<_> = chunk
            .iter()
            .map(|id| (job_targets::job_id.eq(job_id), job_targets::customer_id.eq(*id)))
            .collect();
        // Multi-row inserts are not available through the multi-backend connection.
        added += match conn {
            DbConnection::Sqlite(c) => diesel::insert_into(job_targets::table).values(&rows).execute(c)?,
            DbConnection::Postgres(c) => diesel::insert_into(job_targets::table).values(&rows).execute(c)?,
        };
    }
    Ok(added)
}

/// What a preview has frozen so far: the set's size, how many of it are held, and how
/// many events and devices it has.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PreviewCounts {
    pub customers: i64,
    pub held: i64,
    pub events: i64,
    pub devices: i64,
}

impl PreviewCounts {
    /// The counts as a freezing or frozen preview's job holds them.
    pub fn of(job: &Job) -> PreviewCounts {
        let report: serde_json::Value = serde_json::from_str(&job.report).unwrap_or_default();
        let number = |key: &str| report.get(key).and_then(serde_json::Value::as_i64).unwrap_or(0);
        PreviewCounts {
            customers: job.total,
            held: number("held_at_preview"),
            events: number("events_at_preview"),
            devices: number("devices_at_preview"),
        }
    }
}

/// Records one more batch of a freezing preview: its counts so far and where the next
/// batch starts. Only while it is still a freezing preview (a discard wins).
pub fn record_freeze_progress(
    conn: &mut DbConnection,
    job_id: i64,
    counts: PreviewCounts,
    after: i64,
) -> StoreResult<bool> {
    let changed = diesel::update(
        jobs::table
            .find(job_id)
            .filter(jobs::state.eq(state::PREVIEW))
            .filter(jobs::freezing.eq(true)),
    )
    .set((
        jobs::total.eq(counts.customers),
        jobs::report.eq(preview_report(counts)),
        jobs::freeze_after.eq(after),
    ))
    .execute(conn)?;
    Ok(changed == 1)
}

/// Ends a preview's freeze: its final counts, how it must be confirmed (with the owner's
/// code, and whether its set is the whole workspace, which makes a deletion a
/// delete-all), and nothing left of what it was asked for (a typed search among it).
pub fn finish_freeze(
    conn: &mut DbConnection,
    job_id: i64,
    counts: PreviewCounts,
    gate: PreviewGate,
) -> StoreResult<bool> {
    let changed = diesel::update(
        jobs::table
            .find(job_id)
            .filter(jobs::state.eq(state::PREVIEW))
            .filter(jobs::freezing.eq(true)),
    )
    .set((
        jobs::total.eq(counts.customers),
        jobs::report.eq(preview_report(counts)),
        jobs::freezing.eq(false),
        jobs::payload.eq("{}"),
        jobs::kind.eq(gate.kind.key()),
        jobs::needs_owner_code.eq(gate.needs_owner_code),
        jobs::whole_workspace.eq(gate.whole_workspace),
        jobs::lease_owner.eq(None::<String>),
        jobs::lease_until.eq(None::<NaiveDateTime>),
    ))
    .execute(conn)?;
    Ok(changed == 1)
}

/// What a preview found, set at once (an import's preview, which has no set to freeze).
pub fn set_preview_counts(conn: &mut DbConnection, job_id: i64, counts: PreviewCounts) -> StoreResult<()> {
    diesel::update(jobs::table.find(job_id))
        .set((
            jobs::total.eq(counts.customers),
            jobs::report.eq(preview_report(counts)),
        ))
        .execute(conn)?;
    Ok(())
}

fn preview_report(counts: PreviewCounts) -> String {
    serde_json::json!({
        "held_at_preview": counts.held,
        "events_at_preview": counts.events,
        "devices_at_preview": counts.devices,
    })
    .to_string()
}

/// How a previewed job must be confirmed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PreviewGate {
    pub kind: JobKind,
    pub needs_owner_code: bool,
    pub whole_workspace: bool,
}

/// Claims the oldest freezing preview nobody is freezing: new, or left by a server whose
/// lease ran out. Returns it, leased to `owner`.
pub fn claim_freeze(conn: &mut DbConnection, owner: &str, lease: Duration) -> StoreResult<Option<Job>> {
    let at = now();
    let claimable = || {
        jobs::state
            .eq(state::PREVIEW)
            .and(jobs::freezing.eq(true))
            .and(jobs::lease_until.is_null().or(jobs::lease_until.lt(at)))
    };
    let candidate: Option<i64> = match conn {
        DbConnection::Postgres(pg) => jobs::table
            .filter(claimable())
            .order(jobs::id)
            .select(jobs::id)
            .for_update()
            .skip_locked()
            .first(pg)
            .optional()?,
        DbConnection::Sqlite(_) => jobs::table
            .filter(claimable())
            .order(jobs::id)
            .select(jobs::id)
            .first(conn)
            .optional()?,
    };
    let Some(id) = candidate else { return Ok(None) };
    let claimed = diesel::update(jobs::table.find(id).filter(claimable()))
        .set((
            jobs::lease_owner.eq(Some(owner)),
            jobs::lease_until.eq(Some(at + lease)),
        ))
        .execute(conn)?;
    if claimed == 0 {
        return Ok(None);
    }
    Ok(Some(get(conn, id)?))
}

/// Renews `owner`'s lease on a preview it is freezing, first thing in each batch's
/// transaction: the row stays locked until the batch commits, so a discard waits for
/// the batch and then forgets it with the rest. False when the preview is no longer
/// `owner`'s to freeze (discarded, frozen, or taken over).
pub fn renew_freeze_lease(
    conn: &mut DbConnection,
    job_id: i64,
    owner: &str,
    lease: Duration,
) -> StoreResult<bool> {
    let changed = diesel::update(
        jobs::table
            .find(job_id)
            .filter(jobs::state.eq(state::PREVIEW))
            .filter(jobs::freezing.eq(true))
            .filter(jobs::lease_owner.eq(owner)),
    )
    .set(jobs::lease_until.eq(Some(now() + lease)))
    .execute(conn)?;
    Ok(changed == 1)
}

/// How a previewed job must be confirmed: with the owner's code, and whether its set
/// is the whole workspace (which makes a deletion a delete-all).
pub fn set_gate(
    conn: &mut DbConnection,
    job_id: i64,
    kind: JobKind,
    needs_owner_code: bool,
    whole_workspace: bool,
) -> StoreResult<()> {
    diesel::update(jobs::table.find(job_id).filter(jobs::state.eq(state::PREVIEW)))
        .set((
            jobs::kind.eq(kind.key()),
            jobs::needs_owner_code.eq(needs_owner_code),
            jobs::whole_workspace.eq(whole_workspace),
        ))
        .execute(conn)?;
    Ok(())
}

/// Says in other words what a preview's set is (a retention policy's run names its
/// policy), while it is still a preview.
pub fn describe_selection(conn: &mut DbConnection, job_id: i64, selection: &str) -> StoreResult<()> {
    diesel::update(jobs::table.find(job_id).filter(jobs::state.eq(state::PREVIEW)))
        .set(jobs::selection.eq(selection))
        .execute(conn)?;
    Ok(())
}

/// The first `limit` remaining targets, in id order.
pub fn next_targets(conn: &mut DbConnection, job_id: i64, limit: i64) -> StoreResult<Vec<i64>> {
    Ok(job_targets::table
        .filter(job_targets::job_id.eq(job_id))
        .order(job_targets::customer_id)
        .limit(limit)
        .select(job_targets::customer_id)
        .load(conn)?)
}

/// A sample of the frozen set, for the preview.
pub fn sample_targets(conn: &mut DbConnection, job_id: i64, limit: i64) -> StoreResult<Vec<i64>> {
    next_targets(conn, job_id, limit)
}

/// How many targets remain.
pub fn count_targets(conn: &mut DbConnection, job_id: i64) -> StoreResult<i64> {
    Ok(job_targets::table
        .filter(job_targets::job_id.eq(job_id))
        .count()
        .get_result(conn)?)
}

/// Removes the targets up to and including `last`: after a batch of `next_targets`,
/// exactly that batch (the frozen set only shrinks), in one range instead of a list
/// of every id.
pub fn remove_targets_through(conn: &mut DbConnection, job_id: i64, last: i64) -> StoreResult<usize> {
    Ok(diesel::delete(
        job_targets::table
            .filter(job_targets::job_id.eq(job_id))
            .filter(job_targets::customer_id.le(last)),
    )
    .execute(conn)?)
}

/// Forgets what the job had left to do: its targets, or an import's rows (which hold
/// personal data that must not outlive a cancelled or discarded import).
pub fn clear_targets(conn: &mut DbConnection, job_id: i64) -> StoreResult<usize> {
    let rows = super::import_rows::clear(conn, job_id)?;
    Ok(rows + diesel::delete(job_targets::table.filter(job_targets::job_id.eq(job_id))).execute(conn)?)
}

/// Moves a previewed job whose set is frozen to the queue. False when it is no longer a
/// preview (already confirmed, discarded, or someone else's double click got there
/// first) or its set is not frozen yet.
pub fn confirm(conn: &mut DbConnection, job_id: i64, suppress: bool) -> StoreResult<bool> {
    let changed = diesel::update(
        jobs::table
            .find(job_id)
            .filter(jobs::state.eq(state::PREVIEW))
            .filter(jobs::freezing.eq(false)),
    )
    .set((jobs::state.eq(state::QUEUED), jobs::suppress.eq(suppress)))
    .execute(conn)?;
    Ok(changed == 1)
}

/// Discards a preview, frozen or still freezing (which stops its freeze). What it was
/// asked for goes with it: a freezing preview's payload may hold a typed search.
pub fn discard(conn: &mut DbConnection, job_id: i64) -> StoreResult<bool> {
    let changed = diesel::update(jobs::table.find(job_id).filter(jobs::state.eq(state::PREVIEW)))
        .set((
            jobs::state.eq(state::DISCARDED),
            jobs::finished_at.eq(Some(now())),
            jobs::freezing.eq(false),
            jobs::payload.eq("{}"),
            jobs::lease_owner.eq(None::<String>),
            jobs::lease_until.eq(None::<NaiveDateTime>),
        ))
        .execute(conn)?;
    Ok(changed == 1)
}

pub fn request_cancel(conn: &mut DbConnection, job_id: i64) -> StoreResult<bool> {
    let changed = diesel::update(
        jobs::table
            .find(job_id)
            .filter(jobs::state.eq_any([state::QUEUED, state::RUNNING])),
    )
    .set(jobs::cancel_requested.eq(true))
    .execute(conn)?;
    Ok(changed == 1)
}

/// Claims the oldest runnable job for `owner`: queued, or running under a lease that
/// ran out (its server died). Returns the claimed job.
///
/// PostgreSQL: `FOR UPDATE SKIP LOCKED`, so servers sharing the queue never wait on or
/// take each other's candidate. SQLite: one writer at a time already, and the
/// conditional update below decides.
pub fn claim_next(conn: &mut DbConnection, owner: &str, lease: Duration) -> StoreResult<Option<Job>> {
    let at = now();
    let runnable = || {
        jobs::state
            .eq_any([state::QUEUED, state::RUNNING])
            .and(jobs::lease_until.is_null().or(jobs::lease_until.lt(at)))
    };
    let candidate: Option<i64> = match conn {
        DbConnection::Postgres(pg) => jobs::table
            .filter(runnable())
            .order(jobs::id)
            .select(jobs::id)
            .for_update()
            .skip_locked()
            .first(pg)
            .optional()?,
        DbConnection::Sqlite(_) => jobs::table
            .filter(runnable())
            .order(jobs::id)
            .select(jobs::id)
            .first(conn)
            .optional()?,
    };
    let Some(id) = candidate else { return Ok(None) };
    let claimed = diesel::update(jobs::table.find(id).filter(runnable()))
        .set((
            jobs::state.eq(state::RUNNING),
            jobs::lease_owner.eq(Some(owner)),
            jobs::lease_until.eq(Some(at + lease)),
        ))
        .execute(conn)?;
    if claimed == 0 {
        return Ok(None);
    }
    diesel::update(jobs::table.find(id).filter(jobs::started_at.is_null()))
        .set(jobs::started_at.eq(Some(at)))
        .execute(conn)?;
    Ok(Some(get(conn, id)?))
}

/// What one batch did, added to the job's counters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BatchCounts {
    pub done: i64,
    pub skipped_missing: i64,
    pub skipped_held: i64,
    pub skipped_other: i64,
    pub events_removed: i64,
    pub devices_removed: i64,
}

/// Adds a batch's counts and renews the lease, only while `owner` still holds it.
/// False means another server took the job over: the caller must roll back.
pub fn record_batch(
    conn: &mut DbConnection,
    job_id: i64,
    owner: &str,
    counts: BatchCounts,
    lease: Duration,
) -> StoreResult<bool> {
    let changed = diesel::update(
        jobs::table
            .find(job_id)
            .filter(jobs::lease_owner.eq(owner))
            .filter(jobs::state.eq(state::RUNNING)),
    )
    .set((
        jobs::done.eq(jobs::done + counts.done),
        jobs::skipped_missing.eq(jobs::skipped_missing + counts.skipped_missing),
        jobs::skipped_held.eq(jobs::skipped_held + counts.skipped_held),
        jobs::skipped_other.eq(jobs::skipped_other + counts.skipped_other),
        jobs::events_removed.eq(jobs::events_removed + counts.events_removed),
        jobs::devices_removed.eq(jobs::devices_removed + counts.devices_removed),
        jobs::lease_until.eq(Some(now() + lease)),
    ))
    .execute(conn)?;
    Ok(changed == 1)
}

/// Ends a job the owner holds, in `final_state`.
pub fn finish(conn: &mut DbConnection, job_id: i64, owner: &str, final_state: JobState) -> StoreResult<bool> {
    let changed = diesel::update(
        jobs::table
            .find(job_id)
            .filter(jobs::lease_owner.eq(owner))
            .filter(jobs::state.eq(state::RUNNING)),
    )
    .set((
        jobs::state.eq(final_state.key()),
        jobs::finished_at.eq(Some(now())),
        jobs::lease_owner.eq(None::<String>),
        jobs::lease_until.eq(None::<NaiveDateTime>),
    ))
    .execute(conn)?;
    Ok(changed == 1)
}

pub fn set_report(conn: &mut DbConnection, job_id: i64, report: &str) -> StoreResult<()> {
    diesel::update(jobs::table.find(job_id))
        .set(jobs::report.eq(report))
        .execute(conn)?;
    Ok(())
}

/// Previews older than `age` that nobody confirmed: discarded with their targets.
pub fn discard_stale_previews(conn: &mut DbConnection, age: Duration) -> StoreResult<usize> {
    let stale: Vec<i64> = jobs::table
        .filter(jobs::state.eq(state::PREVIEW))
        .filter(jobs::created_at.lt(now() - age))
        .select(jobs::id)
        .load(conn)?;
    for id in &stale {
        clear_targets(conn, *id)?;
        discard(conn, *id)?;
    }
    Ok(stale.len())
}

/// Marks a job that ran inside one request as done, with its counts and the hash of
/// the audit entry that describes it (for the receipt).
pub fn complete_immediately(
    conn: &mut DbConnection,
    job_id: i64,
    total: i64,
    counts: BatchCounts,
    audit_hash: &str,
) -> StoreResult<Job> {
    let at = now();
    diesel::update(jobs::table.find(job_id))
        .set((
            jobs::state.eq(state::DONE),
            jobs::started_at.eq(Some(at)),
            jobs::finished_at.eq(Some(at)),
            jobs::total.eq(total),
            jobs::done.eq(counts.done),
            jobs::skipped_missing.eq(counts.skipped_missing),
            jobs::skipped_held.eq(counts.skipped_held),
            jobs::skipped_other.eq(counts.skipped_other),
            jobs::events_removed.eq(counts.events_removed),
            jobs::devices_removed.eq(counts.devices_removed),
            jobs::report.eq(serde_json::json!({ "audit_hash": audit_hash }).to_string()),
        ))
        .execute(conn)?;
    get(conn, job_id)
}
