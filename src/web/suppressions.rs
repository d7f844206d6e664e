//! The suppression list of a workspace: look an identifier up, list, export, add and
//! unsuppress. The list holds keyed digests only, so every answer is computed from
//! what the person types, and nothing on the page can be turned back into an address.

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use serde::Deserialize;

use super::extractors::{perm, Authorized, WorkspaceAccess};
use super::layout::{render, render_with_status, see_other, Layout, Section};
use super::session::{FlashKind, FlashLink, TypedSession};
use super::state::AppState;
use super::WebError;
use crate::domain::{Email, Identifier, IdentifierMode, Permission, TimeZone};
use crate::erasure::suppress::digests_matching_identifier;
use crate::erasure::suppression::{suppress_identifier, unsuppress_digests};
use crate::format::filters;
use crate::store::suppressions::{self, Suppression};
use crate::store::StoreError;

const PAGE_SIZE: i64 = 50;
const REASONS: [&str; 5] = ["manual", "deleted", "api", "bounce", "complaint"];

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/w/{workspace}/suppressions").route(web::get().to(list)))
        .service(web::resource("/w/{workspace}/suppressions/lookup").route(web::post().to(lookup)))
        .service(web::resource("/w/{workspace}/suppressions/add").route(web::post().to(add)))
        .service(web::resource("/w/{workspace}/suppressions/export.csv").route(web::get().to(export)))
        .service(
            web::resource("/w/{workspace}/suppressions/{id}/unsuppress")
                .route(web::get().to(confirm_unsuppress))
                .route(web::post().to(unsuppress)),
        );
}

/// Readers of the list: whoever manages it, and compliance reviewers.
async fn require_reader(req: &HttpRequest, access: &WorkspaceAccess) -> Result<(), WebError> {
    if access.can(Permission::SuppressionsManage) || access.can(Permission::AuditView) {
        Ok(())
    } else {
        Err(access.deny(req, "suppressions.manage or audit.view").await)
    }
}

pub struct Row {
    pub id: i64,
    pub digest_prefix: String,
    pub kind: String,
    pub reason: String,
    pub created_at: String,
    pub created_by: String,
}

fn row(s: &Suppression, zone: TimeZone) -> Row {
    Row {
        id: s.id,
        digest_prefix: s.digest.chars().take(12).collect(),
        kind: s.kind.key().to_owned(),
        reason: s.reason.clone(),
        created_at: crate::format::minute(s.created_at, zone),
        created_by: s.created_by.clone(),
    }
}

/// The answer to "is this identifier suppressed?".
pub struct LookupAnswer {
    pub typed: String,
    pub suppressed: bool,
    pub kind: String,
    pub reason: String,
    pub since: String,
}

