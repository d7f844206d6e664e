//! The customers area of a workspace.

use actix_web::{web, HttpResponse};
use askama::Template;

use super::extractors::{perm, Authorized};
use super::layout::{render, Layout, Section};
use super::session::TypedSession;
use super::state::AppState;
use super::WebError;
use crate::store;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/w/{workspace}/customers").route(web::get().to(list)));
}

#[derive(Template)]
#[template(path = "customers/list.html")]
struct ListPage {
    layout: Layout,
    total: i64,
}

async fn list(
    state: web::Data<AppState>,
    session: TypedSession,
    access: Authorized<perm::CustomersView>,
) -> Result<HttpResponse, WebError> {
    let workspace_id = access.workspace.id;
    let total = state
        .db
        .run(move |conn| store::customers::count_all(conn, workspace_id))
        .await?;
    render(&ListPage {
        layout: Layout::workspace("Customers", Section::Customers, &session, &access),
        total,
    })
}
