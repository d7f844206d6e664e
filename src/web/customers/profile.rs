//! GET /w/{workspace}/customers/{id}: one customer and their activity.

use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;

use super::view::{EventView, Profile, Viewer};
use crate::domain::QueryMap;
use crate::store::{self, StoreError};
use crate::web::extractors::{perm, Authorized};
use crate::web::layout::{render, Layout, Section};
use crate::web::session::TypedSession;
use crate::web::state::AppState;
use crate::web::WebError;

pub const EVENTS_PER_PAGE: i64 = 25;

#[derive(Template)]
#[template(path = "customers/profile.html")]
struct ProfilePage {
    layout: Layout,
    list_href: String,
    profile: Profile,
    events: Vec<EventView>,
    older_href: Option<String>,
    newest_href: Option<String>,
    /// The customer's own address, which the erasure actions hang off.
    own_href: String,
    /// Which erasure controls the viewer's role allows; the server checks again.
    may_delete: bool,
    may_archive: bool,
    may_hold: bool,
}

pub async fn profile(
    state: web::Data<AppState>,
    session: TypedSession,
    access: Authorized<perm::CustomersView>,
    path: web::Path<(String, i64)>,
    req: HttpRequest,
) -> Result<HttpResponse, WebError> {
    let (_, customer_id) = path.into_inner();
    let before = match QueryMap::parse(req.query_string()).get("before") {
        None | Some("") => None,
        Some(raw) => Some(raw.parse::<i64>().ok().filter(|id| *id > 0).ok_or_else(|| {
            WebError::BadRequest("This page link is damaged: open the customer again.".into())
        })?),
    };
    let workspace_id = access.workspace.id;
    let found = state
        .db
        .run(move |conn| -> Result<_, StoreError> {
            let Some(customer) = store::customers::find(conn, workspace_id, customer_id)? else {
                return Ok(None);
            };
            let (events, older) =
                store::customers::events_page(conn, workspace_id, customer.id, before, EVENTS_PER_PAGE)?;
            let devices = store::devices::for_customer(conn, workspace_id, customer.id)?;
            Ok(Some((customer, events, older, devices)))
        })
        .await?;
    let (customer, events, older, devices) = found.ok_or(WebError::NotFound)?;

    let viewer = Viewer::new(&access);
    let list_href = format!("{}/customers", access.base());
    let own_href = format!("{list_href}/{}", customer.id);
    render(&ProfilePage {
        // The title stays free of personal data: it ends up in history and tab lists.
        layout: Layout::workspace(
            format!("Customer #{}", customer.id),
            Section::Customers,
            &session,
            &access,
        ),
        profile: Profile::new(&customer, &devices, &viewer),
        events: {
            let identifying = viewer.identifying(&customer, &devices);
            events
                .iter()
                .map(|e| EventView::new(e, &customer, &viewer, &identifying))
                .collect()
        },
        older_href: older.map(|id| format!("{own_href}?before={id}#activity")),
        newest_href: before.map(|_| format!("{own_href}#activity")),
        may_delete: access.can(crate::domain::Permission::CustomersDelete),
        may_archive: access.can(crate::domain::Permission::CustomersArchive)
            && customer.archived_at.is_none(),
        may_hold: matches!(
            access.role.builtin_role(),
            Some(crate::domain::BuiltinRole::Owner | crate::domain::BuiltinRole::Admin)
        ),
        own_href: own_href.clone(),
        list_href,
    })
}
