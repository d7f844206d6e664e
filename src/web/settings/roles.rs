//! Settings → Roles: the built-in roles (read-only) and this workspace's custom roles.
//! A custom role belongs to the workspace it was made in, and is listed, edited and
//! assigned only there.

use std::collections::HashMap;

use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use askama::Template;

use super::{load_nav, manager, refused_to, SettingsNav};
use crate::domain::{BuiltinRole, Permission, PermissionSet, RoleName};
use crate::format::filters;
use crate::store::roles::Role;
use crate::store::{self, StoreError};
use crate::team::{self, TeamError};
use crate::web::extractors::{perm, Authorized, WorkspaceAccess};
use crate::web::layout::{render, render_with_status, see_other, Layout, Section};
use crate::web::session::{FlashKind, TypedSession};
use crate::web::state::AppState;
use crate::web::WebError;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/w/{workspace}/settings/roles")
            .route(web::get().to(list))
            .route(web::post().to(create)),
    )
    .service(web::resource("/w/{workspace}/settings/roles/new").route(web::get().to(new_form)))
    .service(
        web::resource("/w/{workspace}/settings/roles/{role}")
            .route(web::get().to(edit_form))
            .route(web::post().to(update)),
    )
    .service(web::resource("/w/{workspace}/settings/roles/{role}/delete").route(web::post().to(delete)));
}

fn roles_path(access: &WorkspaceAccess) -> String {
    format!("{}/settings/roles", access.base())
}

/// What a built-in role is for, in one sentence.
fn builtin_summary(role: BuiltinRole) -> &'static str {
    match role {
        BuiltinRole::Owner => "The account owner: everything, including transferring ownership.",
        BuiltinRole::Admin => "Everything except transferring ownership.",
        BuiltinRole::ComplianceReviewer => {
            "Reads anonymized profiles and the audit log. Never sees personal data."
        }
        BuiltinRole::Member => "Views customers, with personal data masked.",
    }
}

struct RoleRow {
    id: i64,
    name: String,
    summary: &'static str,
    permissions: Vec<&'static str>,
    assigned: i64,
    builtin: bool,
    editable: bool,
}

#[derive(Template)]
#[template(path = "settings/roles.html")]
struct RolesPage {
    layout: Layout,
    nav: SettingsNav,
    base: String,
    builtin: Vec<RoleRow>,
    custom: Vec<RoleRow>,
}

async fn list(
    state: web::Data<AppState>,
    session: TypedSession,
    access: Authorized<perm::TeamManage>,
) -> Result<HttpResponse, WebError> {
    let workspace_id = access.workspace.id;
    let (roles, counts) = state
        .db
        .run(
            move |conn| -> Result<(Vec<Role>, HashMap<i64, i64>), StoreError> {
                Ok((
                    store::roles::list_for_workspace(conn, workspace_id)?,
                    store::roles::assignment_counts(conn, workspace_id)?,
                ))
            },
        )
        .await?;
    let (builtin, custom): (Vec<RoleRow>, Vec<RoleRow>) = roles
        .into_iter()
        .map(|role| {
            let set = role.permission_set();
            RoleRow {
                id: role.id,
                summary: role.builtin_role().map(builtin_summary).unwrap_or_default(),
                permissions: set.iter().map(Permission::label).collect(),
                assigned: counts.get(&role.id).copied().unwrap_or_default(),
                builtin: role.builtin.is_some(),
                editable: role.builtin.is_none() && set.is_subset(&access.permissions),
                name: role.name,
            }
        })
        .partition(|row| row.builtin);
    render(&RolesPage {
        nav: load_nav(&state, access.user.user.id, roles_path(&access)).await?,
        layout: Layout::workspace("Roles", Section::Settings, &session, &access),
        base: access.base(),
        builtin,
        custom,
    })
}

struct PermissionChoice {
    key: &'static str,
    label: &'static str,
    explanation: &'static str,
    checked: bool,
    /// Permissions the viewer does not hold cannot be handed out by them.
    grantable: bool,
}

#[derive(Template)]
#[template(path = "settings/role_form.html")]
struct RoleFormPage {
    layout: Layout,
    nav: SettingsNav,
    base: String,
    /// `None` for a new role.
    role_id: Option<i64>,
    name: String,
    name_error: Option<String>,
    choices: Vec<PermissionChoice>,
}

async fn form_page(
    state: &AppState,
    session: &TypedSession,
    access: &WorkspaceAccess,
    role_id: Option<i64>,
    name: String,
    checked: &PermissionSet,
    name_error: Option<String>,
) -> Result<RoleFormPage, WebError> {
    let title = if role_id.is_some() {
        "Edit role"
    } else {
        "New role"
    };
    Ok(RoleFormPage {
        nav: load_nav(state, access.user.user.id, roles_path(access)).await?,
        layout: Layout::workspace(title, Section::Settings, session, access),
        base: access.base(),
        role_id,
        name,
        name_error,
        choices: Permission::ALL
            .into_iter()
            .map(|p| PermissionChoice {
                key: p.key(),
                label: p.label(),
                explanation: p.explanation(),
                checked: checked.contains(p),
                grantable: access.can(p),
            })
            .collect(),
    })
}

