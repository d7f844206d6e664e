//! Runs queued jobs in the background: claims one under a lease, erases its targets a
//! batch per transaction, and finishes it with one audit entry and a mail to whoever
//! started it. A server that dies mid-job leaves its lease to run out; then any
//! server (itself, restarted, included) claims the job and goes on from the next
//! remaining target, so no target is erased twice and none is forgotten.
//!
//! Beside them, and never waiting for them, it freezes the sets of previews the same
//! way (`preview::freeze_batch`): a batch per transaction under a lease, taken over
//! after the last batch that committed when its server stops.

use std::sync::Arc;
use std::time::Duration;

use rand::distributions::{Alphanumeric, DistString};
use tokio::sync::Notify;

use crate::config::Settings;
use crate::db::{write_transaction, writers_waiting, Database, DbConnection};
use crate::domain::{AuditAction, JobKind, JobState};
use crate::erasure::batch::{erase_batch, ErasureScope};
use crate::erasure::erasure_audit;
use crate::erasure::import::{self, ImportRun, ImportStep};
use crate::erasure::journal::Journal;
use crate::erasure::outgoing::{self, JobRef, Told};
use crate::erasure::preview::freeze_batch;
use crate::erasure::ErasureError;
use crate::mail::{Mailer, OutgoingMail};
use crate::secret::SecretKey;
use crate::store::audit::{self, Actor, NewEntry, RequestOrigin};
use crate::store::jobs::{self, Job};
use crate::store::{erasures, maintenance, users, workspaces};

/// How long an idle runner waits before looking at the queue again (it is woken at
/// once when a job is confirmed on this server).
const IDLE_POLL: Duration = Duration::from_millis(1000);
/// How long a job waits before trying its batch again while the database is out of
/// reach, doubling up to the most.
const OUTAGE_RETRY_FIRST: Duration = Duration::from_millis(250);
const OUTAGE_RETRY_MAX: Duration = Duration::from_secs(5);
/// Rows an import must have written before its end merges the search index: the merge
/// rewrites the whole index, worth it for a bulk load, not for a handful of rows.
const MERGE_SEARCH_INDEX_AFTER_ROWS: i64 = 10_000;

#[derive(Clone)]
pub struct JobRunner {
    db: Database,
    secret: SecretKey,
    mailer: Mailer,
    settings: Arc<Settings>,
    owner: String,
    wake: Arc<Notify>,
    /// Wakes the freezing of previews, apart from the jobs: a long job running here
    /// must not keep a preview from filling in.
    wake_freezer: Arc<Notify>,
    journal: Journal,
}

/// What one step of a job did.
enum Step {
    Progress,
    Finished(Job),
    Cancelled(Job),
}

impl JobRunner {
    pub fn new(db: Database, secret: SecretKey, mailer: Mailer, settings: Arc<Settings>) -> JobRunner {
        let owner = lease_owner_name();
        let journal = Journal::in_data_dir(&settings.data_dir);
        JobRunner {
            db,
            secret,
            mailer,
            settings,
            owner,
            wake: Arc::new(Notify::new()),
            wake_freezer: Arc::new(Notify::new()),
            journal,
        }
    }

    /// Wakes the runner now instead of at its next poll.
    pub fn wake(&self) {
        self.wake.notify_one();
    }

    /// Wakes the freezing of previews now instead of at its next poll.
    pub fn wake_freezer(&self) {
        self.wake_freezer.notify_one();
    }

    /// How many customers the request that asks for a preview freezes itself, before
    /// it answers: the first batch the runner would take, so a small set is whole on
    /// arrival and a large one answers as fast.
    pub fn first_batch(&self) -> i64 {
        BatchSize::new(self.settings.job_batch_size).current()
    }

    pub fn spawn(self) {
        let freezer = self.clone();
        tokio::spawn(async move {
            loop {
                match freezer.freeze_next().await {
                    Ok(true) => continue,
                    Ok(false) => {}
                    Err(err) => tracing::warn!(error = %err, "preview freeze step failed; retrying"),
                }
                let _ = tokio::time::timeout(IDLE_POLL, freezer.wake_freezer.notified()).await;
            }
        });
        tokio::spawn(async move {
            loop {
                match self.run_next().await {
                    Ok(true) => continue,
                    Ok(false) => {}
                    Err(err) => tracing::warn!(error = %err, "job runner step failed; retrying"),
                }
                let _ = tokio::time::timeout(IDLE_POLL, self.wake.notified()).await;
            }
        });
    }

