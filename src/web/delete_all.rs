//! Delete all: the most dangerous button, made the safest. The person types the
//! workspace's name, a one-time code goes to the account owner (whoever asked), and
//! only that code, within ten minutes, in this sign-in, for this workspace and this
//! action, starts the job; the owner may use their authenticator instead.

use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use askama::Template;
use serde::Deserialize;

use super::extractors::{perm, Authorized, WorkspaceAccess};
use super::jobs::{plural, thousands};
use super::layout::{render, render_with_status, see_other, Layout, Section};
use super::session::{FlashKind, TypedSession};
use super::state::AppState;
use super::{owner_code, WebError};
use crate::erasure::owner_code::{CodeOutcome, CodePurpose};
use crate::erasure::ErasureError;
use crate::store::{customers, StoreError};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/w/{workspace}/customers/delete-all")
            .route(web::get().to(start))
            .route(web::post().to(send_code)),
    )
    .service(
        web::resource("/w/{workspace}/customers/delete-all/confirm")
            .route(web::get().to(code_form))
            .route(web::post().to(confirm)),
    );
}

#[derive(Template)]
#[template(path = "customers/delete_all.html")]
struct StartPage {
    layout: Layout,
    base: String,
    workspace_name: String,
    customers: String,
    events: String,
    typed: String,
    error: Option<String>,
}

async fn counts(state: &AppState, workspace_id: i64) -> Result<(i64, i64), WebError> {
    Ok(state
        .db
        .run(move |conn| -> Result<_, StoreError> {
            Ok((
                customers::count_all(conn, workspace_id)?,
                crate::store::erasures::count_workspace_events(conn, workspace_id)?,
            ))
        })
        .await?)
}

async fn start_page(
    state: &AppState,
    session: &TypedSession,
    access: &WorkspaceAccess,
    typed: String,
    error: Option<String>,
) -> Result<StartPage, WebError> {
    let (customers, events) = counts(state, access.workspace.id).await?;
    Ok(StartPage {
        layout: Layout::workspace("Delete all customers", Section::Customers, session, access),
        base: access.base(),
        workspace_name: access.workspace.name.clone(),
        customers: thousands(customers),
        events: thousands(events),
        typed,
        error,
    })
}

async fn start(
    state: web::Data<AppState>,
    session: TypedSession,
    access: Authorized<perm::CustomersDeleteAll>,
) -> Result<HttpResponse, WebError> {
    render(&start_page(&state, &session, &access, String::new(), None).await?)
}

#[derive(Debug, Deserialize)]
struct NameForm {
    #[serde(default)]
    workspace_name: String,
}

async fn send_code(
    state: web::Data<AppState>,
    session: TypedSession,
    access: Authorized<perm::CustomersDeleteAll>,
    form: web::Form<NameForm>,
) -> Result<HttpResponse, WebError> {
    let typed = form.workspace_name.trim().to_owned();
    if typed != access.workspace.name {
        let page = start_page(
            &state,
            &session,
            &access,
            typed,
            Some("That is not this workspace's name. Type it exactly as shown.".into()),
        )
        .await?;
        return render_with_status(StatusCode::UNPROCESSABLE_ENTITY, &page);
    }
    let sent = owner_code::send(&state, &session, &access, CodePurpose::DeleteAll).await?;
    session.flash(FlashKind::Info, sent);
    Ok(see_other(format!(
        "{}/customers/delete-all/confirm",
        access.base()
    )))
}

#[derive(Template)]
#[template(path = "customers/delete_all_code.html")]
struct CodePage {
    layout: Layout,
    base: String,
    workspace_name: String,
    customers: String,
    owner_may_use_totp: bool,
    error: Option<String>,
}

async fn code_page(
    state: &AppState,
    session: &TypedSession,
    access: &WorkspaceAccess,
    error: Option<String>,
) -> Result<CodePage, WebError> {
    let (customers, _) = counts(state, access.workspace.id).await?;
    let user = &access.user.user;
    Ok(CodePage {
        layout: Layout::workspace("Enter the code", Section::Customers, session, access),
        base: access.base(),
        workspace_name: access.workspace.name.clone(),
        customers: plural(customers, "customer", "customers"),
        owner_may_use_totp: user.is_owner && user.has_totp(),
        error,
    })
}

async fn code_form(
    state: web::Data<AppState>,
    session: TypedSession,
    access: Authorized<perm::CustomersDeleteAll>,
) -> Result<HttpResponse, WebError> {
    render(&code_page(&state, &session, &access, None).await?)
}

#[derive(Debug, Deserialize)]
struct CodeForm {
    #[serde(default)]
    code: String,
    #[serde(default)]
    suppress: Option<String>,
}

async fn confirm(
    state: web::Data<AppState>,
    session: TypedSession,
    access: Authorized<perm::CustomersDeleteAll>,
    form: web::Form<CodeForm>,
) -> Result<HttpResponse, WebError> {
    let suppress = form.suppress.as_deref() == Some("on");
    let outcome = owner_code::enter(
        &state,
        &session,
        &access,
        CodePurpose::DeleteAll,
        form.code.clone(),
        suppress,
    )
    .await;
    let message = match outcome {
        Ok(CodeOutcome::Started(job)) => {
            session.flash(
                FlashKind::Info,
                "Code accepted. Every customer of this workspace is being deleted.",
            );
            return Ok(see_other(format!("{}/jobs/{}", access.base(), job.id)));
        }
        Err(ErasureError::EmptySelection) => {
            session.flash(
                FlashKind::Info,
                "This workspace has no customers: there is nothing to delete.",
            );
            return Ok(see_other(format!("{}/customers", access.base())));
        }
        Err(err) => return Err(err.into()),
        Ok(other) => owner_code::message(&other).1,
    };
    let page = code_page(&state, &session, &access, Some(message)).await?;
    render_with_status(StatusCode::UNPROCESSABLE_ENTITY, &page)
}
