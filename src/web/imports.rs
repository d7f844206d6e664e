//! CSV imports: the upload form, the preflight report with its confirmation, then the
//! job's progress and what it skipped. Confirming, cancelling and the progress JSON
//! are the job pages' own (`/jobs/{id}/confirm`, `…/discard`, `…/cancel`,
//! `…/progress.json`).

use std::time::Duration;

use actix_multipart::Multipart;
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use futures_util::StreamExt;

use super::extractors::{perm, Authorized, WorkspaceAccess};
use super::jobs::{permission_for, plural, thousands};
use super::layout::{render, render_with_status, see_other, Layout, Section};
use super::session::TypedSession;
use super::state::AppState;
use super::WebError;
use crate::domain::{parse_customer_csv, IdentifierMode, JobKind, JobState};
use crate::erasure::import::{self, ImportSource};
use crate::erasure::import_report::ImportReport;
use crate::format::filters;
use crate::store::jobs::{self, Job};
use crate::store::{self, users};

/// The largest file accepted: about 100,000 customers with a dozen columns.
pub const MAX_UPLOAD_BYTES: usize = 20 * 1024 * 1024;
/// A client that has not sent the file by then is not going to.
const UPLOAD_TIMEOUT: Duration = Duration::from_secs(120);
const MAX_FILE_NAME_CHARS: usize = 100;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/w/{workspace}/customers/import")
            .route(web::get().to(upload_form))
            .route(web::post().to(upload)),
    )
    .service(web::resource("/w/{workspace}/imports/{id}").route(web::get().to(show)));
}

#[derive(Template)]
#[template(path = "imports/upload.html")]
struct UploadPage {
    layout: Layout,
    base: String,
    error: Option<String>,
    emails_identify: bool,
    max_megabytes: usize,
}

fn upload_page(
    session: &TypedSession,
    access: &WorkspaceAccess,
    error: Option<String>,
) -> Result<HttpResponse, WebError> {
    let page = UploadPage {
        layout: Layout::workspace("Import customers", Section::Customers, session, access),
        base: access.base(),
        emails_identify: access.workspace.identifier_mode == IdentifierMode::IdOrEmail,
        max_megabytes: MAX_UPLOAD_BYTES / (1024 * 1024),
        error,
    };
    match page.error {
        Some(_) => render_with_status(StatusCode::UNPROCESSABLE_ENTITY, &page),
        None => render(&page),
    }
}

async fn upload_form(
    session: TypedSession,
    access: Authorized<perm::SettingsManage>,
) -> Result<HttpResponse, WebError> {
    upload_page(&session, &access, None)
}

struct Upload {
    file_name: String,
    bytes: web::Bytes,
}

/// The `file` field of the form. Errors are what the upload page tells the person.
async fn read_upload(multipart: &mut Multipart) -> Result<Upload, String> {
    const UNREADABLE: &str = "The upload could not be read. Choose the file again and retry.";
    const NO_FILE: &str = "Choose a CSV file to upload.";
    while let Some(field) = multipart.next().await {
        let mut field = field.map_err(|_| UNREADABLE.to_owned())?;
        if field.name() != Some("file") {
            continue;
        }
        let file_name = field
            .content_disposition()
            .and_then(|d| d.get_filename())
            .map(clean_file_name)
            .unwrap_or_default();
        let bytes = match tokio::time::timeout(UPLOAD_TIMEOUT, field.bytes(MAX_UPLOAD_BYTES)).await {
            Ok(Ok(Ok(bytes))) => bytes,
            Ok(Err(_limit_exceeded)) => {
                return Err(format!(
                    "The file is larger than {} MB. Split it into smaller files.",
                    MAX_UPLOAD_BYTES / (1024 * 1024)
                ))
            }
            Ok(Ok(Err(_))) => return Err(UNREADABLE.to_owned()),
            Err(_elapsed) => return Err("The upload took too long. Try again.".to_owned()),
        };
        if file_name.is_empty() && bytes.is_empty() {
            return Err(NO_FILE.to_owned());
        }
        return Ok(Upload { file_name, bytes });
    }
    Err(NO_FILE.to_owned())
}

/// The name as shown on the report: no folders, no control characters, not too long.
fn clean_file_name(raw: &str) -> String {
    let base = raw.rsplit(['/', '\\']).next().unwrap_or_default();
    base.chars()
        .filter(|c| !c.is_control())
        .take(MAX_FILE_NAME_CHARS)
        .collect()
}

