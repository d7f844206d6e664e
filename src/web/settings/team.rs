//! Settings → Team: the members of a workspace, invitations, and ownership.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use rand::distributions::{Alphanumeric, DistString};
use serde::Deserialize;

use super::{load_nav, manager, refused_to, SettingsNav};
use crate::domain::{BuiltinRole, Email};
use crate::mail::OutgoingMail;
use crate::store::{self, StoreError};
use crate::team::{self, TeamError, INVITATION_DAYS};
use crate::web::extractors::{perm, Authorized, WorkspaceAccess};
use crate::web::hashing::password_matches;
use crate::web::layout::{render, render_with_status, see_other, Layout, Section};
use crate::web::session::{FlashKind, TypedSession};
use crate::web::state::AppState;
use crate::web::WebError;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/w/{workspace}/settings/team").route(web::get().to(page)))
        .service(web::resource("/w/{workspace}/settings/team/invite").route(web::post().to(invite)))
        .service(
            web::resource("/w/{workspace}/settings/team/invitations/{invitation}/revoke")
                .route(web::post().to(revoke_invitation)),
        )
        .service(web::resource("/w/{workspace}/settings/team/transfer").route(web::post().to(transfer)))
        .service(web::resource("/w/{workspace}/settings/team/{user}/role").route(web::post().to(change_role)))
        .service(web::resource("/w/{workspace}/settings/team/{user}/disable").route(web::post().to(disable)))
        .service(web::resource("/w/{workspace}/settings/team/{user}/enable").route(web::post().to(enable)))
        .service(web::resource("/w/{workspace}/settings/team/{user}/remove").route(web::post().to(remove)))
        .service(
            web::resource("/w/{workspace}/settings/team/{user}/sign-out")
                .route(web::post().to(sign_out_member)),
        )
        .service(
            web::resource("/w/{workspace}/settings/team/{user}/account-admin")
                .route(web::post().to(set_account_admin)),
        );
}

struct MemberRow {
    id: i64,
    name: String,
    email: String,
    role_id: i64,
    role_name: String,
    disabled: bool,
    is_owner: bool,
    is_account_admin: bool,
    is_self: bool,
    /// Whether this viewer may change them at all (the server checks again).
    manageable: bool,
    /// Whether this viewer may also disable, enable or sign them out: changes to the
    /// person across every workspace, for the owner and account admins only.
    account_actions: bool,
}

struct RoleOption {
    id: i64,
    name: String,
}

struct InvitationRow {
    id: i64,
    email: String,
    role_name: String,
    expires: String,
}

#[derive(Debug, Default, Deserialize)]
struct InviteForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    role: String,
}

#[derive(Debug, Default)]
struct InviteErrors {
    email: Option<String>,
    role: Option<String>,
}

#[derive(Template)]
#[template(path = "settings/team.html")]
struct TeamPage {
    layout: Layout,
    nav: SettingsNav,
    base: String,
    workspace_name: String,
    members: Vec<MemberRow>,
    roles: Vec<RoleOption>,
    invitations: Vec<InvitationRow>,
    form: InviteForm,
    errors: InviteErrors,
    viewer_is_owner: bool,
    transfer_candidates: Vec<RoleOption>,
}

fn team_path(access: &WorkspaceAccess) -> String {
    format!("{}/settings/team", access.base())
}