#[derive(Template)]
#[template(path = "suppressions/list.html")]
struct ListPage {
    layout: Layout,
    base: String,
    rows: Vec<Row>,
    total: i64,
    may_manage: bool,
    emails_identify: bool,
    answer: Option<LookupAnswer>,
    lookup_error: Option<String>,
    add_error: Option<String>,
    next_before: Option<i64>,
    is_later_page: bool,
    reasons: [&'static str; 5],
}

#[derive(Debug, Default, Deserialize)]
struct ListParams {
    #[serde(default)]
    before: Option<i64>,
}

async fn page(
    state: &AppState,
    session: &TypedSession,
    access: &WorkspaceAccess,
    before: Option<i64>,
    answer: Option<LookupAnswer>,
    lookup_error: Option<String>,
    add_error: Option<String>,
) -> Result<ListPage, WebError> {
    let workspace_id = access.workspace.id;
    let (entries, total) = state
        .db
        .run(move |conn| -> Result<_, StoreError> {
            Ok((
                suppressions::page(conn, workspace_id, before, PAGE_SIZE + 1)?,
                suppressions::count(conn, workspace_id)?,
            ))
        })
        .await?;
    let has_more = entries.len() as i64 > PAGE_SIZE;
    let shown: Vec<&Suppression> = entries.iter().take(PAGE_SIZE as usize).collect();
    Ok(ListPage {
        layout: Layout::workspace("Suppressions", Section::Suppressions, session, access),
        base: access.base(),
        rows: shown.iter().map(|s| row(s, access.time_zone())).collect(),
        total,
        may_manage: access.can(Permission::SuppressionsManage),
        emails_identify: access.workspace.identifier_mode == crate::domain::IdentifierMode::IdOrEmail,
        answer,
        lookup_error,
        add_error,
        next_before: if has_more {
            shown.last().map(|s| s.id)
        } else {
            None
        },
        is_later_page: before.is_some(),
        reasons: REASONS,
    })
}

async fn list(
    state: web::Data<AppState>,
    req: HttpRequest,
    session: TypedSession,
    access: Authorized<perm::CustomersView>,
    params: web::Query<ListParams>,
) -> Result<HttpResponse, WebError> {
    require_reader(&req, &access).await?;
    render(&page(&state, &session, &access, params.before, None, None, None).await?)
}

#[derive(Debug, Deserialize)]
struct IdentifierForm {
    #[serde(default)]
    identifier: String,
    #[serde(default)]
    kind: String,
    #[serde(default)]
    reason: String,
}

/// The digests of what was typed, as the kind chosen (or guessed: a value with an @ is
/// an email address when the workspace identifies people by email): an address's in
/// each form it may have been suppressed in.
fn typed_digests(
    state: &AppState,
    access: &WorkspaceAccess,
    form: &IdentifierForm,
) -> Result<(&'static str, Vec<String>), String> {
    // An email's own digests come first; a typed value is never an internal id.
    let digests = digests_matching_identifier(&state.secret, &typed_identifier(access, form)?);
    let kind = digests
        .first()
        .map(|(kind, _)| *kind)
        .ok_or_else(|| "Enter an ID or an email address.".to_owned())?;
    Ok((
        kind,
        digests
            .into_iter()
            .filter(|(k, _)| *k == kind)
            .map(|(_, d)| d)
            .collect(),
    ))
}

/// What was typed, as the kind chosen or guessed.
fn typed_identifier(access: &WorkspaceAccess, form: &IdentifierForm) -> Result<Identifier, String> {
    let typed = form.identifier.trim();
    if typed.is_empty() {
        return Err("Enter an ID or an email address.".into());
    }
    if typed.chars().count() > 254 {
        return Err("That is longer than any identifier can be.".into());
    }
    let as_email = match form.kind.as_str() {
        "email" => true,
        "id" => false,
        _ => {
            typed.contains('@')
                && access.workspace.identifier_mode == crate::domain::IdentifierMode::IdOrEmail
        }
    };
    if as_email {
        let email = Email::parse(typed).map_err(|e| format!("That email address is not valid: {e}."))?;
        Ok(Identifier::Email(email))
    } else {
        // The same rules as the Track API's ids: what could never be stored as one need
        // not be suppressed, and a `cio_` id names a customer, not an identifier.
        match Identifier::parse(typed, IdentifierMode::Id) {
            Ok(Identifier::InternalId(_)) => Err(
                "A cio_ id is the customer's internal id: suppress their own ID or email address instead."
                    .into(),
            ),
            Ok(identifier) => Ok(identifier),
            Err(err) => Err(format!("That ID cannot be used: {err}.")),
        }
    }
}

async fn lookup(
    state: web::Data<AppState>,
    req: HttpRequest,
    session: TypedSession,
    access: Authorized<perm::CustomersView>,
    form: web::Form<IdentifierForm>,
) -> Result<HttpResponse, WebError> {
    require_reader(&req, &access).await?;
    let (kind, digests) = match typed_digests(&state, &access, &form) {
        Ok(found) => found,
        Err(message) => {
            let page = page(&state, &session, &access, None, None, Some(message), None).await?;
            return render_with_status(actix_web::http::StatusCode::UNPROCESSABLE_ENTITY, &page);
        }
    };
    let workspace_id = access.workspace.id;
    let found = state
        .db
        .run(move |conn| -> Result<_, StoreError> {
            for digest in &digests {
                if let Some(found) = suppressions::find(conn, workspace_id, kind, digest)? {
                    return Ok(Some(found));
                }
            }
            Ok(None)
        })
        .await?;
    let answer = LookupAnswer {
        typed: form.identifier.trim().to_owned(),
        suppressed: found.is_some(),
        kind: kind.to_owned(),
        reason: found.as_ref().map(|s| s.reason.clone()).unwrap_or_default(),
        since: found
            .as_ref()
            .map(|s| crate::format::minute(s.created_at, access.time_zone()))
            .unwrap_or_default(),
    };
    render(&page(&state, &session, &access, None, Some(answer), None, None).await?)
}

async fn add(
    state: web::Data<AppState>,
    session: TypedSession,
    access: Authorized<perm::SuppressionsManage>,
    form: web::Form<IdentifierForm>,
) -> Result<HttpResponse, WebError> {
    let reason = form.reason.trim();
    let reason = if reason.is_empty() { "manual" } else { reason };
    if !REASONS.contains(&reason) {
        return Err(WebError::BadRequest("Choose a reason from the list.".into()));
    }
    let identifier = match typed_identifier(&access, &form) {
        Ok(identifier) => identifier,
        Err(message) => {
            let page = page(&state, &session, &access, None, None, None, Some(message)).await?;
            return render_with_status(actix_web::http::StatusCode::UNPROCESSABLE_ENTITY, &page);
        }
    };
    let eraser = access.eraser(&state);
    let reason = reason.to_owned();
    let done = state
        .db
        .run(move |conn| suppress_identifier(conn, &eraser, &identifier, &reason))
        .await?;
    let mut message = if done.added > 0 {
        "The identifier is suppressed: the API and imports will refuse it.".to_owned()
    } else {
        "That identifier was already suppressed.".to_owned()
    };
    match &done.deleted {
        Some(deleted) => {
            message.push_str(&format!(
                " Customer #{} who had it was deleted forever with {}{}.",
                deleted.job.selection.trim_start_matches("customer #"),
                super::jobs::plural(deleted.events_removed, "event", "events"),
                super::jobs::and_devices(deleted.devices_removed),
            ));
            let receipt = FlashLink::receipt(&access.base(), &deleted.job.receipt_id);
            session.flash_with_link(FlashKind::Success, message, receipt);
        }
        None => session.flash(FlashKind::Success, message),
    }
    Ok(see_other(format!("{}/suppressions", access.base())))
}

async fn find_suppression(
    state: &AppState,
    access: &WorkspaceAccess,
    id: i64,
) -> Result<Suppression, WebError> {
    let workspace_id = access.workspace.id;
    state
        .db
        .run(move |conn| suppressions::find_by_id(conn, workspace_id, id))
        .await?
        .ok_or(WebError::NotFound)
}

#[derive(Template)]
#[template(path = "suppressions/unsuppress.html")]
struct UnsuppressPage {
    layout: Layout,
    base: String,
    row: Row,
}

async fn confirm_unsuppress(
    state: web::Data<AppState>,
    session: TypedSession,
    access: Authorized<perm::SuppressionsManage>,
    path: web::Path<(String, i64)>,
) -> Result<HttpResponse, WebError> {
    let found = find_suppression(&state, &access, path.1).await?;
    render(&UnsuppressPage {
        layout: Layout::workspace("Unsuppress", Section::Suppressions, &session, &access),
        base: access.base(),
        row: row(&found, access.time_zone()),
    })
}

async fn unsuppress(
    state: web::Data<AppState>,
    session: TypedSession,
    access: Authorized<perm::SuppressionsManage>,
    path: web::Path<(String, i64)>,
) -> Result<HttpResponse, WebError> {
    let found = find_suppression(&state, &access, path.1).await?;
    let kind = found.kind.key();
    let eraser = access.eraser(&state);
    state
        .db
        .run(move |conn| unsuppress_digests(conn, &eraser, &[(kind, found.digest)]))
        .await?;
    session.flash(
        FlashKind::Success,
        "Unsuppressed: the identifier is free again. A customer created with it starts with no history.",
    );
    Ok(see_other(format!("{}/suppressions", access.base())))
}

async fn export(
    state: web::Data<AppState>,
    req: HttpRequest,
    access: Authorized<perm::CustomersView>,
) -> Result<HttpResponse, WebError> {
    require_reader(&req, &access).await?;
    let workspace_id = access.workspace.id;
    let body = state
        .db
        .run(move |conn| -> Result<Vec<u8>, StoreError> {
            let mut writer = csv::Writer::from_writer(Vec::new());
            let _ = writer.write_record(["digest", "kind", "reason", "created_at", "created_by"]);
            let mut before = None;
            loop {
                let page = suppressions::page(conn, workspace_id, before, 1000)?;
                let Some(last) = page.last() else { break };
                before = Some(last.id);
                for s in &page {
                    let created = crate::format::iso(s.created_at);
                    let fields = [
                        s.digest.as_str(),
                        s.kind.key(),
                        s.reason.as_str(),
                        created.as_str(),
                        s.created_by.as_str(),
                    ];
                    let _ = writer.write_record(fields.map(super::audit::csv_safe));
                }
            }
            Ok(writer.into_inner().unwrap_or_default())
        })
        .await?;
    Ok(HttpResponse::Ok()
        .content_type("text/csv; charset=utf-8")
        .insert_header((
            header::CONTENT_DISPOSITION,
            format!(
                "attachment; filename=\"suppressions-{}.csv\"",
                access.workspace.slug
            ),
        ))
        .body(body))
}