async fn upload(
    state: web::Data<AppState>,
    session: TypedSession,
    access: Authorized<perm::SettingsManage>,
    mut multipart: Multipart,
) -> Result<HttpResponse, WebError> {
    let upload = match read_upload(&mut multipart).await {
        Ok(upload) => upload,
        Err(message) => return upload_page(&session, &access, Some(message)),
    };
    let mode = access.workspace.identifier_mode;
    let bytes = upload.bytes;
    let parsed = web::block(move || parse_customer_csv(&bytes, mode, store::now()))
        .await
        .map_err(WebError::internal)?;
    let parsed = match parsed {
        Ok(parsed) => parsed,
        Err(err) => return upload_page(&session, &access, Some(err.to_string())),
    };
    let workspace = access.workspace.clone();
    let secret = state.secret.clone();
    let created_by = access.user.user.id;
    let file_name = upload.file_name;
    let job = state
        .db
        .run(move |conn| {
            let source = ImportSource {
                created_by,
                file_name: &file_name,
            };
            import::preview(conn, &workspace, &secret, &source, parsed)
        })
        .await?;
    Ok(see_other(format!("{}/imports/{}", access.base(), job.id)))
}

#[derive(Template)]
#[template(path = "imports/show.html")]
struct ImportPage {
    layout: Layout,
    base: String,
    job_id: i64,
    state: String,
    is_preview: bool,
    is_active: bool,
    is_finished: bool,
    cancel_requested: bool,
    may_act: bool,
    total: i64,
    total_text: String,
    processed: i64,
    percent: i64,
    done: i64,
    skipped: i64,
    started_by: String,
    created_at: String,
    report: ImportReport,
    rows_in_file: String,
    problems_not_listed: i64,
    skipped_not_listed: i64,
}

async fn show(
    state: web::Data<AppState>,
    req: HttpRequest,
    session: TypedSession,
    access: Authorized<perm::CustomersView>,
    path: web::Path<(String, i64)>,
) -> Result<HttpResponse, WebError> {
    let workspace_id = access.workspace.id;
    let id = path.1;
    let job: Job = state
        .db
        .run(move |conn| jobs::find(conn, workspace_id, id))
        .await?
        .filter(|job| job.kind == JobKind::Import && job.state != JobState::Discarded)
        .ok_or(WebError::NotFound)?;
    let may_act = access.can(permission_for(JobKind::Import));
    if job.state == JobState::Preview && !may_act {
        return Err(access.deny(&req, permission_for(JobKind::Import).key()).await);
    }
    let created_by = job.created_by;
    let starter = state.db.run(move |conn| users::find(conn, created_by)).await?;
    let report = ImportReport::read(&job.report);
    let processed = job.processed();
    let is_active = matches!(job.state, JobState::Queued | JobState::Running);
    let title = if job.state == JobState::Preview {
        "Import customers?".to_owned()
    } else {
        format!("Import job #{}", job.id)
    };
    render(&ImportPage {
        layout: Layout::workspace(title, Section::Customers, &session, &access),
        base: access.base(),
        job_id: job.id,
        state: job.state.key().to_owned(),
        is_preview: job.state == JobState::Preview,
        is_active,
        is_finished: job.is_finished(),
        cancel_requested: job.cancel_requested,
        may_act,
        total: job.total,
        total_text: plural(job.total, "customer", "customers"),
        processed,
        percent: if job.total > 0 {
            (processed * 100 / job.total).min(100)
        } else {
            100
        },
        done: job.done,
        skipped: job.skipped_other,
        started_by: starter
            .map(|u| u.name)
            .unwrap_or_else(|| format!("user #{created_by}")),
        created_at: crate::format::minute(job.created_at, access.time_zone()),
        rows_in_file: thousands(report.rows_in_file),
        problems_not_listed: report.problems_not_listed(),
        skipped_not_listed: report.skipped_not_listed(),
        report,
    })
}

/// Whether the viewer may import: decides the link on the customers list.
pub fn may_import(access: &WorkspaceAccess) -> bool {
    access.can(permission_for(JobKind::Import))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_lose_their_folders_and_control_characters() {
        assert_eq!(clean_file_name("C:\\Users\\ada\\customers.csv"), "customers.csv");
        assert_eq!(clean_file_name("/tmp/a\u{7}b.csv"), "ab.csv");
        assert_eq!(clean_file_name(&"x".repeat(500)).len(), MAX_FILE_NAME_CHARS);
    }
}
