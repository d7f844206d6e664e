//! Bulk erasures: the preview of a frozen selection, confirmation, progress, the job
//! list, and receipts.

use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use serde::Deserialize;

use super::extractors::{perm, Authorized, WorkspaceAccess};
use super::layout::{render, see_other, Layout, Section};
use super::session::{FlashKind, TypedSession};
use super::state::AppState;
use super::WebError;
use crate::db::write_transaction;
use crate::domain::masking::{mask_email, mask_name};
use crate::domain::{AuditAction, JobKind, Permission};
use crate::erasure::runner::receipt_url;
use crate::store::audit::{self, NewEntry};
use crate::store::jobs::{self, state, Job};
use crate::store::{erasures, users, StoreError};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/w/{workspace}/jobs").route(web::get().to(list)))
        .service(web::resource("/w/{workspace}/jobs/{id}").route(web::get().to(show)))
        .service(web::resource("/w/{workspace}/jobs/{id}/progress.json").route(web::get().to(progress)))
        .service(web::resource("/w/{workspace}/jobs/{id}/confirm").route(web::post().to(confirm)))
        .service(web::resource("/w/{workspace}/jobs/{id}/discard").route(web::post().to(discard)))
        .service(web::resource("/w/{workspace}/jobs/{id}/cancel").route(web::post().to(cancel)))
        .service(web::resource("/w/{workspace}/receipts/{receipt}.json").route(web::get().to(receipt_json)))
        .service(web::resource("/w/{workspace}/receipts/{receipt}").route(web::get().to(receipt)));
}

/// The permission a kind of job needs to be previewed, confirmed or cancelled.
pub fn permission_for(kind: JobKind) -> Permission {
    match kind {
        JobKind::Delete => Permission::CustomersDelete,
        JobKind::Archive => Permission::CustomersArchive,
        JobKind::DeleteAll => Permission::CustomersDeleteAll,
        // Adding customers in bulk is a decision about the workspace's data as a whole.
        JobKind::Import => Permission::SettingsManage,
    }
}

fn kind_of(job: &Job) -> JobKind {
    JobKind::parse(&job.kind).unwrap_or(JobKind::Delete)
}

async fn load_job(state: &AppState, access: &WorkspaceAccess, id: i64) -> Result<Job, WebError> {
    let workspace_id = access.workspace.id;
    state
        .db
        .run(move |conn| jobs::find(conn, workspace_id, id))
        .await?
        .filter(|job| job.state != state::DISCARDED)
        .ok_or(WebError::NotFound)
}

fn report_number(job: &Job, key: &str) -> i64 {
    serde_json::from_str::<serde_json::Value>(&job.report)
        .ok()
        .and_then(|v| v.get(key).and_then(|n| n.as_i64()))
        .unwrap_or(0)
}

fn report_text(job: &Job, key: &str) -> String {
    serde_json::from_str::<serde_json::Value>(&job.report)
        .ok()
        .and_then(|v| v.get(key).and_then(|n| n.as_str().map(str::to_owned)))
        .unwrap_or_default()
}

/// Thousands separators: 12408 → "12,408".
pub fn thousands(n: i64) -> String {
    let digits = n.unsigned_abs().to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    if n < 0 {
        format!("-{out}")
    } else {
        out
    }
}

pub fn plural(n: i64, one: &str, many: &str) -> String {
    format!("{} {}", thousands(n), if n == 1 { one } else { many })
}

pub struct SampleRow {
    pub id: i64,
    pub name: String,
    pub email: String,
    pub held: bool,
}

/// Everything the job page shows, in words and numbers.
pub struct JobView {
    pub id: i64,
    pub kind_label: &'static str,
    pub past_tense: &'static str,
    pub deletes: bool,
    pub state: String,
    pub selection: String,
    pub total: i64,
    pub total_text: String,
    pub processed: i64,
    pub done: i64,
    pub skipped_missing: i64,
    pub skipped_held: i64,
    pub skipped_other: i64,
    pub events_removed: i64,
    pub events_at_preview: i64,
    pub held_at_preview: i64,
    pub percent: i64,
    pub elapsed: String,
    pub estimate: String,
    pub suppress: bool,
    pub receipt_id: String,
    pub is_preview: bool,
    pub is_active: bool,
    pub is_finished: bool,
    pub cancel_requested: bool,
    pub started_by: String,
    pub created_at: String,
}

fn duration_words(seconds: i64) -> String {
    match seconds {
        s if s < 60 => format!("{s} s"),
        s if s < 3600 => format!("{} min {} s", s / 60, s % 60),
        s => format!("{} h {} min", s / 3600, (s % 3600) / 60),
    }
}

