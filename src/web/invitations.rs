//! Accepting an invitation: the emailed single-use link, seen before sign-in.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use serde::Deserialize;

use super::extractors::request_origin;
use super::hashing::hash_password;
use super::layout::{render, render_with_status, see_other, Layout};
use super::session::{FlashKind, TypedSession};
use super::state::AppState;
use super::WebError;
use crate::domain::{Permission, PermissionSet, PersonName};
use crate::password;
use crate::store::{self, StoreError};
use crate::team::{self, NewAccount, TeamError};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/invitations/{token}")
            .route(web::get().to(show))
            .route(web::post().to(accept)),
    );
}

/// What the link offers, read before anything is changed.
struct Offer {
    workspace_name: String,
    role_name: String,
    email: String,
    has_account: bool,
}

#[derive(Debug, Default, Deserialize)]
struct AcceptForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    password_confirm: String,
}

#[derive(Debug, Default)]
struct AcceptErrors {
    name: Option<String>,
    password: Option<String>,
    password_confirm: Option<String>,
}

#[derive(Template)]
#[template(path = "invitations/accept.html")]
struct AcceptPage {
    layout: Layout,
    action: String,
    offer: Offer,
    name: String,
    errors: AcceptErrors,
}

#[derive(Template)]
#[template(path = "invitations/gone.html")]
struct GonePage {
    layout: Layout,
}

fn digest(state: &AppState, token: &str) -> String {
    state.secret.digest("invitation", token.as_bytes())
}

async fn load_offer(state: &AppState, token_digest: String) -> Result<Option<Offer>, WebError> {
    Ok(state
        .db
        .run(move |conn| -> Result<Option<Offer>, StoreError> {
            let Some(invitation) = store::invitations::find_open(conn, &token_digest)? else {
                return Ok(None);
            };
            let workspace = store::workspaces::find(conn, invitation.workspace_id)?;
            let role = store::roles::find_in_workspace(conn, invitation.workspace_id, invitation.role_id)?;
            let has_account = store::users::find_by_email(conn, &invitation.email)?.is_some();
            Ok(workspace.zip(role).map(|(workspace, role)| Offer {
                workspace_name: workspace.name,
                role_name: role.name,
                email: invitation.email,
                has_account,
            }))
        })
        .await?)
}

/// Unknown, used and expired links all get this one answer, so a link says nothing
/// about the invitation behind it once it stops working.
fn gone(session: &TypedSession) -> Result<HttpResponse, WebError> {
    render_with_status(
        StatusCode::GONE,
        &GonePage {
            layout: Layout::public("Invitation no longer valid", session),
        },
    )
}

async fn show(
    state: web::Data<AppState>,
    session: TypedSession,
    path: web::Path<String>,
) -> Result<HttpResponse, WebError> {
    let token = path.into_inner();
    let Some(offer) = load_offer(&state, digest(&state, &token)).await? else {
        return gone(&session);
    };
    render(&AcceptPage {
        layout: Layout::public(format!("Join {}", offer.workspace_name), &session),
        action: format!("/invitations/{token}"),
        offer,
        name: String::new(),
        errors: AcceptErrors::default(),
    })
}

/// The first page a member's role lets them open.
pub(super) fn home_for(permissions: &PermissionSet, slug: &str) -> String {
    if permissions.contains(Permission::CustomersView) {
        format!("/w/{slug}/customers")
    } else if permissions.contains(Permission::AuditView) {
        format!("/w/{slug}/audit")
    } else if permissions.contains(Permission::TeamManage) {
        format!("/w/{slug}/settings/team")
    } else {
        "/settings/security".into()
    }
}

async fn accept(
    state: web::Data<AppState>,
    req: HttpRequest,
    session: TypedSession,
    path: web::Path<String>,
    form: web::Form<AcceptForm>,
) -> Result<HttpResponse, WebError> {
    let token = path.into_inner();
    let token_digest = digest(&state, &token);
    let Some(offer) = load_offer(&state, token_digest.clone()).await? else {
        return gone(&session);
    };
    let form = form.into_inner();
    let account = if offer.has_account {
        None
    } else {
        let mut errors = AcceptErrors::default();
        let name = PersonName::parse(&form.name)
            .map_err(|e| errors.name = Some(e.to_string()))
            .map(PersonName::into_inner)
            .ok();
        if let Err(e) =
            password::check_new(&form.password, &[&form.name, &offer.workspace_name, &offer.email])
        {
            errors.password = Some(e.to_string());
        } else if form.password != form.password_confirm {
            errors.password_confirm = Some("the two passwords differ".into());
        }
        let Some(name) = name.filter(|_| errors.password.is_none() && errors.password_confirm.is_none())
        else {
            return render_with_status(
                StatusCode::UNPROCESSABLE_ENTITY,
                &AcceptPage {
                    layout: Layout::public(format!("Join {}", offer.workspace_name), &session),
                    action: format!("/invitations/{token}"),
                    offer,
                    name: form.name,
                    errors,
                },
            );
        };
        Some(NewAccount {
            name,
            password_hash: hash_password(&state, form.password).await?,
        })
    };
    let origin = request_origin(&req);
    let accepted = state
        .db
        .run(move |conn| team::accept_invitation(conn, &token_digest, account, &origin))
        .await;
    let accepted = match accepted {
        Ok(accepted) => accepted,
        Err(TeamError::NotFound) => return gone(&session),
        // The address got an account between the page and the form: start again.
        Err(TeamError::Field { .. }) | Err(TeamError::Refused(_)) => {
            return Ok(see_other(format!("/invitations/{token}")))
        }
        Err(TeamError::Store(err)) => return Err(err.into()),
    };
    if !accepted.created_account {
        session.flash(
            FlashKind::Success,
            format!(
                "You joined {} as {}. Sign in with your existing account to continue.",
                accepted.workspace.name, accepted.role.name
            ),
        );
        return Ok(see_other("/login"));
    }
    session.sign_in(accepted.user_id).map_err(WebError::internal)?;
    session.flash(
        FlashKind::Success,
        format!("Welcome to {}.", accepted.workspace.name),
    );
    Ok(see_other(home_for(
        &accepted.role.permission_set(),
        &accepted.workspace.slug,
    )))
}