async fn team_view(
    state: &AppState,
    session: &TypedSession,
    access: &WorkspaceAccess,
    form: InviteForm,
    errors: InviteErrors,
) -> Result<TeamPage, WebError> {
    let workspace_id = access.workspace.id;
    let (members, roles, invitations) = state
        .db
        .run(move |conn| -> Result<_, StoreError> {
            Ok((
                store::memberships::members_with_roles(conn, workspace_id)?,
                store::roles::list_for_workspace(conn, workspace_id)?,
                store::invitations::open_for_workspace(conn, workspace_id)?,
            ))
        })
        .await?;
    let reaches = |set: &crate::domain::PermissionSet| set.is_subset(&access.permissions);
    let me = access.user.user.id;
    let zone = access.time_zone();
    let viewer_is_owner = access.user.user.is_owner;
    let viewer_has_account_power = access.user.user.has_account_power();
    let rows: Vec<MemberRow> = members
        .into_iter()
        .map(|m| {
            let manageable = !m.user.is_owner && reaches(&m.role.permission_set());
            MemberRow {
                id: m.user.id,
                manageable,
                account_actions: manageable
                    && viewer_has_account_power
                    && (viewer_is_owner || m.user.id == me || !m.user.has_account_power()),
                is_account_admin: m.user.is_account_admin,
                name: m.user.name,
                email: m.user.email,
                role_id: m.role.id,
                role_name: m.role.name,
                disabled: m.user.disabled,
                is_owner: m.user.is_owner,
                is_self: m.user.id == me,
            }
        })
        .collect();
    let transfer_candidates = rows
        .iter()
        .filter(|r| !r.is_self && !r.disabled)
        .map(|r| RoleOption {
            id: r.id,
            name: format!("{} ({})", r.name, r.email),
        })
        .collect();
    Ok(TeamPage {
        nav: load_nav(state, me, team_path(access)).await?,
        layout: Layout::workspace("Team", Section::Settings, session, access),
        base: access.base(),
        workspace_name: access.workspace.name.clone(),
        members: rows,
        roles: roles
            .into_iter()
            .filter(|r| r.builtin_role() != Some(BuiltinRole::Owner) && reaches(&r.permission_set()))
            .map(|r| RoleOption {
                id: r.id,
                name: r.name,
            })
            .collect(),
        invitations: invitations
            .into_iter()
            .map(|(inv, role_name)| InvitationRow {
                id: inv.id,
                email: inv.email,
                role_name,
                expires: crate::format::minute(inv.expires_at, zone),
            })
            .collect(),
        form,
        errors,
        viewer_is_owner,
        transfer_candidates,
    })
}

async fn page(
    state: web::Data<AppState>,
    session: TypedSession,
    access: Authorized<perm::TeamManage>,
) -> Result<HttpResponse, WebError> {
    render(
        &team_view(
            &state,
            &session,
            &access,
            InviteForm::default(),
            InviteErrors::default(),
        )
        .await?,
    )
}

/// A single-use token for the link; only its keyed digest is stored.
fn new_token() -> String {
    Alphanumeric.sample_string(&mut rand::rngs::OsRng, 43)
}

async fn invite(
    state: web::Data<AppState>,
    session: TypedSession,
    access: Authorized<perm::TeamManage>,
    form: web::Form<InviteForm>,
) -> Result<HttpResponse, WebError> {
    let form = form.into_inner();
    let mut errors = InviteErrors::default();
    let email = Email::parse(&form.email)
        .map_err(|e| errors.email = Some(e.to_string()))
        .ok();
    let role_id = form
        .role
        .trim()
        .parse::<i64>()
        .map_err(|_| errors.role = Some("choose a role from the list".into()))
        .ok();
    let (Some(email), Some(role_id)) = (email, role_id) else {
        let page = team_view(&state, &session, &access, form, errors).await?;
        return render_with_status(StatusCode::UNPROCESSABLE_ENTITY, &page);
    };
    let token = new_token();
    let digest = state.secret.digest("invitation", token.as_bytes());
    let manager = manager(&access);
    let invited_email = email.clone();
    let invited = state
        .db
        .run(move |conn| team::invite(conn, &manager, &invited_email, role_id, &digest))
        .await;
    let (_, role) = match invited {
        Ok(invited) => invited,
        Err(TeamError::Field { field, message }) => {
            match field {
                "email" => errors.email = Some(message),
                _ => errors.role = Some(message),
            }
            let page = team_view(&state, &session, &access, form, errors).await?;
            return render_with_status(StatusCode::UNPROCESSABLE_ENTITY, &page);
        }
        Err(err) => return refused_to(&session, team_path(&access), err),
    };
    let link = format!("{}/invitations/{token}", state.settings.public_url);
    let mail = OutgoingMail {
        to: email.to_string(),
        subject: format!("You are invited to {} on Erasure", access.workspace.name),
        body: format!(
            "{inviter} invited you to the workspace {workspace} on Erasure, as {role}.\n\n\
             Accept within {INVITATION_DAYS} days with this link, which works once:\n\n{link}\n\n\
             If you did not expect this invitation, ignore this email.\n",
            inviter = access.user.user.name,
            workspace = access.workspace.name,
            role = role.name,
        ),
    };
    match state.mailer.send(mail).await {
        Ok(()) => session.flash(
            FlashKind::Success,
            format!("Invitation sent to {email}. The link works once, for {INVITATION_DAYS} days."),
        ),
        Err(err) => {
            tracing::error!(error = %err, "the invitation email could not be sent");
            session.flash(
                FlashKind::Error,
                format!("The invitation to {email} could not be emailed. Invite them again in a moment."),
            );
        }
    }
    Ok(see_other(team_path(&access)))
}

