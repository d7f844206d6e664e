//! Erasing from the customers pages: one customer from their profile, and the bulk
//! actions of the list, which go through a frozen preview first.

use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use serde::Deserialize;

use super::extractors::{perm, Authorized, WorkspaceAccess};
use super::jobs::{and_devices, plural};
use super::layout::{render, see_other, Layout, Section};
use super::session::{FlashKind, FlashLink, TypedSession};
use super::state::AppState;
use super::WebError;
use crate::domain::{BuiltinRole, CustomerFilter, JobKind};
use crate::erasure::confirm::{discard_job, permission_for, permissions_for};
use crate::erasure::legal_hold::set_legal_hold;
use crate::erasure::preview::{start_preview, Selection};
use crate::erasure::single::{erase_customer, CustomerRef};
use crate::erasure::ErasureError;
use crate::store::customers;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/w/{workspace}/customers/bulk").route(web::post().to(bulk_preview)))
        .service(
            web::resource("/w/{workspace}/customers/{id}/delete")
                .route(web::get().to(confirm_delete))
                .route(web::post().to(delete_one)),
        )
        .service(
            web::resource("/w/{workspace}/customers/{id}/archive")
                .route(web::get().to(confirm_archive))
                .route(web::post().to(archive_one)),
        )
        .service(web::resource("/w/{workspace}/customers/{id}/legal-hold").route(web::post().to(legal_hold)));
}

const NOTHING_SELECTED: &str =
    "Nothing was selected: tick some customers, or use the filters to choose whom to erase.";

impl From<ErasureError> for WebError {
    fn from(err: ErasureError) -> Self {
        match err {
            ErasureError::Store(store) => store.into(),
            ErasureError::NotFound => WebError::NotFound,
            ErasureError::Held => {
                WebError::BadRequest("This customer is under legal hold and cannot be erased.".into())
            }
            ErasureError::EmptySelection => WebError::BadRequest(NOTHING_SELECTED.into()),
            ErasureError::Ambiguous => WebError::BadRequest(
                "More than one customer has that email address; erase them from their own pages.".into(),
            ),
            ErasureError::Refused(message) => WebError::BadRequest(message),
            ErasureError::NeedsOwnerCode => WebError::BadRequest(
                "This erasure needs the account owner's code: send it from the preview page.".into(),
            ),
            ErasureError::NotFrozen => WebError::BadRequest(super::jobs::NOT_FROZEN.into()),
            other => WebError::internal(other),
        }
    }
}

#[derive(Template)]
#[template(path = "customers/confirm_erasure.html")]
struct ConfirmPage {
    layout: Layout,
    base: String,
    customer_id: i64,
    title: String,
    deletes: bool,
    held: bool,
    emails_identify: bool,
}

async fn confirm_page(
    state: &AppState,
    session: &TypedSession,
    access: &WorkspaceAccess,
    id: i64,
    kind: JobKind,
) -> Result<HttpResponse, WebError> {
    let workspace_id = access.workspace.id;
    let customer = state
        .db
        .run(move |conn| customers::find(conn, workspace_id, id))
        .await?
        .ok_or(WebError::NotFound)?;
    let title = if kind.deletes() {
        format!("Delete customer #{id} forever?")
    } else {
        format!("Archive customer #{id}?")
    };
    render(&ConfirmPage {
        layout: Layout::workspace(title.clone(), Section::Customers, session, access),
        base: access.base(),
        customer_id: customer.id,
        title,
        deletes: kind.deletes(),
        held: customer.legal_hold_reason.is_some(),
        emails_identify: access.workspace.identifier_mode == crate::domain::IdentifierMode::IdOrEmail,
    })
}

async fn confirm_delete(
    state: web::Data<AppState>,
    session: TypedSession,
    access: Authorized<perm::CustomersDelete>,
    path: web::Path<(String, i64)>,
) -> Result<HttpResponse, WebError> {
    confirm_page(&state, &session, &access, path.1, JobKind::Delete).await
}

async fn confirm_archive(
    state: web::Data<AppState>,
    session: TypedSession,
    access: Authorized<perm::CustomersArchive>,
    path: web::Path<(String, i64)>,
) -> Result<HttpResponse, WebError> {
    confirm_page(&state, &session, &access, path.1, JobKind::Archive).await
}

#[derive(Debug, Deserialize)]
struct EraseForm {
    #[serde(default)]
    suppress: Option<String>,
}

