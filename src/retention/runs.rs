//! A retention policy's run: the customers its rule finds today, previewed as an
//! ordinary job (frozen, with its held customers counted) and confirmed on behalf of
//! the policy's creator, so the job runner erases them in batches, skips the held ones,
//! and writes the receipt and the audit entries as for any bulk erasure.
//!
//! A run waits for the account owner instead (the job stays a preview that needs the
//! owner's code) when it is the policy's first and would touch more than a tenth of
//! the workspace, or when any erasure of its size would need the owner's code. While a
//! run waits or its job is still running, the next runs make no job. A run that finds
//! nobody, or only customers under legal hold, makes no job either: the day after a
//! run has erased everyone it found, the next one does nothing new.

use chrono::{Duration, NaiveDateTime};

use crate::db::{write_transaction, DbConnection};
use crate::domain::{JobKind, JobState};
use crate::erasure::confirm;
use crate::erasure::journal::Journal;
use crate::erasure::preview::{create_preview, Selection};
use crate::erasure::{Eraser, ErasureError};
use crate::retention::{RetentionError, RetentionResult};
use crate::secret::SecretKey;
use crate::store::audit::{Actor, RequestOrigin};
use crate::store::jobs::{self, PreviewCounts};
use crate::store::retention_policies::{self, RetentionPolicy};
use crate::store::{customers, workspaces, StoreError};

/// A first run above this share of the workspace's customers waits for the owner:
/// one in `BIG_RUN_SHARE`.
pub const BIG_RUN_SHARE: i64 = 10;

/// How often a policy runs.
pub fn run_every() -> Duration {
    Duration::days(1)
}

/// What a run needs besides the connection to confirm a job: the server's key and
/// the erasure journal.
#[derive(Clone)]
pub struct RunContext {
    pub secret: SecretKey,
    pub journal: Journal,
}

/// What one due policy's run did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RunOutcome {
    /// A job was confirmed and queued for the runner.
    Started {
        policy_id: i64,
        job_id: i64,
        customers: i64,
    },
    /// A preview waits for the account owner's confirmation.
    WaitsForOwner {
        policy_id: i64,
        workspace_id: i64,
        job_id: i64,
        customers: i64,
        workspace_customers: i64,
    },
    /// The previous run's job still waits for the owner, or is still running.
    Pending { policy_id: i64, job_id: i64 },
    /// Nobody to erase (or only customers under legal hold).
    NothingNew { policy_id: i64 },
    /// Not due any more: another server ran it, or it was paused meanwhile.
    NotDue { policy_id: i64 },
}

impl RunOutcome {
    pub fn started(&self) -> bool {
        matches!(self, RunOutcome::Started { .. })
    }
}

/// Why a run's transaction stops: nothing new to do (its preview is rolled back), or
/// an error.
enum Stop {
    NothingNew,
    Failed(RetentionError),
}

impl From<RetentionError> for Stop {
    fn from(err: RetentionError) -> Self {
        Stop::Failed(err)
    }
}

impl From<StoreError> for Stop {
    fn from(err: StoreError) -> Self {
        Stop::Failed(err.into())
    }
}

impl From<ErasureError> for Stop {
    fn from(err: ErasureError) -> Self {
        Stop::Failed(err.into())
    }
}

impl From<diesel::result::Error> for Stop {
    fn from(err: diesel::result::Error) -> Self {
        Stop::Failed(err.into())
    }
}

/// Runs every unpaused policy due at `now`, each in its own transaction; a policy
/// whose run fails is logged and tried again at its next run, the others go on.
pub fn run_due(
    conn: &mut DbConnection,
    context: &RunContext,
    now: NaiveDateTime,
) -> RetentionResult<Vec<RunOutcome>> {
    let mut outcomes = Vec::new();
    for id in retention_policies::due_ids(conn, now)? {
        match run_policy(conn, context, id, now) {
            Ok(outcome) => outcomes.push(outcome),
            Err(err) => tracing::warn!(policy = id, error = %err, "a retention policy's run failed"),
        }
    }
    Ok(outcomes)
}

/// One policy's run, if it is still due.
pub fn run_policy(
    conn: &mut DbConnection,
    context: &RunContext,
    id: i64,
    now: NaiveDateTime,
) -> RetentionResult<RunOutcome> {
    match write_transaction(conn, |conn| attempt(conn, context, id, now)) {
        Ok(outcome) => Ok(outcome),
        Err(Stop::Failed(err)) => Err(err),
        // The preview is gone with the rolled-back transaction; the run itself counts.
        Err(Stop::NothingNew) => write_transaction(conn, |conn| {
            if !retention_policies::claim_run(conn, id, now, now + run_every())? {
                return Ok(RunOutcome::NotDue { policy_id: id });
            }
            let policy = retention_policies::get(conn, id)?;
            if let Previous::Confirmed { waited: true } = previous_job(conn, &policy)? {
                remember_confirmation(conn, &policy)?;
            }
            Ok(RunOutcome::NothingNew { policy_id: id })
        }),
    }
}

