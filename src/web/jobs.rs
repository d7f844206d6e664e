//! Bulk erasures: the preview of a frozen selection, confirmation, progress, the job
//! list, and receipts.

use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use serde::Deserialize;

use super::extractors::{perm, Authorized, WorkspaceAccess};
use super::layout::{render, see_other, Layout, Section};
use super::session::{FlashKind, TypedSession};
use super::state::AppState;
use super::{owner_code, WebError};
use crate::domain::masking::{mask_email, mask_name};
use crate::domain::{JobKind, JobState, Permission, TimeZone};
use crate::erasure::confirm::{cancel_job, confirm_job, discard_job, permissions_for, Confirmed};
use crate::erasure::owner_code::CodePurpose;
use crate::erasure::runner::receipt_url;
use crate::erasure::ErasureError;
use crate::format::filters;
use crate::propagation::receipts::{told_for_receipt, DestinationTold};
use crate::store::jobs::{self, Job, PreviewCounts};
use crate::store::{erasures, users, StoreError};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/w/{workspace}/jobs").route(web::get().to(list)))
        .service(web::resource("/w/{workspace}/jobs/{id}").route(web::get().to(show)))
        .service(web::resource("/w/{workspace}/jobs/{id}/progress.json").route(web::get().to(progress)))
        .service(web::resource("/w/{workspace}/jobs/{id}/confirm").route(web::post().to(confirm)))
        .service(web::resource("/w/{workspace}/jobs/{id}/discard").route(web::post().to(discard)))
        .service(web::resource("/w/{workspace}/jobs/{id}/cancel").route(web::post().to(cancel)))
        .service(web::resource("/w/{workspace}/jobs/{id}/code").route(web::post().to(send_code)))
        .service(web::resource("/w/{workspace}/jobs/{id}/code/confirm").route(web::post().to(enter_code)))
        .service(web::resource("/w/{workspace}/receipts/{receipt}.json").route(web::get().to(receipt_json)))
        .service(web::resource("/w/{workspace}/receipts/{receipt}").route(web::get().to(receipt)));
}

pub use crate::erasure::confirm::permission_for;

/// Whether this person may preview, confirm or cancel the job.
fn may_act_on(access: &WorkspaceAccess, job: &Job) -> bool {
    permissions_for(job).into_iter().all(|p| access.can(p))
}

async fn load_job(state: &AppState, access: &WorkspaceAccess, id: i64) -> Result<Job, WebError> {
    let workspace_id = access.workspace.id;
    state
        .db
        .run(move |conn| jobs::find(conn, workspace_id, id))
        .await?
        .filter(|job| job.state != JobState::Discarded)
        .ok_or(WebError::NotFound)
}

fn report_text(job: &Job, key: &str) -> String {
    serde_json::from_str::<serde_json::Value>(&job.report)
        .ok()
        .and_then(|v| v.get(key).and_then(|n| n.as_str().map(str::to_owned)))
        .unwrap_or_default()
}

/// Thousands separators: 12408 → "12,408".
pub use crate::format::{count as plural, thousands};

/// " and 3 devices" after a count of events, or nothing when no device went.
pub fn and_devices(devices: i64) -> String {
    if devices > 0 {
        format!(" and {}", plural(devices, "device", "devices"))
    } else {
        String::new()
    }
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
    /// The preview's numbers as they are shown: `277,667`.
    pub total_shown: String,
    pub events_at_preview_shown: String,
    pub held_at_preview_shown: String,
    pub devices_at_preview_shown: String,
    /// What confirming does, in words: "Delete 259 customers (1 on legal hold will be
    /// skipped)".
    pub action_text: String,
    pub processed: i64,
    pub done: i64,
    pub skipped_missing: i64,
    pub skipped_held: i64,
    pub skipped_other: i64,
    /// Skipped for any reason.
    pub skipped: i64,
    pub events_removed: i64,
    pub devices_removed: i64,
    pub percent: i64,
    pub elapsed: String,
    pub estimate: String,
    pub suppress: bool,
    pub receipt_id: String,
    pub is_preview: bool,
    pub is_active: bool,
    pub is_finished: bool,
    pub cancel_requested: bool,
    /// Waits for the account owner's code before it may run.
    pub needs_owner_code: bool,
    /// Its set is every customer of the workspace.
    pub whole_workspace: bool,
    pub started_by: String,
    pub created_at: String,
    /// A preview whose set is still being frozen: nothing to confirm yet.
    pub freezing: bool,
    /// What a freezing preview is for, before it knows how many: "Delete customers in
    /// DE", "Delete all customers".
    pub freezing_text: String,
    /// How far the freeze is, and how many customers it should come to (at least as
    /// many as it has frozen).
    pub freeze_percent: i64,
    pub freeze_of: i64,
    /// The preview's counts so far, or in full once frozen.
    pub preview: PreviewCounts,
}