#[derive(Debug, Deserialize)]
struct RoleForm {
    #[serde(default)]
    role: String,
}

async fn change_role(
    state: web::Data<AppState>,
    session: TypedSession,
    access: Authorized<perm::TeamManage>,
    path: web::Path<(String, i64)>,
    form: web::Form<RoleForm>,
) -> Result<HttpResponse, WebError> {
    let (_, user_id) = path.into_inner();
    let role_id = form
        .role
        .trim()
        .parse::<i64>()
        .map_err(|_| WebError::BadRequest("Choose a role from the list.".into()))?;
    let manager = manager(&access);
    let changed = state
        .db
        .run(move |conn| team::change_role(conn, &manager, user_id, role_id))
        .await;
    if let Err(err) = changed {
        return refused_to(&session, team_path(&access), err);
    }
    session.flash(
        FlashKind::Success,
        "Role changed. It applies from their next page.",
    );
    Ok(see_other(team_path(&access)))
}

/// Refuses, with the audited 403, someone without account-wide power: disabling,
/// enabling and signing someone out reach every workspace that person is in.
async fn require_account_power(req: &HttpRequest, access: &WorkspaceAccess) -> Result<(), WebError> {
    if access.user.user.has_account_power() {
        return Ok(());
    }
    Err(access.deny(req, "the account owner or an account admin").await)
}

async fn set_disabled(
    state: web::Data<AppState>,
    req: HttpRequest,
    session: TypedSession,
    access: Authorized<perm::TeamManage>,
    user_id: i64,
    disabled: bool,
) -> Result<HttpResponse, WebError> {
    require_account_power(&req, &access).await?;
    let manager = manager(&access);
    let changed = state
        .db
        .run(move |conn| team::set_disabled(conn, &manager, user_id, disabled))
        .await;
    match changed {
        Ok(member) if disabled => session.flash(
            FlashKind::Success,
            format!("{} is disabled and signed out everywhere.", member.user.name),
        ),
        Ok(member) => session.flash(
            FlashKind::Success,
            format!("{} can sign in again.", member.user.name),
        ),
        Err(err) => return refused_to(&session, team_path(&access), err),
    }
    Ok(see_other(team_path(&access)))
}

async fn disable(
    state: web::Data<AppState>,
    req: HttpRequest,
    session: TypedSession,
    access: Authorized<perm::TeamManage>,
    path: web::Path<(String, i64)>,
) -> Result<HttpResponse, WebError> {
    set_disabled(state, req, session, access, path.into_inner().1, true).await
}

async fn enable(
    state: web::Data<AppState>,
    req: HttpRequest,
    session: TypedSession,
    access: Authorized<perm::TeamManage>,
    path: web::Path<(String, i64)>,
) -> Result<HttpResponse, WebError> {
    set_disabled(state, req, session, access, path.into_inner().1, false).await
}

/// Ends every session of another member, wherever they are signed in.
async fn sign_out_member(
    state: web::Data<AppState>,
    req: HttpRequest,
    session: TypedSession,
    access: Authorized<perm::TeamManage>,
    path: web::Path<(String, i64)>,
) -> Result<HttpResponse, WebError> {
    require_account_power(&req, &access).await?;
    let (_, user_id) = path.into_inner();
    if user_id == access.user.user.id {
        return Ok(see_other("/settings/security"));
    }
    let manager = manager(&access);
    let ended = state
        .db
        .run(move |conn| team::sign_out_member(conn, &manager, user_id))
        .await;
    match ended {
        Ok((name, ended)) => session.flash(
            FlashKind::Success,
            format!(
                "{name} is signed out of {}.",
                crate::format::count(ended as i64, "session", "sessions")
            ),
        ),
        Err(err) => return refused_to(&session, team_path(&access), err),
    }
    Ok(see_other(team_path(&access)))
}

#[derive(Debug, Deserialize)]
struct AccountAdminForm {
    #[serde(default)]
    account_admin: String,
}