async fn erase(
    state: &AppState,
    session: &TypedSession,
    access: &WorkspaceAccess,
    id: i64,
    kind: JobKind,
    suppress: bool,
) -> Result<HttpResponse, WebError> {
    let eraser = access.eraser(state);
    let outcome = state
        .db
        .run(move |conn| erase_customer(conn, &eraser, kind, CustomerRef::Internal(id), suppress))
        .await?
        .ok_or(WebError::NotFound)?;
    let receipt = FlashLink::receipt(&access.base(), &outcome.job.receipt_id);
    if kind.deletes() {
        let suppression = if suppress {
            "Their identifiers are suppressed: they cannot be added again."
        } else {
            "Their identifiers were not suppressed and may be used again; a customer created with them starts with no history."
        };
        session.flash_with_link(
            FlashKind::Success,
            format!(
                "Customer #{id} was deleted forever with {}{}. {suppression}",
                plural(outcome.events_removed, "event", "events"),
                and_devices(outcome.devices_removed)
            ),
            receipt,
        );
        Ok(see_other(format!("{}/customers", access.base())))
    } else {
        if outcome.job.done == 0 {
            session.flash(
                FlashKind::Success,
                format!("Customer #{id} was already anonymous; nothing changed."),
            );
        } else {
            session.flash_with_link(
                FlashKind::Success,
                format!("Customer #{id} is now an anonymous customer; their activity is kept."),
                receipt,
            );
        }
        Ok(see_other(format!("{}/customers/{id}", access.base())))
    }
}

async fn delete_one(
    state: web::Data<AppState>,
    session: TypedSession,
    access: Authorized<perm::CustomersDelete>,
    path: web::Path<(String, i64)>,
    form: web::Form<EraseForm>,
) -> Result<HttpResponse, WebError> {
    let suppress = form.suppress.as_deref() == Some("on");
    erase(&state, &session, &access, path.1, JobKind::Delete, suppress).await
}

async fn archive_one(
    state: web::Data<AppState>,
    session: TypedSession,
    access: Authorized<perm::CustomersArchive>,
    path: web::Path<(String, i64)>,
) -> Result<HttpResponse, WebError> {
    erase(&state, &session, &access, path.1, JobKind::Archive, false).await
}

/// The list's filter fields as the bulk form carried them, as a query string: the
/// customers "filtered" and "all matching" mean. The order and the page size are no
/// part of it.
fn filter_query(pairs: &[(String, String)]) -> String {
    query_of(
        pairs,
        &["q", "country", "city", "status", "seen_from", "seen_to", "attr"],
    )
}

/// The list as the bulk form came from it, filters, order and page size: where a
/// mistake in the form sends the person back to, with what they had chosen.
fn list_query(pairs: &[(String, String)]) -> String {
    query_of(
        pairs,
        &[
            "q",
            "country",
            "city",
            "status",
            "seen_from",
            "seen_to",
            "attr",
            "sort",
            "dir",
            "per_page",
        ],
    )
}

fn query_of(pairs: &[(String, String)], keys: &[&str]) -> String {
    let kept: Vec<(&str, &str)> = pairs
        .iter()
        .filter(|(k, _)| keys.contains(&k.as_str()))
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    serde_urlencoded::to_string(&kept).unwrap_or_default()
}

/// The list's bulk form: which action, on the ticked rows or on everyone matching.
fn parse_bulk(pairs: &[(String, String)]) -> Result<(JobKind, Selection), WebError> {
    let value = |key: &str| pairs.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str());
    let (kind, scope) = match value("intent") {
        Some("delete_selected") => (JobKind::Delete, "selected"),
        Some("archive_selected") => (JobKind::Archive, "selected"),
        Some("delete_filtered") => (JobKind::Delete, "filtered"),
        Some("archive_filtered") => (JobKind::Archive, "filtered"),
        _ => {
            return Err(WebError::BadRequest(
                "Choose an action: delete or archive.".into(),
            ))
        }
    };
    let all_matching = value("all_matching") == Some("1");
    if scope == "filtered" || all_matching {
        let query = filter_query(pairs);
        let filter = CustomerFilter::from_query_string(&query).map_err(|errors| {
            let message = errors
                .iter()
                .map(|(_, m)| m.to_owned())
                .collect::<Vec<_>>()
                .join("; ");
            WebError::BadRequest(format!("The filters could not be used: {message}"))
        })?;
        return Ok((kind, Selection::Filter(filter.first_page())));
    }
    // Ticked rows come as `ids`; "select all on this page" as one comma-separated
    // `page_ids`, so that it works without script.
    let ids = pairs
        .iter()
        .filter(|(k, _)| k == "ids" || k == "page_ids")
        .flat_map(|(_, v)| {
            v.split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect::<Vec<_>>()
        })
        .map(|v| v.parse::<i64>())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|_| {
            WebError::BadRequest("The selection could not be read. Reload the list and try again.".into())
        })?;
    if ids.len() > 10_000 {
        return Err(WebError::BadRequest(
            "Select at most 10,000 customers by hand; use the filters for more.".into(),
        ));
    }
    Ok((kind, Selection::Ids(ids)))
}