fn view(job: &Job, started_by: String) -> JobView {
    let kind = kind_of(job);
    let processed = job.processed();
    let percent = if job.total > 0 {
        (processed * 100 / job.total).min(100)
    } else {
        100
    };
    let now = crate::store::now();
    let elapsed_seconds = job
        .started_at
        .map(|s| (job.finished_at.unwrap_or(now) - s).num_seconds().max(0))
        .unwrap_or(0);
    let estimate = if job.is_finished() || processed == 0 || job.state != state::RUNNING {
        String::new()
    } else {
        let remaining = (job.total - processed).max(0);
        duration_words(elapsed_seconds * remaining / processed.max(1))
    };
    JobView {
        id: job.id,
        kind_label: kind.label(),
        past_tense: kind.past_tense(),
        deletes: kind.deletes(),
        state: job.state.clone(),
        selection: job.selection.clone(),
        total: job.total,
        total_text: plural(job.total, "customer", "customers"),
        processed,
        done: job.done,
        skipped_missing: job.skipped_missing,
        skipped_held: job.skipped_held,
        skipped_other: job.skipped_other,
        events_removed: job.events_removed,
        events_at_preview: report_number(job, "events_at_preview"),
        held_at_preview: report_number(job, "held_at_preview"),
        percent,
        elapsed: duration_words(elapsed_seconds),
        estimate,
        suppress: job.suppress,
        receipt_id: job.receipt_id.clone(),
        is_preview: job.state == state::PREVIEW,
        is_active: job.state == state::QUEUED || job.state == state::RUNNING,
        is_finished: job.is_finished(),
        cancel_requested: job.cancel_requested,
        started_by,
        created_at: job.created_at.format("%Y-%m-%d %H:%M UTC").to_string(),
    }
}

#[derive(Template)]
#[template(path = "jobs/show.html")]
struct JobPage {
    layout: Layout,
    base: String,
    job: JobView,
    sample: Vec<SampleRow>,
    may_act: bool,
    auto_refresh: bool,
}

async fn show(
    state: web::Data<AppState>,
    req: HttpRequest,
    session: TypedSession,
    access: Authorized<perm::CustomersView>,
    path: web::Path<(String, i64)>,
) -> Result<HttpResponse, WebError> {
    let job = load_job(&state, &access, path.1).await?;
    let kind = kind_of(&job);
    if kind == JobKind::Import {
        // An import's preflight, progress and result have a page of their own.
        return Ok(see_other(format!("{}/imports/{}", access.base(), job.id)));
    }
    let may_act = access.can(permission_for(kind));
    if job.state == state::PREVIEW && !may_act {
        return Err(access.deny(&req, permission_for(kind).key()).await);
    }
    let show_pii = access.can(Permission::CustomersViewPii);
    let workspace_id = access.workspace.id;
    let job_id = job.id;
    let created_by = job.created_by;
    let is_preview = job.state == state::PREVIEW;
    let (sample, starter) = state
        .db
        .run(move |conn| -> Result<_, StoreError> {
            let sample = if is_preview {
                let ids = jobs::sample_targets(conn, job_id, 10)?;
                erasures::load_targets(conn, workspace_id, &ids)?
            } else {
                Vec::new()
            };
            Ok((sample, users::find(conn, created_by)?))
        })
        .await?;
    let sample = sample
        .into_iter()
        .map(|t| {
            let anonymous = t.archived_at.is_some();
            let name = match (&t.name, anonymous) {
                (_, true) => format!("Anonymous customer #{}", t.id),
                (Some(n), false) if show_pii => n.clone(),
                (Some(n), false) => mask_name(n),
                (None, false) => format!("Customer #{}", t.id),
            };
            let email = match &t.email {
                Some(e) if show_pii => e.clone(),
                Some(e) => mask_email(e),
                None => String::new(),
            };
            SampleRow {
                id: t.id,
                name,
                email,
                held: t.is_held(),
            }
        })
        .collect();
    let started_by = starter
        .map(|u| u.name)
        .unwrap_or_else(|| format!("user #{created_by}"));
    let job_view = view(&job, started_by);
    let auto_refresh = job_view.is_active;
    render(&JobPage {
        layout: Layout::workspace(
            format!("{} job #{}", kind.label(), job.id),
            Section::Customers,
            &session,
            &access,
        ),
        base: access.base(),
        job: job_view,
        sample,
        may_act,
        auto_refresh,
    })
}

