//! Settings → The owner's code: above how many customers a bulk erasure waits for the
//! account owner's one-time code. Anyone who manages the workspace's settings sees it;
//! only the account owner changes it.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use serde::Deserialize;

use super::load_nav;
use super::SettingsNav;
use crate::erasure::owner_code::set_threshold;
use crate::erasure::preview::owner_code_threshold;
use crate::erasure::ErasureError;
use crate::format::{count, thousands};
use crate::store::customers;
use crate::web::extractors::{perm, Authorized, WorkspaceAccess};
use crate::web::layout::{render, render_with_status, see_other, Layout, Section};
use crate::web::session::{FlashKind, TypedSession};
use crate::web::state::AppState;
use crate::web::WebError;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/w/{workspace}/settings/owner-code")
            .route(web::get().to(show))
            .route(web::post().to(save)),
    );
}

#[derive(Template)]
#[template(path = "settings/owner_code.html")]
struct OwnerCodePage {
    layout: Layout,
    nav: SettingsNav,
    base: String,
    workspace_name: String,
    workspace_total: String,
    effective: String,
    is_default: bool,
    may_change: bool,
    typed: String,
    error: Option<String>,
}

fn path(access: &WorkspaceAccess) -> String {
    format!("{}/settings/owner-code", access.base())
}

async fn page(
    state: &AppState,
    session: &TypedSession,
    access: &WorkspaceAccess,
    typed: Option<String>,
    error: Option<String>,
) -> Result<OwnerCodePage, WebError> {
    let workspace_id = access.workspace.id;
    let total = state
        .db
        .run(move |conn| customers::count_all(conn, workspace_id))
        .await?;
    let configured = access.workspace.owner_code_threshold;
    let effective = owner_code_threshold(total, configured);
    Ok(OwnerCodePage {
        nav: load_nav(state, access.user.user.id, path(access)).await?,
        layout: Layout::workspace("The owner's code", Section::Settings, session, access),
        base: access.base(),
        workspace_name: access.workspace.name.clone(),
        workspace_total: thousands(total),
        effective: count(effective, "customer", "customers"),
        is_default: configured.is_none(),
        may_change: access.user.user.is_owner,
        typed: typed.unwrap_or_else(|| configured.map(|t| t.to_string()).unwrap_or_default()),
        error,
    })
}

async fn show(
    state: web::Data<AppState>,
    session: TypedSession,
    access: Authorized<perm::SettingsManage>,
) -> Result<HttpResponse, WebError> {
    render(&page(&state, &session, &access, None, None).await?)
}

#[derive(Debug, Deserialize)]
struct ThresholdForm {
    #[serde(default)]
    threshold: String,
}

async fn save(
    state: web::Data<AppState>,
    req: HttpRequest,
    session: TypedSession,
    access: Authorized<perm::SettingsManage>,
    form: web::Form<ThresholdForm>,
) -> Result<HttpResponse, WebError> {
    if !access.user.user.is_owner {
        return Err(access.deny(&req, "the account owner").await);
    }
    let typed = form.threshold.trim().replace(',', "");
    let outcome = match typed.parse::<i64>() {
        _ if typed.is_empty() => Ok(None),
        Ok(n) => Ok(Some(n)),
        Err(_) => Err(ErasureError::Refused(
            "Enter a whole number, or leave it empty for the default.".into(),
        )),
    };
    let outcome = match outcome {
        Ok(threshold) => {
            let eraser = access.eraser(&state);
            state
                .db
                .run(move |conn| set_threshold(conn, &eraser, threshold))
                .await
        }
        Err(err) => Err(err),
    };
    match outcome {
        Ok(()) => {
            session.flash(FlashKind::Success, "Saved.");
            Ok(see_other(path(&access)))
        }
        Err(ErasureError::Refused(message)) => {
            let page = page(
                &state,
                &session,
                &access,
                Some(form.threshold.clone()),
                Some(message),
            )
            .await?;
            render_with_status(StatusCode::UNPROCESSABLE_ENTITY, &page)
        }
        Err(err) => Err(err.into()),
    }
}