/// Names a member an account admin, or takes it back: the owner's alone to decide.
async fn set_account_admin(
    state: web::Data<AppState>,
    req: HttpRequest,
    session: TypedSession,
    access: Authorized<perm::TeamManage>,
    path: web::Path<(String, i64)>,
    form: web::Form<AccountAdminForm>,
) -> Result<HttpResponse, WebError> {
    if !access.user.user.is_owner {
        return Err(access.deny(&req, "the account owner").await);
    }
    let grant = match form.account_admin.trim() {
        "grant" => true,
        "revoke" => false,
        _ => return Err(WebError::BadRequest("Choose to grant or revoke.".into())),
    };
    let (_, user_id) = path.into_inner();
    let manager = manager(&access);
    let changed = state
        .db
        .run(move |conn| team::set_account_admin(conn, &manager, user_id, grant))
        .await;
    match changed {
        Ok(member) if grant => session.flash(
            FlashKind::Success,
            format!("{} is an account admin.", member.user.name),
        ),
        Ok(member) => session.flash(
            FlashKind::Success,
            format!("{} is no longer an account admin.", member.user.name),
        ),
        Err(err) => return refused_to(&session, team_path(&access), err),
    }
    Ok(see_other(team_path(&access)))
}

/// Revokes an open invitation: its link stops working at once.
async fn revoke_invitation(
    state: web::Data<AppState>,
    session: TypedSession,
    access: Authorized<perm::TeamManage>,
    path: web::Path<(String, i64)>,
) -> Result<HttpResponse, WebError> {
    let (_, invitation_id) = path.into_inner();
    let manager = manager(&access);
    let revoked = state
        .db
        .run(move |conn| team::revoke_invitation(conn, &manager, invitation_id))
        .await;
    match revoked {
        Ok(()) => {
            session.flash(
                FlashKind::Success,
                "The invitation is revoked: its link no longer works.",
            );
            Ok(see_other(team_path(&access)))
        }
        Err(err) => refused_to(&session, team_path(&access), err),
    }
}

async fn remove(
    state: web::Data<AppState>,
    session: TypedSession,
    access: Authorized<perm::TeamManage>,
    path: web::Path<(String, i64)>,
) -> Result<HttpResponse, WebError> {
    let (_, user_id) = path.into_inner();
    let manager = manager(&access);
    let removed = state
        .db
        .run(move |conn| team::remove_member(conn, &manager, user_id))
        .await;
    match removed {
        Ok(member) if member.user.id == access.user.user.id => {
            session.flash(FlashKind::Info, format!("You left {}.", access.workspace.name));
            Ok(see_other("/"))
        }
        Ok(member) => {
            session.flash(
                FlashKind::Success,
                format!(
                    "{} is no longer a member of {}.",
                    member.user.name, access.workspace.name
                ),
            );
            Ok(see_other(team_path(&access)))
        }
        Err(err) => refused_to(&session, team_path(&access), err),
    }
}

#[derive(Debug, Deserialize)]
struct TransferForm {
    #[serde(default)]
    user: String,
    #[serde(default)]
    password: String,
}

/// Only the owner sees the form; anyone else is refused outright. The password is
/// asked again because this hands over the whole account.
async fn transfer(
    state: web::Data<AppState>,
    req: HttpRequest,
    session: TypedSession,
    access: Authorized<perm::TeamManage>,
    form: web::Form<TransferForm>,
) -> Result<HttpResponse, WebError> {
    if !access.user.user.is_owner {
        return Err(access.deny(&req, "the account owner").await);
    }
    let TransferForm { user, password } = form.into_inner();
    let new_owner_id = user
        .trim()
        .parse::<i64>()
        .map_err(|_| WebError::BadRequest("Choose the new owner from the list.".into()))?;
    if !password_matches(&state, password, access.user.user.password_hash.clone()).await? {
        session.flash(
            FlashKind::Error,
            "That password is not right. Ownership was not transferred.",
        );
        return Ok(see_other(team_path(&access)));
    }
    let manager = manager(&access);
    let transferred = state
        .db
        .run(move |conn| team::transfer_ownership(conn, &manager, new_owner_id))
        .await;
    match transferred {
        Ok(new_owner) => {
            session.flash(
                FlashKind::Success,
                format!("{} is now the account owner. You are an Admin.", new_owner.name),
            );
            Ok(see_other(team_path(&access)))
        }
        Err(err) => refused_to(&session, team_path(&access), err),
    }
}