async fn progress(
    state: web::Data<AppState>,
    req: HttpRequest,
    access: Authorized<perm::CustomersView>,
    path: web::Path<(String, i64)>,
) -> Result<HttpResponse, WebError> {
    let job = load_job(&state, &access, path.1).await?;
    // As the job's page: a preview is for whoever may act on it.
    if job.state == state::PREVIEW {
        require(&req, &access, kind_of(&job)).await?;
    }
    let v = view(&job, String::new());
    Ok(HttpResponse::Ok().json(serde_json::json!({
        "state": v.state,
        "total": v.total,
        "processed": v.processed,
        "done": v.done,
        "skipped_missing": v.skipped_missing,
        "skipped_held": v.skipped_held,
        "skipped_other": v.skipped_other,
        "events_removed": v.events_removed,
        "percent": v.percent,
        "elapsed": v.elapsed,
        "estimate": v.estimate,
        "finished": v.is_finished,
    })))
}

#[derive(Debug, Deserialize)]
struct ConfirmForm {
    #[serde(default)]
    suppress: Option<String>,
}

async fn require(req: &HttpRequest, access: &WorkspaceAccess, kind: JobKind) -> Result<(), WebError> {
    let permission = permission_for(kind);
    if access.can(permission) {
        Ok(())
    } else {
        Err(access.deny(req, permission.key()).await)
    }
}

async fn confirm(
    state: web::Data<AppState>,
    req: HttpRequest,
    session: TypedSession,
    access: Authorized<perm::CustomersView>,
    path: web::Path<(String, i64)>,
    form: web::Form<ConfirmForm>,
) -> Result<HttpResponse, WebError> {
    let job = load_job(&state, &access, path.1).await?;
    let kind = kind_of(&job);
    require(&req, &access, kind).await?;
    if kind == JobKind::DeleteAll {
        // Delete all is confirmed with the owner's code on its own page.
        return Err(access
            .deny(&req, "customers.delete_all with the account owner's code")
            .await);
    }
    let suppress = kind.deletes() && form.suppress.as_deref() == Some("on");
    let job_id = job.id;
    let actor = access.actor();
    let workspace_id = access.workspace.id;
    let origin = access.origin.clone();
    let selection = job.selection.clone();
    let total = job.total;
    let confirmed = state
        .db
        .run(move |conn| {
            write_transaction(conn, |conn| -> Result<bool, StoreError> {
                if !jobs::confirm(conn, job_id, suppress)? {
                    return Ok(false);
                }
                audit::append(
                    conn,
                    NewEntry::new(actor, AuditAction::JobStarted, &origin)
                        .workspace(workspace_id)
                        .target(format!("job:{job_id}"))
                        .selection(selection)
                        .affected(total)
                        .details(serde_json::json!({ "kind": kind.key(), "suppress": suppress })),
                )?;
                Ok(true)
            })
        })
        .await?;
    if confirmed {
        state.jobs.wake();
        session.flash(
            FlashKind::Info,
            format!(
                "{} job #{job_id} started for {}.",
                kind.label(),
                plural(total, "customer", "customers")
            ),
        );
    } else {
        session.flash(FlashKind::Info, "This job was already started or discarded.");
    }
    Ok(see_other(format!("{}/jobs/{job_id}", access.base())))
}

async fn discard(
    state: web::Data<AppState>,
    req: HttpRequest,
    session: TypedSession,
    access: Authorized<perm::CustomersView>,
    path: web::Path<(String, i64)>,
) -> Result<HttpResponse, WebError> {
    let job = load_job(&state, &access, path.1).await?;
    require(&req, &access, kind_of(&job)).await?;
    let job_id = job.id;
    state
        .db
        .run(move |conn| {
            write_transaction(conn, |conn| -> Result<(), StoreError> {
                if jobs::discard(conn, job_id)? {
                    jobs::clear_targets(conn, job_id)?;
                }
                Ok(())
            })
        })
        .await?;
    session.flash(FlashKind::Info, "Nothing was changed.");
    Ok(see_other(format!("{}/customers", access.base())))
}

async fn cancel(
    state: web::Data<AppState>,
    req: HttpRequest,
    session: TypedSession,
    access: Authorized<perm::CustomersView>,
    path: web::Path<(String, i64)>,
) -> Result<HttpResponse, WebError> {
    let job = load_job(&state, &access, path.1).await?;
    require(&req, &access, kind_of(&job)).await?;
    let job_id = job.id;
    let requested = state
        .db
        .run(move |conn| jobs::request_cancel(conn, job_id))
        .await?;
    session.flash(
        FlashKind::Info,
        if requested {
            "Cancelling: the job stops after the batch in progress. What was done stays done."
        } else {
            "This job has already ended."
        },
    );
    Ok(see_other(format!("{}/jobs/{job_id}", access.base())))
}

pub struct JobRow {
    pub id: i64,
    pub kind_label: &'static str,
    pub state: String,
    pub selection: String,
    pub total: i64,
    pub done: i64,
    pub created_at: String,
}

#[derive(Template)]
#[template(path = "jobs/list.html")]
struct JobListPage {
    layout: Layout,
    base: String,
    jobs: Vec<JobRow>,
}