fn duration_words(seconds: i64) -> String {
    match seconds {
        s if s < 60 => format!("{s} s"),
        s if s < 3600 => format!("{} min {} s", s / 60, s % 60),
        s => format!("{} h {} min", s / 3600, (s % 3600) / 60),
    }
}

fn view(job: &Job, started_by: String, zone: TimeZone) -> JobView {
    let kind = job.kind;
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
    let preview = PreviewCounts::of(job);
    let freeze_of = job.freeze_expected.max(preview.customers);
    let freeze_percent = match (job.freezing, freeze_of) {
        (false, _) => 100,
        (true, 0) => 0,
        // Never "100 %" before the last batch: the count it goes by was taken at the start.
        (true, of) => (preview.customers * 100 / of).min(99),
    };
    let estimate = if job.is_finished() || processed == 0 || job.state != JobState::Running {
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
        state: job.state.key().to_owned(),
        selection: job.selection.clone(),
        total: job.total,
        total_shown: thousands(job.total),
        events_at_preview_shown: thousands(preview.events),
        held_at_preview_shown: thousands(preview.held),
        devices_at_preview_shown: thousands(preview.devices),
        action_text: action_text(kind.label(), job.total, preview.held),
        processed,
        done: job.done,
        skipped_missing: job.skipped_missing,
        skipped_held: job.skipped_held,
        skipped_other: job.skipped_other,
        skipped: job.skipped_missing + job.skipped_held + job.skipped_other,
        events_removed: job.events_removed,
        devices_removed: job.devices_removed,
        percent,
        elapsed: duration_words(elapsed_seconds),
        estimate,
        suppress: job.suppress,
        receipt_id: job.receipt_id.clone(),
        is_preview: job.state == JobState::Preview,
        is_active: matches!(job.state, JobState::Queued | JobState::Running),
        is_finished: job.is_finished(),
        cancel_requested: job.cancel_requested,
        needs_owner_code: job.needs_owner_code,
        whole_workspace: job.whole_workspace,
        started_by,
        created_at: crate::format::minute(job.created_at, zone),
        freezing: job.freezing,
        freezing_text: format!(
            "{} {}",
            if kind.deletes() { "Delete" } else { kind.label() },
            job.selection
        ),
        freeze_percent,
        freeze_of,
        preview,
    }
}

/// "Delete 259 customers", and how many of them a legal hold keeps, when any does.
fn action_text(kind_label: &str, total: i64, held: i64) -> String {
    let action = format!("{kind_label} {}", plural(total, "customer", "customers"));
    match held {
        0 => action,
        held => format!("{action} ({} on legal hold will be skipped)", thousands(held)),
    }
}

/// The heading over the preview's sample: "This customer", "These 3 customers", or "The
/// first 10 of 277,667": "the first" only of more than it shows.
fn sample_heading(shown: usize, total: i64) -> String {
    let shown = i64::try_from(shown).unwrap_or(i64::MAX);
    match (shown, total) {
        (1, 1) => "This customer".to_owned(),
        (shown, total) if shown >= total => format!("These {} customers", thousands(total)),
        (shown, total) => format!("The first {} of {}", thousands(shown), thousands(total)),
    }
}

/// Where "Cancel" on a preview returns to: the list the bulk form was sent from, with
/// its filters: the browser's Referer when it is that list (kept on this same site by
/// the Referrer-Policy), or the list's query the page named itself (`?from=`) when it
/// refreshes itself while the set freezes, as a refresh's Referer is the page itself.
/// Only ever a path of this workspace's list.
fn list_to_return_to(req: &HttpRequest, access: &WorkspaceAccess, from: Option<&str>) -> String {
    let list = format!("{}/customers", access.base());
    req.headers()
        .get(actix_web::http::header::REFERER)
        .and_then(|v| v.to_str().ok())
        .and_then(|referer| url::Url::parse(referer).ok())
        .and_then(|url| list_path_with_query(&list, url.path(), url.query()))
        .or_else(|| from.and_then(|query| list_path_with_query(&list, &list, Some(query))))
        .unwrap_or(list)
}

