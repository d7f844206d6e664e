//! CSV imports: the preflight that turns a parsed file into a previewed job, and the
//! batches the job runner writes once it is confirmed.
//!
//! The preflight checks each row against the data as it is (create or update,
//! suppressed or not) so the preview can say what will happen; the run checks again,
//! row by row in each batch's transaction, because the data may change in between.

use chrono::Duration;

use super::import_report::{ImportReport, ReportedRow, LISTED_ROWS, SUPPRESSED};
use super::receipt::new_receipt_id;
use super::suppress::digests_for_write;
use super::ErasureError;
use crate::db::{write_transaction, DbConnection};
use crate::domain::{AuditAction, Identifier, ImportRow, JobKind, JobState, ParsedImport, RowCells};
use crate::mail::OutgoingMail;
use crate::secret::SecretKey;
use crate::store::audit::{self, Actor, NewEntry, RequestOrigin};
use crate::store::customer_batch::{self, BatchWrite, Existing, Outcome};
use crate::store::customer_writes::WriteError;
use crate::store::import_rows::{self, ImportRowRecord};
use crate::store::jobs::{self, state, BatchCounts, Job, NewJob};
use crate::store::maintenance;
use crate::store::now;
use crate::store::suppressions::{self, Digest};
use crate::store::workspaces::Workspace;

/// Rows per batch on PostgreSQL: each of a row's identifiers holds an advisory lock
/// until the batch commits, and the server's lock table is shared and small.
const MAX_BATCH_POSTGRES: i64 = 500;
/// On SQLite a batch holds the one write lock that API calls wait for.
const MAX_BATCH_SQLITE: i64 = 2000;

const AMBIGUOUS: &str = "more than one customer has this email address";
const NO_SUCH_INTERNAL_ID: &str = "no customer has this internal id";

fn digests_of(secret: &SecretKey, row: &ImportRow) -> Vec<Digest> {
    digests_for_write(secret, &row.identifier, row.body_email())
}

/// Who started the import, and from which file.
pub struct ImportSource<'a> {
    pub created_by: i64,
    pub file_name: &'a str,
}

/// Stores the file's accepted rows as a previewed import job, with the preflight's
/// report: what would be created and updated, and which rows would not be imported.
pub fn preview(
    conn: &mut DbConnection,
    workspace: &Workspace,
    secret: &SecretKey,
    source: &ImportSource<'_>,
    parsed: ParsedImport,
) -> Result<Job, ErasureError> {
    let digests: Vec<Vec<Digest>> = parsed.rows.iter().map(|row| digests_of(secret, row)).collect();
    let mut report = ImportReport {
        file_name: source.file_name.to_owned(),
        rows_in_file: parsed.data_rows as i64,
        rejected: parsed.rejected.len() as i64,
        ..ImportReport::default()
    };
    let mut problems: Vec<ReportedRow> = parsed
        .rejected
        .iter()
        .take(LISTED_ROWS)
        .map(|r| ReportedRow {
            line: r.line,
            reason: r.reason.to_string(),
        })
        .collect();
    write_transaction(conn, |conn| {
        maintenance::plan_for_current_data(conn)?;
        let suppressed = suppressions::suppressed_among(conn, workspace.id, &digests.concat())?;
        let identifiers: Vec<&Identifier> = parsed.rows.iter().map(|row| &row.identifier).collect();
        let existing = customer_batch::existing(conn, workspace.id, &identifiers)?;
        let mut accepted: Vec<(u64, &RowCells)> = Vec::with_capacity(parsed.rows.len());
        for ((row, row_digests), found) in parsed.rows.iter().zip(&digests).zip(existing) {
            if row_digests
                .iter()
                .any(|(k, d)| suppressed.contains(&(k.to_string(), d.clone())))
            {
                report.suppressed += 1;
                problems.push(ReportedRow {
                    line: row.line,
                    reason: SUPPRESSED.into(),
                });
                continue;
            }
            let rejection = match (found, &row.identifier) {
                (Existing::Ambiguous, _) => Some(AMBIGUOUS),
                (Existing::Nobody, Identifier::InternalId(_)) => Some(NO_SUCH_INTERNAL_ID),
                _ => None,
            };
            if let Some(reason) = rejection {
                report.rejected += 1;
                problems.push(ReportedRow {
                    line: row.line,
                    reason: reason.into(),
                });
                continue;
            }
            match found {
                Existing::One(_) => report.to_update += 1,
                _ => report.to_create += 1,
            }
            accepted.push((row.line, &row.cells));
        }
        problems.sort_by_key(|p| p.line);
        problems.truncate(LISTED_ROWS);
        report.problems = problems;
        let total = accepted.len() as i64;
        let receipt_id = new_receipt_id();
        let selection = format!("CSV import, {} rows", report.rows_in_file);
        let job = jobs::insert(
            conn,
            &NewJob {
                workspace_id: workspace.id,
                kind: JobKind::Import.key(),
                state: state::PREVIEW,
                selection: &selection,
                suppress: false,
                created_by: source.created_by,
                created_at: now(),
                receipt_id: &receipt_id,
                payload: "{}",
                freezing: false,
                freeze_expected: 0,
            },
        )?;
        let records: Vec<ImportRowRecord> = accepted
            .into_iter()
            .enumerate()
            .map(|(position, (line, cells))| ImportRowRecord {
                job_id: job.id,
                position: position as i64,
                line: line as i64,
                cells: serde_json::to_string(cells).unwrap_or_default(),
            })
            .collect();
        import_rows::insert(conn, &records)?;
        jobs::set_preview_counts(
            conn,
            job.id,
            jobs::PreviewCounts {
                customers: total,
                ..Default::default()
            },
        )?;
        jobs::set_report(conn, job.id, &report.to_json())?;
        Ok(jobs::get(conn, job.id)?)
    })
}

