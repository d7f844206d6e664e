//! Requests: data-subject requests from intake to close. Handling them needs
//! `requests.manage`; a compliance reviewer (`audit.view`) reads them, with the
//! identifiers the person gave masked, and never their export.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use serde::Deserialize;

use super::extractors::{perm, Authorized, WorkspaceAccess};
use super::layout::{render_with_status, see_other, Layout, Section};
use super::session::{FlashKind, TypedSession};
use super::settings::manager;
use super::state::AppState;
use super::WebError;
use crate::domain::data_request::{
    Extension, FieldErrors, RequestForm, RequestIntake, RequestKind, RequestStanding, MAX_EXTENSION_DAYS,
};
use crate::domain::masking::{mask_email, mask_other, mask_phone};
use crate::domain::{JobKind, Permission};
use crate::format::filters;
use crate::requests::access_export::{make_export, open_download, ExportFormat, EXPORT_DAYS};
use crate::requests::lifecycle::{self, Outcome, RequestError};
use crate::store::requests::{self as stored, DataRequest};
use crate::store::{jobs, now, suppressions, StoreError};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/w/{workspace}/requests")
            .route(web::get().to(list))
            .route(web::post().to(record)),
    )
    .service(web::resource("/w/{workspace}/requests/new").route(web::get().to(new_form)))
    .service(web::resource("/w/{workspace}/requests/{id}").route(web::get().to(show)))
    .service(web::resource("/w/{workspace}/requests/{id}/extend").route(web::post().to(extend)))
    .service(web::resource("/w/{workspace}/requests/{id}/erase").route(web::post().to(erase)))
    .service(web::resource("/w/{workspace}/requests/{id}/export").route(web::post().to(export)))
    .service(web::resource("/w/{workspace}/requests/{id}/export.json").route(web::get().to(download_json)))
    .service(web::resource("/w/{workspace}/requests/{id}/export.html").route(web::get().to(download_html)))
    .service(web::resource("/w/{workspace}/requests/{id}/close").route(web::post().to(close)));
}

/// Reading requests: whoever handles them, and the compliance reader.
async fn may_read(access: &WorkspaceAccess, req: &HttpRequest) -> Result<(), WebError> {
    if access.can(Permission::RequestsManage) || access.can(Permission::AuditView) {
        Ok(())
    } else {
        Err(access.deny(req, Permission::RequestsManage.key()).await)
    }
}

fn request_path(access: &WorkspaceAccess, id: i64) -> String {
    format!("{}/requests/{id}", access.base())
}

pub struct RequestRow {
    id: i64,
    kind: &'static str,
    standing: &'static str,
    standing_key: &'static str,
    received: String,
    due: String,
    extended: bool,
}

fn row(request: &DataRequest, access: &WorkspaceAccess) -> RequestRow {
    let zone = access.time_zone();
    let standing = request.standing(now());
    RequestRow {
        id: request.id,
        kind: request.request_kind().label(),
        standing: standing.label(),
        standing_key: standing.key(),
        received: request.received_at.date().to_string(),
        due: crate::format::minute(request.due_at, zone),
        extended: request.extension_reason.is_some(),
    }
}

#[derive(Template)]
#[template(path = "requests/list.html")]
struct ListPage {
    layout: Layout,
    base: String,
    rows: Vec<RequestRow>,
    overdue: usize,
    due_soon: usize,
    can_manage: bool,
}

async fn list(
    state: web::Data<AppState>,
    req: HttpRequest,
    session: TypedSession,
    access: WorkspaceAccess,
) -> Result<HttpResponse, WebError> {
    may_read(&access, &req).await?;
    let workspace_id = access.workspace.id;
    let found = state
        .db
        .run(move |conn| stored::list(conn, workspace_id, 50))
        .await?;
    let rows: Vec<RequestRow> = found.iter().map(|r| row(r, &access)).collect();
    let count = |key: &str| rows.iter().filter(|r| r.standing_key == key).count();
    render_with_status(
        StatusCode::OK,
        &ListPage {
            layout: Layout::workspace("Requests", Section::Requests, &session, &access),
            base: access.base(),
            overdue: count(RequestStanding::Overdue.key()),
            due_soon: count(RequestStanding::DueSoon.key()),
            rows,
            can_manage: access.can(Permission::RequestsManage),
        },
    )
}

pub struct KindChoice {
    key: &'static str,
    label: &'static str,
    checked: bool,
}

#[derive(Template)]
#[template(path = "requests/new.html")]
struct NewPage {
    layout: Layout,
    base: String,
    form: RequestForm,
    kinds: Vec<KindChoice>,
    errors: FieldErrors,
}

impl NewPage {
    fn error(&self, field: &str) -> Option<&str> {
        self.errors.iter().find(|e| e.0 == field).map(|e| e.1.as_str())
    }
}

