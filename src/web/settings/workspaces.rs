//! Settings → Workspaces: the user's workspaces, creating one, and each workspace's
//! own settings (name, how the Track API reads identifiers, which attributes are
//! personal data).

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use serde::Deserialize;

use super::{load_nav, SettingsNav};
use crate::accounts::{self, WorkspaceSettings};
use crate::domain::{IdentifierMode, Permission, PiiKeys, WorkspaceName};
use crate::store::audit::Actor;
use crate::store::{self, StoreError};
use crate::team::{self, TeamError};
use crate::web::extractors::{deny, perm, request_origin, Authorized, CurrentUser, WorkspaceAccess};
use crate::web::layout::{render, render_with_status, see_other, Layout, Section};
use crate::web::session::{FlashKind, TypedSession};
use crate::web::state::AppState;
use crate::web::WebError;

const WORKSPACES: &str = "/settings/workspaces";

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource(WORKSPACES)
            .route(web::get().to(list))
            .route(web::post().to(create)),
    )
    .service(
        web::resource("/w/{workspace}/settings/workspace")
            .route(web::get().to(edit_form))
            .route(web::post().to(update)),
    );
}

/// Who may add workspaces: the account owner and account admins. Whoever creates a
/// workspace administers it, so a workspace role, however broad, is not enough.
fn may_create(user: &CurrentUser) -> bool {
    user.user.has_account_power()
}

struct WorkspaceRow {
    name: String,
    slug: String,
    role_name: String,
    settings: bool,
    team: bool,
}

#[derive(Template)]
#[template(path = "settings/workspaces.html")]
struct WorkspacesPage {
    layout: Layout,
    nav: SettingsNav,
    workspaces: Vec<WorkspaceRow>,
    may_create: bool,
    name: String,
    name_error: Option<String>,
}

async fn workspaces_view(
    state: &AppState,
    session: &TypedSession,
    user: &CurrentUser,
    name: String,
    name_error: Option<String>,
) -> Result<WorkspacesPage, WebError> {
    let user_id = user.user.id;
    let memberships = state
        .db
        .run(move |conn| store::memberships::roles_of_user(conn, user_id))
        .await?;
    Ok(WorkspacesPage {
        nav: SettingsNav::new(&memberships, WORKSPACES),
        layout: Layout::signed_in("Workspaces", session, user),
        may_create: may_create(user),
        workspaces: memberships
            .into_iter()
            .map(|(workspace, role)| {
                let set = role.permission_set();
                WorkspaceRow {
                    name: workspace.name,
                    slug: workspace.slug,
                    role_name: role.name,
                    settings: set.contains(Permission::SettingsManage),
                    team: set.contains(Permission::TeamManage),
                }
            })
            .collect(),
        name,
        name_error,
    })
}

async fn list(
    state: web::Data<AppState>,
    session: TypedSession,
    user: CurrentUser,
) -> Result<HttpResponse, WebError> {
    render(&workspaces_view(&state, &session, &user, String::new(), None).await?)
}

#[derive(Debug, Deserialize)]
struct CreateForm {
    #[serde(default)]
    name: String,
}

async fn create(
    state: web::Data<AppState>,
    req: HttpRequest,
    session: TypedSession,
    user: CurrentUser,
    form: web::Form<CreateForm>,
) -> Result<HttpResponse, WebError> {
    if !may_create(&user) {
        // No workspace is in question yet, so the entry names none.
        return Err(deny(
            &req,
            Actor::User(user.user.id),
            None,
            "the account owner or an account admin",
        )
        .await);
    }
    let name = match WorkspaceName::parse(&form.name) {
        Ok(name) => name,
        Err(err) => {
            let page = workspaces_view(
                &state,
                &session,
                &user,
                form.into_inner().name,
                Some(err.to_string()),
            )
            .await?;
            return render_with_status(StatusCode::UNPROCESSABLE_ENTITY, &page);
        }
    };
    let creator_id = user.user.id;
    let origin = request_origin(&req);
    let created = state
        .db
        .run(move |conn| team::create_workspace(conn, creator_id, &name, &origin))
        .await;
    let workspace = match created {
        Ok(workspace) => workspace,
        Err(TeamError::Store(err)) => return Err(err.into()),
        // The power was taken away between the check above and the transaction.
        Err(_) => {
            return Err(deny(
                &req,
                Actor::User(creator_id),
                None,
                "the account owner or an account admin",
            )
            .await)
        }
    };
    session.flash(
        FlashKind::Success,
        format!(
            "The workspace {} is ready. Set it up below, then invite your team.",
            workspace.name
        ),
    );
    Ok(see_other(format!("/w/{}/settings/workspace", workspace.slug)))
}