async fn bulk_preview(
    state: web::Data<AppState>,
    req: HttpRequest,
    session: TypedSession,
    access: Authorized<perm::CustomersView>,
    body: String,
) -> Result<HttpResponse, WebError> {
    let pairs: Vec<(String, String)> = url::form_urlencoded::parse(body.as_bytes())
        .into_owned()
        .collect();
    // A mistake in the form (nothing ticked, a filter that cannot be read) is told on
    // the list it came from, filters kept: the list shows a bad filter beside its field.
    let query = list_query(&pairs);
    let back = if query.is_empty() {
        format!("{}/customers", access.base())
    } else {
        format!("{}/customers?{query}", access.base())
    };
    let back_with = |message: String| {
        session.flash(FlashKind::Error, message);
        Ok(see_other(back.clone()))
    };
    let (kind, selection) = match parse_bulk(&pairs) {
        Ok(parsed) => parsed,
        Err(WebError::BadRequest(message)) => return back_with(message),
        Err(err) => return Err(err),
    };
    if !access.can(permission_for(kind)) {
        return Err(access.deny(&req, permission_for(kind).key()).await);
    }
    // The same filters the list applied for this viewer, so "filtered" means the
    // customers it showed and a preview's count is no oracle over personal data.
    let selection = match selection {
        Selection::Filter(filter) => Selection::Filter(
            crate::web::customers::Viewer::new(&access)
                .allowed_filter(filter)
                .0,
        ),
        ids => ids,
    };
    let workspace = access.workspace.clone();
    let user_id = access.user.user.id;
    // The first batch is frozen here; a larger set answers at once all the same, and the
    // runner freezes the rest while the preview page shows it filling in.
    let first_batch = state.jobs.first_batch();
    let job = match state
        .db
        .run(move |conn| start_preview(conn, &workspace, user_id, kind, &selection, first_batch))
        .await
    {
        Ok(job) => job,
        Err(ErasureError::EmptySelection) => return back_with(NOTHING_SELECTED.to_owned()),
        Err(err) => return Err(err.into()),
    };
    // A set that is every customer is a delete-all, whatever the button said: without
    // that permission the preview is dropped before anyone sees it. (One that turns
    // out to be everyone only as it freezes is dropped when its page is next asked for.)
    if let Some(missing) = permissions_for(&job).into_iter().find(|p| !access.can(*p)) {
        let eraser = access.eraser(&state);
        let job_id = job.id;
        state
            .db
            .run(move |conn| discard_job(conn, &eraser, job_id))
            .await?;
        return Err(access.deny(&req, missing.key()).await);
    }
    if job.freezing {
        state.jobs.wake_freezer();
    }
    Ok(see_other(format!("{}/jobs/{}", access.base(), job.id)))
}

#[derive(Debug, Deserialize)]
struct HoldForm {
    #[serde(default)]
    reason: String,
    #[serde(default)]
    release: Option<String>,
}

/// Legal hold: owners and admins only. A held customer is never erased.
async fn legal_hold(
    state: web::Data<AppState>,
    req: HttpRequest,
    session: TypedSession,
    access: Authorized<perm::CustomersView>,
    path: web::Path<(String, i64)>,
    form: web::Form<HoldForm>,
) -> Result<HttpResponse, WebError> {
    if !matches!(
        access.role.builtin_role(),
        Some(BuiltinRole::Owner | BuiltinRole::Admin)
    ) {
        // A role decides this, not a permission: the entry names the rule.
        return Err(access.deny(&req, "the Owner or Admin role").await);
    }
    let id = path.1;
    let release = form.release.is_some();
    let reason = form.reason.trim().to_owned();
    // Control characters have no place in a reason, and PostgreSQL cannot store NUL.
    let unfit = reason.is_empty() || reason.chars().count() > 500 || reason.chars().any(char::is_control);
    if !release && unfit {
        session.flash(
            FlashKind::Error,
            "Give a reason for the legal hold (up to 500 characters, no control characters).",
        );
        return Ok(see_other(format!("{}/customers/{id}", access.base())));
    }
    let eraser = access.eraser(&state);
    state
        .db
        .run(move |conn| {
            let held = if release { None } else { Some(reason.as_str()) };
            set_legal_hold(conn, &eraser, id, held)
        })
        .await?;
    session.flash(
        FlashKind::Success,
        if release {
            "The legal hold is released; this customer can be erased again."
        } else {
            "This customer is under legal hold: no deletion or archiving will touch them."
        },
    );
    Ok(see_other(format!("{}/customers/{id}", access.base())))
}