fn new_page(
    session: &TypedSession,
    access: &WorkspaceAccess,
    form: RequestForm,
    errors: FieldErrors,
) -> NewPage {
    let kinds = RequestKind::ALL
        .iter()
        .map(|k| KindChoice {
            key: k.key(),
            label: k.label(),
            checked: form.kind == k.key(),
        })
        .collect();
    NewPage {
        layout: Layout::workspace("Record a request", Section::Requests, session, access),
        base: access.base(),
        form,
        kinds,
        errors,
    }
}

async fn new_form(
    session: TypedSession,
    access: Authorized<perm::RequestsManage>,
) -> Result<HttpResponse, WebError> {
    let form = RequestForm {
        kind: RequestKind::Both.key().into(),
        received_on: now().date().to_string(),
        ..RequestForm::default()
    };
    render_with_status(StatusCode::OK, &new_page(&session, &access, form, Vec::new()))
}

#[derive(Debug, Deserialize)]
struct IntakeForm {
    #[serde(default)]
    kind: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    external_id: String,
    #[serde(default)]
    phone: String,
    #[serde(default)]
    verification: String,
    #[serde(default)]
    received_on: String,
}

async fn record(
    state: web::Data<AppState>,
    session: TypedSession,
    access: Authorized<perm::RequestsManage>,
    form: web::Form<IntakeForm>,
) -> Result<HttpResponse, WebError> {
    let form = form.into_inner();
    let typed = RequestForm {
        kind: form.kind,
        email: form.email,
        external_id: form.external_id,
        phone: form.phone,
        verification: form.verification,
        received_on: form.received_on,
    };
    let intake = match RequestIntake::parse(&typed, now().date()) {
        Ok(intake) => intake,
        Err(errors) => {
            let page = new_page(&session, &access, typed, errors);
            return render_with_status(StatusCode::UNPROCESSABLE_ENTITY, &page);
        }
    };
    let manager = manager(&access);
    let id = state
        .db
        .run(move |conn| lifecycle::record(conn, &manager, &intake))
        .await
        .map_err(refused)?;
    session.flash(
        FlashKind::Success,
        format!("Request #{id} is recorded. It is due in 30 days."),
    );
    Ok(see_other(request_path(&access, id)))
}

pub struct MatchRow {
    id: i64,
    shown: String,
    archived: bool,
    events: i64,
    devices: i64,
}