/// The preview page's own address with the list to return to (`?from=`), for the
/// refresh that a page without scripts asks for while its set freezes.
fn refresh_url(page: &str, back: &str) -> String {
    match back.split_once('?') {
        Some((_, query)) => format!(
            "{page}?{}",
            url::form_urlencoded::Serializer::new(String::new())
                .append_pair("from", query)
                .finish()
        ),
        None => page.to_owned(),
    }
}

/// The preview page's query: the list it came from.
#[derive(Debug, Default, Deserialize)]
struct ShowQuery {
    #[serde(default)]
    from: Option<String>,
}

/// `path?query` when `path` is exactly the list's path, else nothing.
fn list_path_with_query(list: &str, path: &str, query: Option<&str>) -> Option<String> {
    if path != list {
        return None;
    }
    Some(match query.filter(|q| !q.is_empty()) {
        Some(query) => format!("{list}?{query}"),
        None => list.to_owned(),
    })
}

#[derive(Template)]
#[template(path = "jobs/show.html")]
struct JobPage {
    layout: Layout,
    base: String,
    job: JobView,
    sample: Vec<SampleRow>,
    sample_heading: String,
    /// Whether the sample has an email, or a legal-hold note, to show: no empty columns.
    sample_has_email: bool,
    sample_has_held: bool,
    /// The list (with its filters) that "Cancel" returns to.
    back: String,
    /// Where the page refreshes itself to while its set freezes (without scripts).
    refresh: String,
    may_act: bool,
    auto_refresh: bool,
}