async fn new_form(
    state: web::Data<AppState>,
    session: TypedSession,
    access: Authorized<perm::TeamManage>,
) -> Result<HttpResponse, WebError> {
    let page = form_page(
        &state,
        &session,
        &access,
        None,
        String::new(),
        &PermissionSet::default(),
        None,
    )
    .await?;
    render(&page)
}

async fn edit_form(
    state: web::Data<AppState>,
    session: TypedSession,
    access: Authorized<perm::TeamManage>,
    path: web::Path<(String, i64)>,
) -> Result<HttpResponse, WebError> {
    let (_, role_id) = path.into_inner();
    let workspace_id = access.workspace.id;
    let role = state
        .db
        .run(move |conn| store::roles::find_custom(conn, workspace_id, role_id))
        .await?
        .ok_or(WebError::NotFound)?;
    let page = form_page(
        &state,
        &session,
        &access,
        Some(role.id),
        role.name.clone(),
        &role.permission_set(),
        None,
    )
    .await?;
    render(&page)
}

/// The role form as sent: its name and one `permission` field per ticked box.
struct RoleInput {
    name: String,
    permissions: PermissionSet,
}

impl RoleInput {
    fn parse(fields: Vec<(String, String)>) -> Result<RoleInput, WebError> {
        let mut name = String::new();
        let mut permissions = Vec::new();
        for (key, value) in fields {
            match key.as_str() {
                "name" => name = value,
                "permission" => permissions.push(
                    Permission::parse(&value)
                        .map_err(|_| WebError::BadRequest("Choose permissions from the list.".into()))?,
                ),
                _ => {}
            }
        }
        Ok(RoleInput {
            name,
            permissions: permissions.into_iter().collect(),
        })
    }
}

/// Saves a new role (`role_id` None) or an edited one.
async fn save(
    state: web::Data<AppState>,
    session: TypedSession,
    access: Authorized<perm::TeamManage>,
    role_id: Option<i64>,
    fields: Vec<(String, String)>,
) -> Result<HttpResponse, WebError> {
    let input = RoleInput::parse(fields)?;
    let name = match RoleName::parse(&input.name) {
        Ok(name) => name,
        Err(err) => {
            let page = form_page(
                &state,
                &session,
                &access,
                role_id,
                input.name,
                &input.permissions,
                Some(err.to_string()),
            )
            .await?;
            return render_with_status(StatusCode::UNPROCESSABLE_ENTITY, &page);
        }
    };
    let manager = manager(&access);
    let permissions = input.permissions.clone();
    let saved_name = name.clone();
    let saved = state
        .db
        .run(move |conn| match role_id {
            Some(id) => team::update_role(conn, &manager, id, &saved_name, &permissions),
            None => team::create_role(conn, &manager, &saved_name, &permissions).map(|_| ()),
        })
        .await;
    match saved {
        Ok(()) => {
            let verb = if role_id.is_some() { "saved" } else { "created" };
            session.flash(FlashKind::Success, format!("The role “{name}” is {verb}."));
            Ok(see_other(roles_path(&access)))
        }
        Err(TeamError::Field { message, .. }) => {
            let page = form_page(
                &state,
                &session,
                &access,
                role_id,
                input.name,
                &input.permissions,
                Some(message),
            )
            .await?;
            render_with_status(StatusCode::UNPROCESSABLE_ENTITY, &page)
        }
        Err(err) => refused_to(&session, roles_path(&access), err),
    }
}

async fn create(
    state: web::Data<AppState>,
    session: TypedSession,
    access: Authorized<perm::TeamManage>,
    form: web::Form<Vec<(String, String)>>,
) -> Result<HttpResponse, WebError> {
    save(state, session, access, None, form.into_inner()).await
}

async fn update(
    state: web::Data<AppState>,
    session: TypedSession,
    access: Authorized<perm::TeamManage>,
    path: web::Path<(String, i64)>,
    form: web::Form<Vec<(String, String)>>,
) -> Result<HttpResponse, WebError> {
    save(
        state,
        session,
        access,
        Some(path.into_inner().1),
        form.into_inner(),
    )
    .await
}

async fn delete(
    state: web::Data<AppState>,
    session: TypedSession,
    access: Authorized<perm::TeamManage>,
    path: web::Path<(String, i64)>,
) -> Result<HttpResponse, WebError> {
    let (_, role_id) = path.into_inner();
    let manager = manager(&access);
    let deleted = state
        .db
        .run(move |conn| team::delete_role(conn, &manager, role_id))
        .await;
    match deleted {
        Ok(role) => {
            session.flash(
                FlashKind::Success,
                format!("The role “{}” is deleted.", role.name),
            );
            Ok(see_other(roles_path(&access)))
        }
        Err(err) => refused_to(&session, roles_path(&access), err),
    }
}