#[derive(Template)]
#[template(path = "requests/show.html")]
struct ShowPage {
    layout: Layout,
    base: String,
    id: i64,
    kind: &'static str,
    wants_access: bool,
    wants_erasure: bool,
    standing: &'static str,
    standing_key: &'static str,
    closed: bool,
    outcome: Option<&'static str>,
    identifiers: Vec<(&'static str, String, bool)>,
    verification: String,
    received: String,
    due: String,
    extension: Option<String>,
    max_extension: i64,
    matches: Vec<MatchRow>,
    /// The erasure's job, receipt, state, and when it ended.
    job: Option<(i64, String, String, Option<String>)>,
    export_until: Option<String>,
    export_days: i64,
    can_manage: bool,
    can_delete: bool,
    can_archive: bool,
    outcomes: Vec<(&'static str, &'static str)>,
}

async fn show(
    state: web::Data<AppState>,
    req: HttpRequest,
    session: TypedSession,
    access: WorkspaceAccess,
    path: web::Path<(String, i64)>,
) -> Result<HttpResponse, WebError> {
    may_read(&access, &req).await?;
    let id = path.1;
    let workspace_id = access.workspace.id;
    let secret = state.secret.clone();
    let (request, matched, suppressed, job) = state
        .db
        .run(move |conn| -> Result<_, RequestError> {
            let request = stored::find(conn, workspace_id, id)?.ok_or(RequestError::NotFound)?;
            let matched = lifecycle::matches(conn, &request)?;
            let mut suppressed = Vec::new();
            for (kind, digest) in lifecycle::identifier_digests(&secret, &request) {
                if suppressions::find(conn, workspace_id, kind, &digest)?.is_some() {
                    suppressed.push(kind);
                }
            }
            let job = match request.job_id {
                Some(job_id) => jobs::find(conn, workspace_id, job_id)?,
                None => None,
            };
            Ok((request, matched, suppressed, job))
        })
        .await
        .map_err(refused)?;
    let manages = access.can(Permission::RequestsManage);
    let zone = access.time_zone();
    // The person's identifiers, to whoever handles the request; masked to a reader.
    let mut identifiers = Vec::new();
    for (label, kind, value, mask) in [
        ("Email", "email", &request.email, mask_email as fn(&str) -> String),
        ("External id", "id", &request.external_id, mask_other),
        ("Phone", "phone", &request.phone, mask_phone),
    ] {
        if let Some(value) = value {
            let shown = if manages { value.clone() } else { mask(value) };
            identifiers.push((label, shown, suppressed.contains(&kind)));
        }
    }
    let matches = matched
        .iter()
        .map(|m| MatchRow {
            id: m.id,
            shown: if manages {
                [m.name.as_deref(), m.email.as_deref(), m.external_id.as_deref()]
                    .into_iter()
                    .flatten()
                    .collect::<Vec<_>>()
                    .join(" · ")
            } else {
                format!("Customer #{}", m.id)
            },
            archived: m.archived,
            events: m.events,
            devices: m.devices,
        })
        .collect();
    let standing = request.standing(now());
    let kind = request.request_kind();
    render_with_status(
        StatusCode::OK,
        &ShowPage {
            layout: Layout::workspace(format!("Request #{id}"), Section::Requests, &session, &access),
            base: access.base(),
            id,
            kind: kind.label(),
            wants_access: kind.wants_access(),
            wants_erasure: kind.wants_erasure(),
            standing: standing.label(),
            standing_key: standing.key(),
            closed: request.is_closed(),
            outcome: request
                .outcome
                .as_deref()
                .and_then(Outcome::parse)
                .map(Outcome::label),
            identifiers,
            verification: request.verification.clone(),
            received: request.received_at.date().to_string(),
            due: crate::format::minute(request.due_at, zone),
            extension: request.extension_reason.clone(),
            max_extension: MAX_EXTENSION_DAYS,
            matches,
            job: job.map(|j| {
                let state = j.state.key().replace('_', " ");
                let ended = j.finished_at.map(|at| crate::format::minute(at, zone));
                (j.id, j.receipt_id, state, ended)
            }),
            export_until: request
                .export_expires_at
                .filter(|until| *until > now())
                .map(|until| crate::format::minute(until, zone)),
            export_days: EXPORT_DAYS,
            can_manage: manages,
            can_delete: manages && access.can(Permission::CustomersDelete),
            can_archive: manages && access.can(Permission::CustomersArchive),
            outcomes: Outcome::ALL.iter().map(|o| (o.key(), o.label())).collect(),
        },
    )
}

#[derive(Debug, Deserialize)]
struct ExtendForm {
    #[serde(default)]
    days: String,
    #[serde(default)]
    reason: String,
}

async fn extend(
    state: web::Data<AppState>,
    session: TypedSession,
    access: Authorized<perm::RequestsManage>,
    path: web::Path<(String, i64)>,
    form: web::Form<ExtendForm>,
) -> Result<HttpResponse, WebError> {
    let id = path.1;
    let back = request_path(&access, id);
    let extension = match Extension::parse(&form.days, &form.reason) {
        Ok(extension) => extension,
        Err(errors) => {
            let message = errors.into_iter().map(|e| e.1).collect::<Vec<_>>().join(" ");
            session.flash(FlashKind::Error, message);
            return Ok(see_other(back));
        }
    };
    let manager = manager(&access);
    let done = state
        .db
        .run(move |conn| lifecycle::extend(conn, &manager, id, &extension))
        .await;
    flash_outcome(&session, done, "The due date is extended; tell the person why.")?;
    Ok(see_other(back))
}

#[derive(Debug, Deserialize)]
struct EraseForm {
    #[serde(default)]
    intent: String,
}

/// Starts the erasure through the erasure core's preview, which shows exactly whom it
/// touches and asks whether to suppress their identifiers too.
async fn erase(
    state: web::Data<AppState>,
    req: HttpRequest,
    session: TypedSession,
    access: Authorized<perm::RequestsManage>,
    path: web::Path<(String, i64)>,
    form: web::Form<EraseForm>,
) -> Result<HttpResponse, WebError> {
    let id = path.1;
    let kind = match form.intent.as_str() {
        "archive" => JobKind::Archive,
        "delete" => JobKind::Delete,
        _ => return Err(WebError::BadRequest("Choose to delete or to archive.".into())),
    };
    let needed = if kind == JobKind::Archive {
        Permission::CustomersArchive
    } else {
        Permission::CustomersDelete
    };
    if !access.can(needed) {
        return Err(access.deny(&req, needed.key()).await);
    }
    let manager = manager(&access);
    let workspace = access.workspace.clone();
    let started = state
        .db
        .run(move |conn| lifecycle::start_erasure(conn, &manager, &workspace, id, kind))
        .await;
    match started {
        Ok(job) => Ok(see_other(format!("{}/jobs/{}", access.base(), job.id))),
        Err(RequestError::Refused(message)) => {
            session.flash(FlashKind::Error, message);
            Ok(see_other(request_path(&access, id)))
        }
        Err(err) => Err(refused(err)),
    }
}

async fn export(
    state: web::Data<AppState>,
    session: TypedSession,
    access: Authorized<perm::RequestsManage>,
    path: web::Path<(String, i64)>,
) -> Result<HttpResponse, WebError> {
    let id = path.1;
    let manager = manager(&access);
    let workspace = access.workspace.clone();
    let data_dir = state.settings.data_dir.clone();
    let made = state
        .db
        .run(move |conn| make_export(conn, &manager, &workspace, &data_dir, id))
        .await;
    let said = format!("The export is ready, as JSON and as a page, for {EXPORT_DAYS} days.");
    flash_outcome(&session, made.map(|_| ()), &said)?;
    Ok(see_other(request_path(&access, id)))
}

async fn download(
    state: &AppState,
    access: &WorkspaceAccess,
    id: i64,
    format: ExportFormat,
) -> Result<HttpResponse, WebError> {
    let manager = manager(access);
    let data_dir = state.settings.data_dir.clone();
    let path = state
        .db
        .run(move |conn| open_download(conn, &manager, &data_dir, id, format))
        .await
        .map_err(refused)?;
    let file = std::fs::File::open(&path).map_err(|_| WebError::NotFound)?;
    let disposition = format!("attachment; filename=\"request-{id}.{}\"", format.extension());
    Ok(HttpResponse::Ok()
        .content_type(format.content_type())
        .insert_header(("Content-Disposition", disposition))
        .insert_header(("Cache-Control", "no-store"))
        .streaming(file_chunks(file)))
}

/// The file in pieces, read off the async threads: an export of a long history is
/// tens of megabytes, never held whole.
fn file_chunks(
    file: std::fs::File,
) -> impl futures_util::Stream<Item = Result<bytes::Bytes, actix_web::Error>> {
    futures_util::stream::unfold(Some(file), |file| async move {
        let mut file = file?;
        let read = tokio::task::spawn_blocking(move || {
            use std::io::Read;
            let mut buffer = vec![0u8; 64 * 1024];
            let n = file.read(&mut buffer)?;
            buffer.truncate(n);
            Ok::<_, std::io::Error>((buffer, file))
        })
        .await;
        match read {
            Ok(Ok((buffer, _))) if buffer.is_empty() => None,
            Ok(Ok((buffer, file))) => Some((Ok(bytes::Bytes::from(buffer)), Some(file))),
            Ok(Err(err)) => Some((Err(actix_web::error::ErrorInternalServerError(err)), None)),
            Err(err) => Some((Err(actix_web::error::ErrorInternalServerError(err)), None)),
        }
    })
}

async fn download_json(
    state: web::Data<AppState>,
    access: Authorized<perm::RequestsManage>,
    path: web::Path<(String, i64)>,
) -> Result<HttpResponse, WebError> {
    download(&state, &access, path.1, ExportFormat::Json).await
}

async fn download_html(
    state: web::Data<AppState>,
    access: Authorized<perm::RequestsManage>,
    path: web::Path<(String, i64)>,
) -> Result<HttpResponse, WebError> {
    download(&state, &access, path.1, ExportFormat::Html).await
}

#[derive(Debug, Deserialize)]
struct CloseForm {
    #[serde(default)]
    outcome: String,
}

async fn close(
    state: web::Data<AppState>,
    session: TypedSession,
    access: Authorized<perm::RequestsManage>,
    path: web::Path<(String, i64)>,
    form: web::Form<CloseForm>,
) -> Result<HttpResponse, WebError> {
    let id = path.1;
    let back = request_path(&access, id);
    let Some(outcome) = Outcome::parse(&form.outcome) else {
        session.flash(FlashKind::Error, "Choose how the request ended.");
        return Ok(see_other(back));
    };
    let manager = manager(&access);
    let secret = state.secret.clone();
    let done = state
        .db
        .run(move |conn| lifecycle::close(conn, &manager, &secret, id, outcome))
        .await;
    flash_outcome(
        &session,
        done,
        "Closed. The identifiers the person gave are kept only as keyed digests now.",
    )?;
    Ok(see_other(back))
}

/// A change's answer: its success said, a rule's refusal said, anything else an error page.
fn flash_outcome(session: &TypedSession, done: Result<(), RequestError>, said: &str) -> Result<(), WebError> {
    match done {
        Ok(()) => {
            session.flash(FlashKind::Success, said.to_owned());
            Ok(())
        }
        Err(RequestError::Refused(message)) => {
            session.flash(FlashKind::Error, message);
            Ok(())
        }
        Err(err) => Err(refused(err)),
    }
}

fn refused(err: RequestError) -> WebError {
    match err {
        RequestError::NotFound => WebError::NotFound,
        RequestError::Refused(message) => WebError::BadRequest(message),
        RequestError::Store(err) => err.into(),
        RequestError::Erasure(err) => err.into(),
        RequestError::Export(message) => WebError::internal(StoreError::Inconsistent(message)),
    }
}