    /// Claims and runs one job to its end; false when the queue was empty.
    pub async fn run_next(&self) -> Result<bool, ErasureError> {
        let owner = self.owner.clone();
        let lease = self.settings.job_lease;
        let claimed = self
            .db
            .run(move |conn| write_transaction(conn, |conn| jobs::claim_next(conn, &owner, lease)))
            .await?;
        let Some(job) = claimed else { return Ok(false) };
        tracing::info!(job = job.id, kind = %job.kind, "job claimed");
        self.run_job(job).await?;
        Ok(true)
    }

    /// Claims a preview whose set is still to be frozen and freezes it to its end;
    /// false when there was none.
    pub async fn freeze_next(&self) -> Result<bool, ErasureError> {
        let owner = self.owner.clone();
        let lease = self.settings.job_lease;
        let claimed = self
            .db
            .run(move |conn| write_transaction(conn, |conn| jobs::claim_freeze(conn, &owner, lease)))
            .await?;
        let Some(job) = claimed else { return Ok(false) };
        tracing::info!(job = job.id, "preview freeze claimed");
        self.run_freeze(job.id).await?;
        Ok(true)
    }

    async fn run_freeze(&self, job_id: i64) -> Result<(), ErasureError> {
        let mut batch = BatchSize::new(self.settings.job_batch_size);
        let mut retry_in = OUTAGE_RETRY_FIRST;
        loop {
            let runner = self.clone();
            let size = batch.current();
            let started = std::time::Instant::now();
            let step = self
                .db
                .run(move |conn| {
                    write_transaction(conn, |conn| {
                        let job = runner.freeze_step(conn, job_id, size)?;
                        Ok::<_, ErasureError>((job, writers_waiting(conn) > 0))
                    })
                })
                .await;
            match step {
                Ok((job, others_waited)) if job.freezing => {
                    batch.adapt(started.elapsed(), others_waited);
                    retry_in = OUTAGE_RETRY_FIRST;
                    tokio::task::yield_now().await
                }
                Ok((job, _)) => {
                    tracing::info!(job = job.id, customers = job.total, "preview frozen");
                    return Ok(());
                }
                Err(ErasureError::LostLease) => {
                    tracing::info!(
                        job = job_id,
                        "preview discarded or taken over; its freeze stops here"
                    );
                    return Ok(());
                }
                Err(ErasureError::Store(err)) if err.is_unavailable() => {
                    tracing::warn!(job = job_id, error = %err, "database unavailable; the freeze waits for it");
                    tokio::time::sleep(retry_in).await;
                    retry_in = (retry_in * 2).min(OUTAGE_RETRY_MAX);
                }
                Err(err) => return Err(err),
            }
        }
    }

    /// One transaction of a freeze: the lease renewed first (which holds the preview's
    /// row, so a discard waits for this batch and then forgets it too), then the batch.
    fn freeze_step(
        &self,
        conn: &mut DbConnection,
        job_id: i64,
        batch_size: i64,
    ) -> Result<Job, ErasureError> {
        if !jobs::renew_freeze_lease(conn, job_id, &self.owner, self.settings.job_lease)? {
            return Err(ErasureError::LostLease);
        }
        let job = jobs::get(conn, job_id)?;
        let workspace = workspaces::find(conn, job.workspace_id)?.ok_or(ErasureError::WorkspaceGone)?;
        freeze_batch(conn, &workspace, &job, batch_size)
    }

    async fn run_job(&self, job: Job) -> Result<(), ErasureError> {
        let job_id = job.id;
        let mut batch = BatchSize::new(self.settings.job_batch_size);
        let mut retry_in = OUTAGE_RETRY_FIRST;
        loop {
            let runner = self.clone();
            let size = batch.current();
            let started = std::time::Instant::now();
            let step = self
                .db
                .run(move |conn| {
                    maintenance::with_batch_page_cache(conn, |conn| {
                        write_transaction(conn, |conn| {
                            let step = runner.step(conn, job_id, size)?;
                            // Asked before the commit lets them in.
                            Ok::<_, ErasureError>((step, writers_waiting(conn) > 0))
                        })
                    })
                })
                .await;
            match step {
                Ok((Step::Progress, others_waited)) => {
                    batch.adapt(started.elapsed(), others_waited);
                    retry_in = OUTAGE_RETRY_FIRST;
                    tokio::task::yield_now().await
                }
                Ok((Step::Finished(job), _)) | Ok((Step::Cancelled(job), _)) => {
                    self.after_finish(&job).await;
                    return Ok(());
                }
                Err(ErasureError::LostLease) => {
                    tracing::warn!(job = job_id, "job taken over by another server");
                    return Ok(());
                }
                // The database is out of reach: the batch rolled back (or committed, and
                // its targets are gone), and the job is still this server's. Keep it and
                // try again, rather than leave it idle until its lease runs out; if the
                // outage outlasts the lease and another server takes the job over, the
                // next step sees that.
                Err(ErasureError::Store(err)) if err.is_unavailable() => {
                    tracing::warn!(job = job_id, error = %err, "database unavailable; the job waits for it");
                    tokio::time::sleep(retry_in).await;
                    retry_in = (retry_in * 2).min(OUTAGE_RETRY_MAX);
                }
                Err(err) => return Err(err),
            }
        }
    }

