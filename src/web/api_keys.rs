//! Settings → API keys: the workspace's Track API keys, made and revoked here.

use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use askama::Template;
use chrono::NaiveDateTime;
use serde::Deserialize;

use super::extractors::{perm, Authorized};
use super::layout::{render_with_status, see_other, Layout, Section};
use super::session::{FlashKind, TypedSession};
use super::settings::SettingsNav;
use super::state::AppState;
use super::WebError;
use crate::domain::{ApiKeyName, TimeZone};
use crate::store::api_keys::{self, ApiKey};
use crate::store::{self, StoreError};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/w/{workspace}/settings/api-keys")
            .route(web::get().to(page))
            .route(web::post().to(create)),
    )
    .service(web::resource("/w/{workspace}/settings/api-keys/{id}/revoke").route(web::post().to(revoke)));
}

struct KeyRow {
    id: i64,
    name: String,
    prefix: String,
    created: String,
    last_used: String,
    revoked: Option<String>,
}

/// A key just made, shown on this one response and never again.
struct NewKey {
    name: String,
    secret: String,
}

#[derive(Template)]
#[template(path = "settings/api_keys.html")]
struct ApiKeysPage {
    layout: Layout,
    nav: SettingsNav,
    base: String,
    site_id: String,
    api_url: String,
    keys: Vec<KeyRow>,
    name: String,
    name_error: Option<String>,
    new_key: Option<NewKey>,
}

fn row(key: ApiKey, zone: TimeZone) -> KeyRow {
    let when = |at: NaiveDateTime| crate::format::minute(at, zone);
    KeyRow {
        id: key.id,
        name: key.name,
        prefix: key.key_prefix,
        created: when(key.created_at),
        last_used: key.last_used_at.map_or_else(|| "Never".to_owned(), when),
        revoked: key.revoked_at.map(when),
    }
}

/// Renders the page around whatever the form step left: errors or a new key.
async fn show(
    state: &AppState,
    session: &TypedSession,
    access: &Authorized<perm::SettingsManage>,
    status: StatusCode,
    form: (String, Option<String>),
    new_key: Option<NewKey>,
) -> Result<HttpResponse, WebError> {
    let workspace_id = access.workspace.id;
    let user_id = access.user.user.id;
    let (keys, memberships) = state
        .db
        .run(move |conn| -> Result<_, StoreError> {
            let keys = api_keys::list(conn, workspace_id)?;
            Ok((keys, store::memberships::roles_of_user(conn, user_id)?))
        })
        .await?;
    let path = format!("{}/settings/api-keys", access.base());
    let (name, name_error) = form;
    render_with_status(
        status,
        &ApiKeysPage {
            layout: Layout::workspace("API keys", Section::Settings, session, access),
            nav: SettingsNav::new(&memberships, &path),
            base: access.base(),
            site_id: access.workspace.site_id.clone(),
            api_url: format!("{}/api/v1", state.settings.public_url),
            keys: keys.into_iter().map(|k| row(k, access.time_zone())).collect(),
            name,
            name_error,
            new_key,
        },
    )
}

async fn page(
    state: web::Data<AppState>,
    session: TypedSession,
    access: Authorized<perm::SettingsManage>,
) -> Result<HttpResponse, WebError> {
    show(
        &state,
        &session,
        &access,
        StatusCode::OK,
        Default::default(),
        None,
    )
    .await
}

#[derive(Debug, Deserialize)]
struct CreateForm {
    #[serde(default)]
    name: String,
}

/// Shows the new key in this response itself rather than redirecting: carrying it to
/// the next page would mean writing it into the session, which is kept in the database.
async fn create(
    state: web::Data<AppState>,
    session: TypedSession,
    access: Authorized<perm::SettingsManage>,
    form: web::Form<CreateForm>,
) -> Result<HttpResponse, WebError> {
    let typed = form.into_inner().name;
    let name = match ApiKeyName::parse(&typed) {
        Ok(name) => name,
        Err(err) => {
            let form = (typed, Some(err.to_string()));
            return show(
                &state,
                &session,
                &access,
                StatusCode::UNPROCESSABLE_ENTITY,
                form,
                None,
            )
            .await;
        }
    };
    let workspace_id = access.workspace.id;
    let actor = access.actor();
    let origin = access.origin.clone();
    let secret = state.secret.clone();
    let issued = state
        .db
        .run(move |conn| api_keys::issue(conn, &secret, workspace_id, &name, actor, &origin))
        .await?;
    let new_key = NewKey {
        name: issued.key.name,
        secret: issued.secret,
    };
    show(
        &state,
        &session,
        &access,
        StatusCode::OK,
        Default::default(),
        Some(new_key),
    )
    .await
}

async fn revoke(
    state: web::Data<AppState>,
    session: TypedSession,
    access: Authorized<perm::SettingsManage>,
    path: web::Path<(String, i64)>,
) -> Result<HttpResponse, WebError> {
    let (_, key_id) = path.into_inner();
    let workspace_id = access.workspace.id;
    let actor = access.actor();
    let origin = access.origin.clone();
    let revoked = state
        .db
        .run(move |conn| api_keys::revoke(conn, workspace_id, key_id, actor, &origin))
        .await?
        .ok_or(WebError::NotFound)?;
    session.flash(
        FlashKind::Success,
        format!(
            "The key “{}” is revoked: programs using it can no longer call the API.",
            revoked.name
        ),
    );
    Ok(see_other(format!("{}/settings/api-keys", access.base())))
}