async fn list(
    state: web::Data<AppState>,
    session: TypedSession,
    access: Authorized<perm::CustomersView>,
) -> Result<HttpResponse, WebError> {
    let workspace_id = access.workspace.id;
    let recent = state
        .db
        .run(move |conn| jobs::recent(conn, workspace_id, 100))
        .await?;
    let rows = recent
        .iter()
        .map(|job| JobRow {
            id: job.id,
            kind_label: kind_of(job).label(),
            state: job.state.clone(),
            selection: job.selection.clone(),
            total: job.total,
            done: job.done,
            created_at: job.created_at.format("%Y-%m-%d %H:%M UTC").to_string(),
        })
        .collect();
    render(&JobListPage {
        layout: Layout::workspace("Jobs", Section::Customers, &session, &access),
        base: access.base(),
        jobs: rows,
    })
}

#[derive(Template)]
#[template(path = "jobs/receipt.html")]
struct ReceiptPage {
    layout: Layout,
    job: JobView,
    workspace_name: String,
    audit_hash: String,
    started_at: String,
    finished_at: String,
    json_url: String,
}

/// A receipt is for the audit reader, or for whoever ran the erasure.
async fn load_receipt(
    state: &AppState,
    req: &HttpRequest,
    access: &WorkspaceAccess,
    receipt_id: String,
) -> Result<(Job, String), WebError> {
    // No receipt id holds NUL, and PostgreSQL refuses it as a parameter.
    if receipt_id.contains('\0') {
        return Err(WebError::NotFound);
    }
    let workspace_id = access.workspace.id;
    let job = state
        .db
        .run(move |conn| jobs::find_by_receipt(conn, workspace_id, &receipt_id))
        .await?
        .filter(|job| job.is_finished() && job.state != state::DISCARDED)
        .ok_or(WebError::NotFound)?;
    if !access.can(Permission::AuditView) && job.created_by != access.user.user.id {
        return Err(access.deny(req, Permission::AuditView.key()).await);
    }
    let created_by = job.created_by;
    let starter = state.db.run(move |conn| users::find(conn, created_by)).await?;
    Ok((
        job,
        starter
            .map(|u| u.name)
            .unwrap_or_else(|| format!("user #{created_by}")),
    ))
}

fn timestamp(at: Option<chrono::NaiveDateTime>) -> String {
    at.map(|t| t.format("%Y-%m-%d %H:%M:%S UTC").to_string())
        .unwrap_or_default()
}

async fn receipt(
    state: web::Data<AppState>,
    req: HttpRequest,
    session: TypedSession,
    access: Authorized<perm::CustomersView>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, WebError> {
    let (job, started_by) = load_receipt(&state, &req, &access, path.1.clone()).await?;
    render(&ReceiptPage {
        json_url: format!("{}/receipts/{}.json", access.base(), job.receipt_id),
        audit_hash: report_text(&job, "audit_hash"),
        started_at: timestamp(job.started_at),
        finished_at: timestamp(job.finished_at),
        workspace_name: access.workspace.name.clone(),
        job: view(&job, started_by),
        layout: Layout::workspace("Erasure receipt", Section::Customers, &session, &access),
    })
}

async fn receipt_json(
    state: web::Data<AppState>,
    req: HttpRequest,
    access: Authorized<perm::CustomersView>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, WebError> {
    let (job, started_by) = load_receipt(&state, &req, &access, path.1.clone()).await?;
    let kind = kind_of(&job);
    Ok(HttpResponse::Ok().json(serde_json::json!({
        "receipt_id": job.receipt_id,
        "url": receipt_url(&state.settings.public_url, &access.workspace.slug, &job.receipt_id),
        "action": kind.key(),
        "state": job.state,
        "actor": { "user_id": job.created_by, "name": started_by },
        "workspace": { "id": access.workspace.id, "slug": access.workspace.slug, "name": access.workspace.name },
        "selection": job.selection,
        "counts": {
            "previewed": job.total,
            "done": job.done,
            "skipped": {
                "already_gone": job.skipped_missing,
                "legal_hold": job.skipped_held,
                "already_anonymous": job.skipped_other,
            },
            "events_removed": job.events_removed,
        },
        "identifiers_suppressed": job.suppress,
        "started_at": timestamp(job.started_at),
        "finished_at": timestamp(job.finished_at),
        "audit_entry_hash": report_text(&job, "audit_hash"),
    })))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_get_thousands_separators() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(12408), "12,408");
        assert_eq!(thousands(1_000_000), "1,000,000");
        assert_eq!(plural(1, "customer", "customers"), "1 customer");
        assert_eq!(plural(2, "customer", "customers"), "2 customers");
    }
}