/// What the runner holds while it runs an import.
pub struct ImportRun<'a> {
    pub workspace: &'a Workspace,
    pub secret: &'a SecretKey,
    pub owner: &'a str,
    pub lease: Duration,
    pub origin: &'a RequestOrigin,
}

pub enum ImportStep {
    Progress,
    /// No rows are left; the job is ready to be closed.
    Finished(Box<Job>),
}

/// Writes the next batch of the import's rows, in the caller's transaction, and
/// removes them from what is left; when none are left, writes the import's audit entry.
pub fn run_batch(
    conn: &mut DbConnection,
    run: &ImportRun<'_>,
    job: &Job,
    batch_size: i64,
) -> Result<ImportStep, ErasureError> {
    let limit = match conn {
        DbConnection::Postgres(_) => batch_size.clamp(1, MAX_BATCH_POSTGRES),
        DbConnection::Sqlite(_) => batch_size.clamp(1, MAX_BATCH_SQLITE),
    };
    maintenance::plan_for_current_data(conn)?;
    if job.processed() == 0 {
        maintenance::analyze_customers(conn)?;
    }
    let records = import_rows::next(conn, job.id, limit)?;
    let mut report = ImportReport::read(&job.report);
    let Some(last) = records.last().map(|r| r.position) else {
        record_imported(conn, run, job, &report)?;
        return Ok(ImportStep::Finished(Box::new(jobs::get(conn, job.id)?)));
    };
    let mode = run.workspace.identifier_mode;
    let at = now();
    let mut counts = BatchCounts::default();
    let mut rows = Vec::with_capacity(records.len());
    for record in &records {
        let line = record.line as u64;
        let parsed = serde_json::from_str::<RowCells>(&record.cells)
            .map_err(|_| "the stored row is unreadable".to_owned())
            .and_then(|cells| ImportRow::parse(line, cells, mode, at).map_err(|e| e.to_string()));
        match parsed {
            Ok(row) => rows.push(row),
            // The workspace's identifier mode changed since the preflight, say.
            Err(reason) => {
                counts.skipped_other += 1;
                report.skip(line, reason);
            }
        }
    }
    let digests: Vec<Vec<Digest>> = rows.iter().map(|row| digests_of(run.secret, row)).collect();
    let writes: Vec<BatchWrite<'_>> = rows
        .iter()
        .zip(&digests)
        .map(|(row, digests)| BatchWrite {
            identifier: &row.identifier,
            patch: &row.patch,
            digests,
        })
        .collect();
    let outcomes = customer_batch::write_batch(conn, run.workspace.id, &writes)?;
    for (row, outcome) in rows.iter().zip(outcomes) {
        match outcome {
            Outcome::Created => report.created += 1,
            Outcome::Updated => report.updated += 1,
            Outcome::Skipped(refused) => {
                counts.skipped_other += 1;
                report.skip(row.line, skip_reason(&refused));
                continue;
            }
        }
        counts.done += 1;
    }
    report.skipped.sort_by_key(|r| r.line);
    import_rows::remove_through(conn, job.id, last)?;
    jobs::set_report(conn, job.id, &report.to_json())?;
    if !jobs::record_batch(conn, job.id, run.owner, counts, run.lease)? {
        return Err(ErasureError::LostLease);
    }
    Ok(ImportStep::Progress)
}

fn skip_reason(refused: &WriteError) -> String {
    match refused {
        WriteError::Suppressed => SUPPRESSED.to_owned(),
        WriteError::Ambiguous => AMBIGUOUS.to_owned(),
        WriteError::NotFound => NO_SUCH_INTERNAL_ID.to_owned(),
        other => other.to_string(),
    }
}

/// The import's own audit entry, beside the runner's "job finished": how many
/// customers it brought in, with no one named.
fn record_imported(
    conn: &mut DbConnection,
    run: &ImportRun<'_>,
    job: &Job,
    report: &ImportReport,
) -> Result<(), ErasureError> {
    audit::append(
        conn,
        NewEntry::new(
            Actor::User(job.created_by),
            AuditAction::CustomersImported,
            run.origin,
        )
        .workspace(job.workspace_id)
        .target(format!("job:{}", job.id))
        .selection(job.selection.clone())
        .affected(job.done)
        .details(serde_json::json!({
            "rows_in_file": report.rows_in_file,
            "created": report.created,
            "updated": report.updated,
            "skipped": report.skipped_by_reason,
            "rejected_at_preflight": report.rejected,
            "suppressed_at_preflight": report.suppressed,
        })),
    )?;
    Ok(())
}

/// The mail that tells whoever started the import that it ended.
pub fn finished_mail(job: &Job, workspace_name: &str, page_url: &str, to: &str) -> OutgoingMail {
    use crate::format::thousands;
    let report = ImportReport::read(&job.report);
    let ended = if job.state == JobState::Cancelled {
        "was cancelled"
    } else {
        "has finished"
    };
    OutgoingMail {
        to: to.to_owned(),
        subject: format!("Import job #{} {ended} in {workspace_name}", job.id),
        body: format!(
            "Your import job #{} in workspace {workspace_name} {ended}.\n\n\
             Rows in the file: {}\n\
             Customers imported: {} ({} created, {} updated)\n\
             Skipped while importing: {}\n\
             Rejected before the import: {} (and {} suppressed)\n\n\
             What was skipped and why: {page_url}\n",
            job.id,
            thousands(report.rows_in_file),
            thousands(job.done),
            thousands(report.created),
            thousands(report.updated),
            thousands(job.skipped_other),
            thousands(report.rejected),
            thousands(report.suppressed),
        ),
    }
}