    /// One transaction: the next batch, or the job's end.
    fn step(&self, conn: &mut DbConnection, job_id: i64, batch_size: i64) -> Result<Step, ErasureError> {
        let job = jobs::get(conn, job_id)?;
        if job.state != JobState::Running || job.lease_owner.as_deref() != Some(self.owner.as_str()) {
            return Err(ErasureError::LostLease);
        }
        let workspace = workspaces::find(conn, job.workspace_id)?.ok_or(ErasureError::WorkspaceGone)?;
        let kind = job.kind;
        let origin = RequestOrigin {
            request_id: format!("job-{job_id}"),
            client_ip: String::new(),
        };
        if job.cancel_requested {
            jobs::clear_targets(conn, job_id)?;
            return self
                .close(
                    conn,
                    &job,
                    JobState::Cancelled,
                    AuditAction::JobCancelled,
                    &origin,
                )
                .map(Step::Cancelled);
        }
        if kind == JobKind::Import {
            let run = ImportRun {
                workspace: &workspace,
                secret: &self.secret,
                owner: &self.owner,
                lease: self.settings.job_lease,
                origin: &origin,
            };
            return match import::run_batch(conn, &run, &job, batch_size)? {
                ImportStep::Progress => Ok(Step::Progress),
                ImportStep::Finished(job) => self
                    .close(conn, &job, JobState::Done, AuditAction::JobFinished, &origin)
                    .map(Step::Finished),
            };
        }
        let ids = jobs::next_targets(conn, job_id, batch_size)?;
        let Some(&last) = ids.last() else {
            return self
                .close(conn, &job, JobState::Done, AuditAction::JobFinished, &origin)
                .map(Step::Finished);
        };
        let scope = ErasureScope {
            workspace: &workspace,
            secret: &self.secret,
            by_user: Some(job.created_by),
            actor_label: format!("user:{}", job.created_by),
            journal: &self.journal,
        };
        let told = Told::Batch(JobRef {
            id: job.id,
            receipt_id: &job.receipt_id,
        });
        let counts = erase_batch(conn, &scope, kind, &ids, job.suppress, told)?;
        jobs::remove_targets_through(conn, job_id, last)?;
        if !jobs::record_batch(conn, job_id, &self.owner, counts, self.settings.job_lease)? {
            return Err(ErasureError::LostLease);
        }
        Ok(Step::Progress)
    }

    /// Ends the job with its one audit entry, whose hash goes on the receipt.
    fn close(
        &self,
        conn: &mut DbConnection,
        job: &Job,
        final_state: JobState,
        action: AuditAction,
        origin: &RequestOrigin,
    ) -> Result<Job, ErasureError> {
        if !jobs::finish(conn, job.id, &self.owner, final_state)? {
            return Err(ErasureError::LostLease);
        }
        let entry = audit::append(
            conn,
            NewEntry::new(Actor::User(job.created_by), action, origin)
                .workspace(job.workspace_id)
                .target(format!("job:{}", job.id))
                .selection(job.selection.clone())
                .affected(job.done)
                .details(serde_json::json!({
                    "kind": job.kind.key(),
                    "previewed": job.total,
                    "done": job.done,
                    "skipped_already_gone": job.skipped_missing,
                    "skipped_legal_hold": job.skipped_held,
                    "skipped_already_anonymous": job.skipped_other,
                    "events_removed": job.events_removed,
                    "devices_removed": job.devices_removed,
                    "suppressed": job.suppress,
                    "receipt": job.receipt_id,
                })),
        )?;
        // Found under "Customers deleted" (or archived) too, with the job's counts; its
        // receipt carries that entry's hash, as a single erasure's does.
        let erasure = erasure_audit::record_job(conn, job, final_state, origin)?;
        let mut report: serde_json::Value =
            serde_json::from_str(&job.report).unwrap_or_else(|_| serde_json::json!({}));
        report["audit_hash"] = serde_json::Value::String(erasure.map_or(entry.hash, |e| e.hash));
        jobs::set_report(conn, job.id, &report.to_string())?;
        if job.kind == JobKind::DeleteAll && final_state == JobState::Done {
            let workspace = workspaces::find(conn, job.workspace_id)?.ok_or(ErasureError::WorkspaceGone)?;
            let told = JobRef {
                id: job.id,
                receipt_id: &job.receipt_id,
            };
            outgoing::delete_all_finished(conn, &workspace, told, job.done, job.skipped_held)?;
        }
        Ok(jobs::get(conn, job.id)?)
    }