async fn show(
    state: web::Data<AppState>,
    req: HttpRequest,
    session: TypedSession,
    access: Authorized<perm::CustomersView>,
    path: web::Path<(String, i64)>,
    query: web::Query<ShowQuery>,
) -> Result<HttpResponse, WebError> {
    let job = load_job(&state, &access, path.1).await?;
    let kind = job.kind;
    if kind == JobKind::Import {
        // An import's preflight, progress and result have a page of their own.
        return Ok(see_other(format!("{}/imports/{}", access.base(), job.id)));
    }
    let may_act = may_act_on(&access, &job);
    if job.state == JobState::Preview {
        require_preview(&state, &req, &access, &job).await?;
    }
    let show_pii = access.can(Permission::CustomersViewPii);
    let workspace_id = access.workspace.id;
    let job_id = job.id;
    let created_by = job.created_by;
    // The sample is of the frozen set, once it is whole.
    let is_preview = job.state == JobState::Preview && !job.freezing;
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
    let sample: Vec<SampleRow> = sample
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
    let job_view = view(&job, started_by, access.time_zone());
    let auto_refresh = job_view.is_active;
    let sample_heading = sample_heading(sample.len(), job.total);
    let sample_has_email = sample.iter().any(|r| !r.email.is_empty());
    let sample_has_held = sample.iter().any(|r| r.held);
    let back = list_to_return_to(&req, &access, query.from.as_deref());
    render(&JobPage {
        sample_heading,
        sample_has_email,
        sample_has_held,
        refresh: refresh_url(&format!("{}/jobs/{}", access.base(), job.id), &back),
        back,
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
    if job.state == JobState::Preview {
        require_preview(&state, &req, &access, &job).await?;
    }
    let v = view(&job, String::new(), TimeZone::UTC);
    Ok(HttpResponse::Ok().json(serde_json::json!({
        "state": v.state,
        // A preview's freeze: whether its set is whole, and its counts so far.
        "frozen": !v.freezing,
        "frozen_customers": v.preview.customers,
        "expected_customers": v.freeze_of,
        "held": v.preview.held,
        "events": v.preview.events,
        "devices": v.preview.devices,
        "freeze_percent": v.freeze_percent,
        "total": v.total,
        "processed": v.processed,
        "done": v.done,
        "skipped_missing": v.skipped_missing,
        "skipped_held": v.skipped_held,
        "skipped_other": v.skipped_other,
        "events_removed": v.events_removed,
        "devices_removed": v.devices_removed,
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

/// Refuses (audited) unless the person holds every permission the job takes.
async fn require(req: &HttpRequest, access: &WorkspaceAccess, job: &Job) -> Result<(), WebError> {
    match permissions_for(job).into_iter().find(|p| !access.can(*p)) {
        None => Ok(()),
        Some(missing) => Err(access.deny(req, missing.key()).await),
    }
}

/// As [`require`], for a preview. A set may turn out to be every customer only once it
/// is frozen, which then takes `customers.delete_all`: when the one refused is whoever
/// asked for the preview, it is discarded as well, as it would have been had the set
/// been frozen before the form answered.
async fn require_preview(
    state: &AppState,
    req: &HttpRequest,
    access: &WorkspaceAccess,
    job: &Job,
) -> Result<(), WebError> {
    let Some(missing) = permissions_for(job).into_iter().find(|p| !access.can(*p)) else {
        return Ok(());
    };
    if job.created_by == access.user.user.id {
        let eraser = access.eraser(state);
        let job_id = job.id;
        state
            .db
            .run(move |conn| discard_job(conn, &eraser, job_id))
            .await?;
    }
    Err(access.deny(req, missing.key()).await)
}

/// What the preview page says to a confirmation, or a code, asked for too early.
pub(super) const NOT_FROZEN: &str = "Not yet: the customers this touches are still being frozen. \
     Confirm once the preview shows all of them.";

async fn confirm(
    state: web::Data<AppState>,
    req: HttpRequest,
    session: TypedSession,
    access: Authorized<perm::CustomersView>,
    path: web::Path<(String, i64)>,
    form: web::Form<ConfirmForm>,
) -> Result<HttpResponse, WebError> {
    let job = load_job(&state, &access, path.1).await?;
    require(&req, &access, &job).await?;
    let suppress = form.suppress.as_deref() == Some("on");
    let eraser = access.eraser(&state);
    let job_id = job.id;
    let outcome = state
        .db
        .run(move |conn| confirm_job(conn, &eraser, job_id, suppress))
        .await;
    match outcome {
        Ok(Confirmed::Queued) => {
            state.jobs.wake();
            session.flash(
                FlashKind::Info,
                format!(
                    "{} job #{job_id} started for {}.",
                    job.kind.label(),
                    plural(job.total, "customer", "customers")
                ),
            );
        }
        Ok(Confirmed::AlreadyDecided) => {
            session.flash(FlashKind::Info, "This job was already started or discarded.");
        }
        Err(ErasureError::NotFrozen) => session.flash(FlashKind::Error, NOT_FROZEN),
        Err(ErasureError::NeedsOwnerCode) => {
            // Refused like any missing permission: the entry names what was missing.
            return Err(access.deny(&req, "the account owner's code").await);
        }
        Err(err) => return Err(err.into()),
    }
    Ok(see_other(format!("{}/jobs/{job_id}", access.base())))
}

#[derive(Debug, Default, Deserialize)]
struct DiscardForm {
    /// The list to return to, as the preview page put it in its form.
    #[serde(default)]
    back: String,
}

async fn discard(
    state: web::Data<AppState>,
    req: HttpRequest,
    session: TypedSession,
    access: Authorized<perm::CustomersView>,
    path: web::Path<(String, i64)>,
    form: web::Form<DiscardForm>,
) -> Result<HttpResponse, WebError> {
    let job = load_job(&state, &access, path.1).await?;
    require(&req, &access, &job).await?;
    let eraser = access.eraser(&state);
    let job_id = job.id;
    state
        .db
        .run(move |conn| discard_job(conn, &eraser, job_id))
        .await?;
    session.flash(FlashKind::Info, "Nothing was changed.");
    // Only ever back to this workspace's list, whatever the form says.
    let list = format!("{}/customers", access.base());
    let (path, query) = match form.back.split_once('?') {
        Some((path, query)) => (path, Some(query)),
        None => (form.back.as_str(), None),
    };
    Ok(see_other(
        list_path_with_query(&list, path, query).unwrap_or(list),
    ))
}

async fn cancel(
    state: web::Data<AppState>,
    req: HttpRequest,
    session: TypedSession,
    access: Authorized<perm::CustomersView>,
    path: web::Path<(String, i64)>,
) -> Result<HttpResponse, WebError> {
    let job = load_job(&state, &access, path.1).await?;
    require(&req, &access, &job).await?;
    let eraser = access.eraser(&state);
    let job_id = job.id;
    let requested = state
        .db
        .run(move |conn| cancel_job(conn, &eraser, job_id))
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

/// Sends the account owner a code for a previewed job that waits for one.
async fn send_code(
    state: web::Data<AppState>,
    req: HttpRequest,
    session: TypedSession,
    access: Authorized<perm::CustomersView>,
    path: web::Path<(String, i64)>,
) -> Result<HttpResponse, WebError> {
    let job = load_job(&state, &access, path.1).await?;
    require(&req, &access, &job).await?;
    if job.freezing {
        session.flash(FlashKind::Error, NOT_FROZEN);
        return Ok(see_other(format!("{}/jobs/{}", access.base(), job.id)));
    }
    let sent = owner_code::send(&state, &session, &access, CodePurpose::ConfirmJob(job.id)).await?;
    session.flash(FlashKind::Info, sent);
    Ok(see_other(format!("{}/jobs/{}", access.base(), job.id)))
}

#[derive(Debug, Deserialize)]
struct CodeForm {
    #[serde(default)]
    code: String,
    #[serde(default)]
    suppress: Option<String>,
}

/// Confirms a previewed job that waits for the owner's code, with that code.
async fn enter_code(
    state: web::Data<AppState>,
    req: HttpRequest,
    session: TypedSession,
    access: Authorized<perm::CustomersView>,
    path: web::Path<(String, i64)>,
    form: web::Form<CodeForm>,
) -> Result<HttpResponse, WebError> {
    let job = load_job(&state, &access, path.1).await?;
    require(&req, &access, &job).await?;
    if job.freezing {
        session.flash(FlashKind::Error, NOT_FROZEN);
        return Ok(see_other(format!("{}/jobs/{}", access.base(), job.id)));
    }
    let suppress = form.suppress.as_deref() == Some("on");
    let purpose = CodePurpose::ConfirmJob(job.id);
    let outcome = owner_code::enter(&state, &session, &access, purpose, form.code.clone(), suppress).await?;
    let (kind, message) = owner_code::message(&outcome);
    session.flash(kind, message);
    Ok(see_other(format!("{}/jobs/{}", access.base(), job.id)))
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
            kind_label: job.kind.label(),
            state: if job.freezing {
                "preview, freezing".to_owned()
            } else {
                job.state.key().to_owned()
            },
            selection: job.selection.clone(),
            total: job.total,
            done: job.done,
            created_at: crate::format::minute(job.created_at, access.time_zone()),
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
    destinations: Vec<ToldRow>,
    /// The data-subject request this erasure answered, if one did.
    request: Option<(i64, String)>,
}

/// What one destination was told of the erasure, on the receipt.
struct ToldRow {
    name: String,
    state: &'static str,
    state_key: &'static str,
    delivered: i64,
    events: i64,
    last_attempt: String,
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
        .filter(|job| job.is_finished() && job.state != JobState::Discarded)
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

/// A time on the receipt's page, in the viewer's zone.
fn timestamp(at: Option<chrono::NaiveDateTime>, zone: TimeZone) -> String {
    at.map(|at| crate::format::second(at, zone)).unwrap_or_default()
}

/// A time in the receipt's JSON: ISO 8601 in UTC, whoever reads it.
fn iso_timestamp(at: Option<chrono::NaiveDateTime>) -> Option<String> {
    at.map(crate::format::iso)
}

async fn receipt(
    state: web::Data<AppState>,
    req: HttpRequest,
    session: TypedSession,
    access: Authorized<perm::CustomersView>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, WebError> {
    let (job, started_by) = load_receipt(&state, &req, &access, path.1.clone()).await?;
    let told = load_told(&state, &access, &job).await?;
    let request = load_request(&state, &access, &job).await?;
    let zone = access.time_zone();
    render(&ReceiptPage {
        request: request.map(|id| (id, format!("{}/requests/{id}", access.base()))),
        destinations: told
            .iter()
            .map(|t| ToldRow {
                name: if t.removed {
                    format!("{} (removed)", t.name)
                } else {
                    t.name.clone()
                },
                state: t.state().label(),
                state_key: t.state().key(),
                delivered: t.delivered,
                events: t.events,
                last_attempt: t
                    .last_attempt
                    .map_or_else(|| "Not yet".to_owned(), |at| crate::format::second(at, zone)),
            })
            .collect(),
        json_url: format!("{}/receipts/{}.json", access.base(), job.receipt_id),
        audit_hash: report_text(&job, "audit_hash"),
        started_at: timestamp(job.started_at, access.time_zone()),
        finished_at: timestamp(job.finished_at, access.time_zone()),
        workspace_name: access.workspace.name.clone(),
        job: view(&job, started_by, access.time_zone()),
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
    let told = load_told(&state, &access, &job).await?;
    let request = load_request(&state, &access, &job).await?;
    let kind = job.kind;
    Ok(HttpResponse::Ok().json(serde_json::json!({
        "receipt_id": job.receipt_id,
        "url": receipt_url(&state.settings.public_url, &access.workspace.slug, &job.receipt_id),
        "action": kind.key(),
        "state": job.state.key(),
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
            "devices_removed": job.devices_removed,
        },
        "identifiers_suppressed": job.suppress,
        "started_at": iso_timestamp(job.started_at),
        "finished_at": iso_timestamp(job.finished_at),
        "audit_entry_hash": report_text(&job, "audit_hash"),
        "request": request,
        "destinations": told.iter().map(|t| serde_json::json!({
            "name": t.name,
            "removed": t.removed,
            "state": t.state().key(),
            "events": t.events,
            "delivered": t.delivered,
            "pending": t.pending,
            "failed": t.failed,
            "last_attempt_at": iso_timestamp(t.last_attempt),
        })).collect::<Vec<_>>(),
    })))
}

/// The data-subject request whose erasure this receipt is, if any.
async fn load_request(
    state: &AppState,
    access: &WorkspaceAccess,
    job: &Job,
) -> Result<Option<i64>, WebError> {
    let workspace_id = access.workspace.id;
    let job_id = job.id;
    Ok(state
        .db
        .run(move |conn| crate::store::requests::for_job(conn, workspace_id, job_id))
        .await?
        .map(|r| r.id))
}

/// What the workspace's destinations were told of this receipt's erasure.
async fn load_told(
    state: &AppState,
    access: &WorkspaceAccess,
    job: &Job,
) -> Result<Vec<DestinationTold>, WebError> {
    let workspace_id = access.workspace.id;
    let receipt_id = job.receipt_id.clone();
    Ok(state
        .db
        .run(move |conn| told_for_receipt(conn, workspace_id, &receipt_id))
        .await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_action_says_how_many_a_legal_hold_keeps() {
        assert_eq!(action_text("Delete", 259, 0), "Delete 259 customers");
        assert_eq!(
            action_text("Delete", 277_667, 1),
            "Delete 277,667 customers (1 on legal hold will be skipped)"
        );
        assert_eq!(action_text("Archive", 1, 0), "Archive 1 customer");
    }

    #[test]
    fn the_sample_says_the_first_ten_only_of_more() {
        assert_eq!(sample_heading(1, 1), "This customer");
        assert_eq!(sample_heading(3, 3), "These 3 customers");
        assert_eq!(sample_heading(10, 10), "These 10 customers");
        assert_eq!(sample_heading(10, 277_667), "The first 10 of 277,667");
    }

    #[test]
    fn cancel_returns_only_to_this_workspace_s_list() {
        let list = "/w/acme/customers";
        assert_eq!(
            list_path_with_query(list, "/w/acme/customers", Some("country=DE&q=ada")),
            Some("/w/acme/customers?country=DE&q=ada".to_owned())
        );
        assert_eq!(
            list_path_with_query(list, "/w/acme/customers", Some("")),
            Some(list.to_owned())
        );
        for elsewhere in [
            "/w/other/customers",
            "//evil.example/w/acme/customers",
            "/w/acme/customers/1",
            "",
        ] {
            assert_eq!(list_path_with_query(list, elsewhere, None), None, "{elsewhere}");
        }
    }

    #[test]
    fn a_refreshing_preview_names_the_list_it_returns_to() {
        assert_eq!(
            refresh_url("/w/acme/jobs/7", "/w/acme/customers?country=DE&q=ada"),
            "/w/acme/jobs/7?from=country%3DDE%26q%3Dada"
        );
        assert_eq!(
            refresh_url("/w/acme/jobs/7", "/w/acme/customers"),
            "/w/acme/jobs/7"
        );
    }

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