fn attempt(
    conn: &mut DbConnection,
    context: &RunContext,
    id: i64,
    now: NaiveDateTime,
) -> Result<RunOutcome, Stop> {
    // Taken first, so that of several servers one runs it.
    if !retention_policies::claim_run(conn, id, now, now + run_every())? {
        return Ok(RunOutcome::NotDue { policy_id: id });
    }
    let policy = retention_policies::get(conn, id)?;
    let rule = policy
        .rule()
        .ok_or_else(|| StoreError::Inconsistent(format!("retention policy {id} holds no rule")))?;
    let workspace = workspaces::find(conn, policy.workspace_id)?.ok_or(ErasureError::WorkspaceGone)?;

    let first = match previous_job(conn, &policy)? {
        Previous::Pending(job_id) => {
            return Ok(RunOutcome::Pending {
                policy_id: id,
                job_id,
            })
        }
        Previous::None | Previous::Declined => true,
        Previous::Confirmed { waited } => {
            if waited {
                remember_confirmation(conn, &policy)?;
            }
            false
        }
    };

    let selection = Selection::Filter(rule.customers_at(now));
    let job = match create_preview(
        conn,
        &workspace,
        policy.created_by,
        rule.action().job_kind(),
        &selection,
    ) {
        Err(ErasureError::EmptySelection) => return Err(Stop::NothingNew),
        made => made?,
    };
    let counts = PreviewCounts::of(&job);
    if counts.customers <= counts.held {
        return Err(Stop::NothingNew);
    }
    jobs::describe_selection(
        conn,
        job.id,
        &format!("Retention policy #{id}: {}", rule.describe()),
    )?;
    retention_policies::record_job(conn, id, job.id)?;
    let job = jobs::get(conn, job.id)?;
    let workspace_customers = customers::count_all(conn, workspace.id)?;
    let big = first && !policy.confirmed_big_run && counts.customers * BIG_RUN_SHARE > workspace_customers;
    if big || job.needs_owner_code || job.kind == JobKind::DeleteAll {
        // Only the owner's code confirms it, on the job's page.
        jobs::set_gate(conn, job.id, job.kind, true, job.whole_workspace)?;
        return Ok(RunOutcome::WaitsForOwner {
            policy_id: id,
            workspace_id: workspace.id,
            job_id: job.id,
            customers: counts.customers,
            workspace_customers,
        });
    }
    let eraser = Eraser {
        workspace,
        secret: context.secret.clone(),
        journal: context.journal.clone(),
        actor: Actor::User(policy.created_by),
        origin: RequestOrigin {
            request_id: format!("retention-policy-{id}"),
            client_ip: String::new(),
        },
    };
    confirm::queue(conn, &eraser, &job, false)?;
    Ok(RunOutcome::Started {
        policy_id: id,
        job_id: job.id,
        customers: counts.customers,
    })
}

/// The owner confirmed a run of the policy that waited for them: later runs above a
/// tenth of the workspace go ahead on their own.
fn remember_confirmation(conn: &mut DbConnection, policy: &RetentionPolicy) -> Result<(), StoreError> {
    if !policy.confirmed_big_run {
        retention_policies::set_confirmed_big_run(conn, policy.id)?;
    }
    Ok(())
}

/// Where the policy's previous run stands.
enum Previous {
    /// It never made a job.
    None,
    /// Its preview still waits for the owner, or its job has not finished.
    Pending(i64),
    /// The owner discarded its preview (or it grew stale unconfirmed).
    Declined,
    /// Its job was confirmed; `waited` when it had waited for the owner.
    Confirmed { waited: bool },
}

fn previous_job(conn: &mut DbConnection, policy: &RetentionPolicy) -> Result<Previous, StoreError> {
    let Some(job_id) = policy.last_job_id else {
        return Ok(Previous::None);
    };
    let Some(job) = jobs::find(conn, policy.workspace_id, job_id)? else {
        return Ok(Previous::None);
    };
    Ok(match job.state {
        JobState::Discarded => Previous::Declined,
        JobState::Preview | JobState::Queued | JobState::Running => Previous::Pending(job.id),
        _ => Previous::Confirmed {
            waited: job.needs_owner_code,
        },
    })
}