    /// After the last transaction: make erased data unrecoverable from the database
    /// files, then tell whoever started the job.
    async fn after_finish(&self, job: &Job) {
        // An import erases nothing; a large one leaves the search index in many segments.
        if job.kind == JobKind::Import {
            if job.done >= MERGE_SEARCH_INDEX_AFTER_ROWS {
                if let Err(err) = self.db.run(maintenance::merge_search_index).await {
                    tracing::warn!(error = %err, "could not merge the search index");
                }
            }
        } else {
            if let Err(err) = self.db.run(|conn| erasures::flush_erased_pages(conn, true)).await {
                tracing::warn!(error = %err, "could not flush erased pages");
            }
        }
        tracing::info!(job = job.id, state = %job.state, done = job.done, "job ended");
        let created_by = job.created_by;
        let workspace_id = job.workspace_id;
        let people = self
            .db
            .run(move |conn| -> Result<_, crate::store::StoreError> {
                Ok((
                    users::find(conn, created_by)?,
                    workspaces::find(conn, workspace_id)?,
                ))
            })
            .await;
        let Ok((Some(starter), Some(workspace))) = people else {
            return;
        };
        let mut recipients = vec![starter.email.clone()];
        if job.kind == JobKind::DeleteAll || job.whole_workspace || job.needs_owner_code {
            // What took the owner's code is confirmed to the owner too, whoever started it.
            if let Ok(Some(owner)) = self.db.run(users::find_owner).await {
                if owner.email != starter.email {
                    recipients.insert(0, owner.email);
                }
            }
        }
        for to in recipients {
            let mail = job_finished_mail(
                job,
                &workspace.name,
                &workspace.slug,
                &self.settings.public_url,
                &to,
            );
            if let Err(err) = self.mailer.send(mail).await {
                tracing::warn!(error = %err, job = job.id, "could not send the job-finished mail");
            }
        }
    }
}

/// How a background worker of this process signs the leases it takes: the process id
/// (so a test or an operator can tell which server holds one) and a random part (so a
/// restarted process with a reused id is another owner).
pub fn lease_owner_name() -> String {
    format!(
        "{}-{}",
        std::process::id(),
        Alphanumeric.sample_string(&mut rand::thread_rng(), 8)
    )
}

/// How many customers the next batch takes.
///
/// Alone, batches double while one takes under `TARGET` and halve when one takes
/// over twice that, never above the configured maximum: each batch is a transaction
/// that rewrites every index page it touches, and a batch of a few thousand scattered
/// customers touches most leaf pages of each of the customers' indexes, so a million
/// deletions cost about as many page rewrites per batch as there are batches
/// (measured on delete-all of a million: 5,000 a batch took 1.85 times as long as
/// one big DELETE; batches of up to 50,000 under two seconds each, 1.77 times). A
/// small job still starts at 500 and holds the write lock briefly; a large one alone
/// holds it for up to `TARGET` at a time, which only a writer arriving meanwhile
/// notices, once.
///
/// While other writers queue behind the batches (SQLite's one write lock: Track API
/// calls, sign-ins), a batch that took over `SHARED_TARGET` is cut at once to the size
/// that would have taken that long, so each of them waits about a tenth of a second
/// rather than a whole batch, and it grows again only once nobody waited.
#[derive(Debug, Clone, Copy)]
struct BatchSize {
    current: i64,
    max: i64,
}

impl BatchSize {
    const START: i64 = 500;
    const TARGET: Duration = Duration::from_secs(4);
    const SHARED_TARGET: Duration = Duration::from_millis(100);
    const SHARED_MIN: i64 = 50;

    fn new(max: i64) -> BatchSize {
        BatchSize {
            current: Self::START.min(max).max(1),
            max: max.max(1),
        }
    }

    fn current(&self) -> i64 {
        self.current
    }

