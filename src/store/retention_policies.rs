//! Retention policies: per workspace, archive or delete the customers not seen for a
//! number of days, run once a day as a previewed job.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::StoreResult;
use crate::db::schema::retention_policies;
use crate::db::DbConnection;
use crate::domain::RetentionRule;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = retention_policies)]
pub struct RetentionPolicy {
    pub id: i64,
    pub workspace_id: i64,
    pub action: String,
    pub days: i32,
    /// A stored customer filter (status, country), empty for every customer.
    pub filter: String,
    pub paused: bool,
    pub created_by: i64,
    pub created_at: NaiveDateTime,
    pub last_run_at: Option<NaiveDateTime>,
    pub next_run_at: NaiveDateTime,
    /// The job the last run made (a preview while it waits for the owner).
    pub last_job_id: Option<i64>,
    /// The account owner confirmed a run of it that waited for them.
    pub confirmed_big_run: bool,
}

impl RetentionPolicy {
    /// The policy's rule; `None` only for a row no form could have written.
    pub fn rule(&self) -> Option<RetentionRule> {
        RetentionRule::from_stored(&self.action, self.days, &self.filter)
    }
}

pub fn insert(
    conn: &mut DbConnection,
    workspace_id: i64,
    rule: &RetentionRule,
    created_by: i64,
    at: NaiveDateTime,
) -> StoreResult<RetentionPolicy> {
    diesel::insert_into(retention_policies::table)
        .values((
            retention_policies::workspace_id.eq(workspace_id),
            retention_policies::action.eq(rule.action().key()),
            retention_policies::days.eq(rule.days()),
            retention_policies::filter.eq(rule.stored_filter()),
            retention_policies::paused.eq(false),
            retention_policies::created_by.eq(created_by),
            retention_policies::created_at.eq(at),
            // Due at once: its first run shows what it touches without a day's wait.
            retention_policies::next_run_at.eq(at),
            retention_policies::confirmed_big_run.eq(false),
        ))
        .execute(conn)?;
    Ok(retention_policies::table
        .filter(retention_policies::workspace_id.eq(workspace_id))
        .order(retention_policies::id.desc())
        .select(RetentionPolicy::as_select())
        .first(conn)?)
}

pub fn find(conn: &mut DbConnection, workspace_id: i64, id: i64) -> StoreResult<Option<RetentionPolicy>> {
    Ok(retention_policies::table
        .filter(retention_policies::workspace_id.eq(workspace_id))
        .filter(retention_policies::id.eq(id))
        .select(RetentionPolicy::as_select())
        .first(conn)
        .optional()?)
}

pub fn get(conn: &mut DbConnection, id: i64) -> StoreResult<RetentionPolicy> {
    Ok(retention_policies::table
        .find(id)
        .select(RetentionPolicy::as_select())
        .first(conn)?)
}

/// The workspace's policies, oldest first.
pub fn list(conn: &mut DbConnection, workspace_id: i64) -> StoreResult<Vec<RetentionPolicy>> {
    Ok(retention_policies::table
        .filter(retention_policies::workspace_id.eq(workspace_id))
        .order(retention_policies::id)
        .select(RetentionPolicy::as_select())
        .load(conn)?)
}

/// The ids of the unpaused policies due at `at`, of every workspace (the index
/// `retention_policies_due` answers it without reading a row when none is due).
pub fn due_ids(conn: &mut DbConnection, at: NaiveDateTime) -> StoreResult<Vec<i64>> {
    Ok(retention_policies::table
        .filter(retention_policies::paused.eq(false))
        .filter(retention_policies::next_run_at.le(at))
        .order(retention_policies::id)
        .select(retention_policies::id)
        .load(conn)?)
}

/// Takes a due run: moves the next run to `next` while the policy is still due and
/// unpaused at `at`. False when another server took it, or it was paused meanwhile.
pub fn claim_run(
    conn: &mut DbConnection,
    id: i64,
    at: NaiveDateTime,
    next: NaiveDateTime,
) -> StoreResult<bool> {
    let changed = diesel::update(
        retention_policies::table
            .find(id)
            .filter(retention_policies::paused.eq(false))
            .filter(retention_policies::next_run_at.le(at)),
    )
    .set((
        retention_policies::next_run_at.eq(next),
        retention_policies::last_run_at.eq(Some(at)),
    ))
    .execute(conn)?;
    Ok(changed == 1)
}

/// Records the job a run made.
pub fn record_job(conn: &mut DbConnection, id: i64, job_id: i64) -> StoreResult<()> {
    diesel::update(retention_policies::table.find(id))
        .set(retention_policies::last_job_id.eq(Some(job_id)))
        .execute(conn)?;
    Ok(())
}

pub fn set_confirmed_big_run(conn: &mut DbConnection, id: i64) -> StoreResult<()> {
    diesel::update(retention_policies::table.find(id))
        .set(retention_policies::confirmed_big_run.eq(true))
        .execute(conn)?;
    Ok(())
}

pub fn update_rule(conn: &mut DbConnection, id: i64, rule: &RetentionRule) -> StoreResult<()> {
    diesel::update(retention_policies::table.find(id))
        .set((
            retention_policies::action.eq(rule.action().key()),
            retention_policies::days.eq(rule.days()),
            retention_policies::filter.eq(rule.stored_filter()),
        ))
        .execute(conn)?;
    Ok(())
}

/// Pauses or resumes. The next run stays when it was: a policy resumed after its day
/// has passed is due at once.
pub fn set_paused(conn: &mut DbConnection, id: i64, paused: bool) -> StoreResult<()> {
    diesel::update(retention_policies::table.find(id))
        .set(retention_policies::paused.eq(paused))
        .execute(conn)?;
    Ok(())
}

pub fn delete(conn: &mut DbConnection, id: i64) -> StoreResult<()> {
    diesel::delete(retention_policies::table.find(id)).execute(conn)?;
    Ok(())
}