#[derive(Debug, Default, Deserialize)]
struct SettingsForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    identifier_mode: String,
    #[serde(default)]
    pii_keys: String,
}

#[derive(Debug, Default)]
struct SettingsErrors {
    name: Option<String>,
    identifier_mode: Option<String>,
    pii_keys: Option<String>,
}

#[derive(Template)]
#[template(path = "settings/workspace.html")]
struct WorkspacePage {
    layout: Layout,
    nav: SettingsNav,
    base: String,
    slug: String,
    site_id: String,
    form: SettingsForm,
    errors: SettingsErrors,
}

impl WorkspacePage {
    fn mode_is(&self, key: &str) -> bool {
        self.form.identifier_mode == key
    }
}

fn settings_path(access: &WorkspaceAccess) -> String {
    format!("{}/settings/workspace", access.base())
}

async fn workspace_view(
    state: &AppState,
    session: &TypedSession,
    access: &WorkspaceAccess,
    form: SettingsForm,
    errors: SettingsErrors,
) -> Result<WorkspacePage, WebError> {
    Ok(WorkspacePage {
        nav: load_nav(state, access.user.user.id, settings_path(access)).await?,
        layout: Layout::workspace("Workspace settings", Section::Settings, session, access),
        base: access.base(),
        slug: access.workspace.slug.clone(),
        site_id: access.workspace.site_id.clone(),
        form,
        errors,
    })
}

async fn edit_form(
    state: web::Data<AppState>,
    session: TypedSession,
    access: Authorized<perm::SettingsManage>,
) -> Result<HttpResponse, WebError> {
    let workspace = &access.workspace;
    // A stored value this build cannot read is shown as empty rather than failing the page.
    let pii_keys = PiiKeys::parse_stored(&workspace.pii_keys).unwrap_or_default();
    let form = SettingsForm {
        name: workspace.name.clone(),
        identifier_mode: workspace.identifier_mode.key().to_owned(),
        pii_keys: pii_keys.to_string(),
    };
    render(&workspace_view(&state, &session, &access, form, SettingsErrors::default()).await?)
}

async fn update(
    state: web::Data<AppState>,
    session: TypedSession,
    access: Authorized<perm::SettingsManage>,
    form: web::Form<SettingsForm>,
) -> Result<HttpResponse, WebError> {
    let form = form.into_inner();
    let mut errors = SettingsErrors::default();
    let name = WorkspaceName::parse(&form.name)
        .map_err(|e| errors.name = Some(e.to_string()))
        .ok();
    let mode = IdentifierMode::parse(form.identifier_mode.trim())
        .map_err(|_| errors.identifier_mode = Some("choose one of the two ways".into()))
        .ok();
    let pii_keys = PiiKeys::parse(&form.pii_keys)
        .map_err(|e| errors.pii_keys = Some(e.to_string()))
        .ok();
    let (Some(name), Some(identifier_mode), Some(pii_keys)) = (name, mode, pii_keys) else {
        let page = workspace_view(&state, &session, &access, form, errors).await?;
        return render_with_status(StatusCode::UNPROCESSABLE_ENTITY, &page);
    };
    let settings = WorkspaceSettings {
        name,
        identifier_mode,
        pii_keys,
    };
    let workspace_id = access.workspace.id;
    let actor = access.actor();
    let origin = access.origin.clone();
    let changed = state
        .db
        .run(move |conn| -> Result<Vec<&'static str>, StoreError> {
            accounts::update_workspace(conn, workspace_id, actor, &settings, &origin)
        })
        .await?;
    let message = if changed.is_empty() {
        "Nothing changed.".to_owned()
    } else {
        "Workspace settings saved.".to_owned()
    };
    session.flash(FlashKind::Success, message);
    Ok(see_other(settings_path(&access)))
}