    fn adapt(&mut self, took: Duration, others_waited: bool) {
        if others_waited {
            if took > Self::SHARED_TARGET {
                let fitting = self.current as f64 * Self::SHARED_TARGET.as_secs_f64() / took.as_secs_f64();
                self.current = (fitting as i64).max(Self::SHARED_MIN.min(self.current));
            }
        } else if took < Self::TARGET {
            self.current = (self.current * 2).min(self.max);
        } else if took > Self::TARGET * 2 {
            self.current = (self.current / 2).max(1);
        }
    }
}

pub fn receipt_url(public_url: &str, workspace_slug: &str, receipt_id: &str) -> String {
    format!("{public_url}/w/{workspace_slug}/receipts/{receipt_id}")
}

/// A time in a mail, whose reader may be anyone: UTC, named.
fn in_utc(at: chrono::NaiveDateTime) -> String {
    crate::format::second(at, crate::domain::TimeZone::UTC)
}

fn job_finished_mail(
    job: &Job,
    workspace_name: &str,
    slug: &str,
    public_url: &str,
    to: &str,
) -> OutgoingMail {
    use crate::format::thousands;
    let kind = job.kind;
    if kind == JobKind::Import {
        let page = format!("{public_url}/w/{slug}/imports/{}", job.id);
        return import::finished_mail(job, workspace_name, &page, to);
    }
    let ended = if job.state == JobState::Cancelled {
        "was cancelled"
    } else {
        "has finished"
    };
    let subject = if kind == JobKind::DeleteAll && job.state == JobState::Done {
        format!("All customers of {workspace_name} were deleted (job #{})", job.id)
    } else {
        format!("Erasure job #{} {ended} in {workspace_name}", job.id)
    };
    let times = format!(
        "Started: {}\nFinished: {}\n",
        job.started_at.map(in_utc).unwrap_or_default(),
        job.finished_at.map(in_utc).unwrap_or_default(),
    );
    OutgoingMail {
        to: to.to_owned(),
        subject,
        body: format!(
            "Your {} job #{} in workspace {workspace_name} {ended}.\n\n\
             Selection: {}\n\
             Previewed: {}\n\
             Customers {}: {}\n\
             Skipped, already gone: {}\n\
             Skipped, under legal hold: {}\n\
             Skipped, already anonymous: {}\n\
             Events removed: {}\n\
             Devices removed: {}\n\
             Identifiers suppressed: {}\n\
             {}\n\
             Receipt: {}\n",
            kind.label().to_lowercase(),
            job.id,
            job.selection,
            thousands(job.total),
            kind.past_tense(),
            thousands(job.done),
            thousands(job.skipped_missing),
            thousands(job.skipped_held),
            thousands(job.skipped_other),
            thousands(job.events_removed),
            thousands(job.devices_removed),
            if job.suppress { "yes" } else { "no" },
            times,
            receipt_url(public_url, slug, &job.receipt_id),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batches_grow_while_quick_and_shrink_when_slow_within_the_maximum() {
        let mut size = BatchSize::new(50_000);
        assert_eq!(size.current(), 500);
        for _ in 0..10 {
            size.adapt(Duration::from_millis(10), false);
        }
        assert_eq!(size.current(), 50_000);
        size.adapt(Duration::from_secs(9), false);
        assert_eq!(size.current(), 25_000);
        size.adapt(Duration::from_secs(6), false);
        assert_eq!(
            size.current(),
            25_000,
            "between four seconds and eight: unchanged"
        );
        let mut small = BatchSize::new(7);
        small.adapt(Duration::from_millis(1), false);
        assert_eq!(small.current(), 7);
    }

    #[test]
    fn batches_shrink_to_a_tenth_of_a_second_while_other_writers_wait() {
        let mut size = BatchSize::new(50_000);
        for _ in 0..10 {
            size.adapt(Duration::from_millis(10), false);
        }
        size.adapt(Duration::from_secs(4), true);
        assert_eq!(size.current(), 1_250, "cut to what takes a tenth of a second");
        size.adapt(Duration::from_millis(90), true);
        assert_eq!(size.current(), 1_250, "no growth while others wait");
        size.adapt(Duration::from_secs(2), true);
        assert_eq!(size.current(), 62);
        size.adapt(Duration::from_secs(3), true);
        assert_eq!(size.current(), 50, "never below fifty");
        size.adapt(Duration::from_millis(5), false);
        assert_eq!(size.current(), 100, "and growing again once nobody waited");
        let mut tiny = BatchSize::new(7);
        tiny.adapt(Duration::from_millis(200), true);
        assert_eq!(tiny.current(), 7, "a batch under fifty is left as it is");
    }
}
