//! Settings → Security: the signed-in user's own sessions.

use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;

use super::extractors::{request_origin, CurrentUser};
use super::layout::{render, see_other, Layout};
use super::session::{FlashKind, TypedSession};
use super::state::AppState;
use super::WebError;
use crate::db::write_transaction;
use crate::domain::AuditAction;
use crate::store::audit::{self, Actor, NewEntry};
use crate::store::{self, StoreError};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/settings/security").route(web::get().to(security)))
        .service(
            web::resource("/settings/security/sign-out-everywhere")
                .route(web::post().to(sign_out_everywhere)),
        );
}

#[derive(Template)]
#[template(path = "settings/security.html")]
struct SecurityPage {
    layout: Layout,
    email: String,
    has_totp: bool,
}

async fn security(session: TypedSession, user: CurrentUser) -> Result<HttpResponse, WebError> {
    render(&SecurityPage {
        email: user.user.email.clone(),
        has_totp: user.user.has_totp(),
        layout: Layout::signed_in("Security", &session, &user),
    })
}

/// Ends every session of this user, this one included.
async fn sign_out_everywhere(
    state: web::Data<AppState>,
    req: HttpRequest,
    session: TypedSession,
    user: CurrentUser,
) -> Result<HttpResponse, WebError> {
    let user_id = user.user.id;
    let origin = request_origin(&req);
    let ended = state
        .db
        .run(move |conn| {
            write_transaction(conn, |conn| -> Result<usize, StoreError> {
                let ended = store::sessions::delete_for_user(conn, user_id)?;
                audit::append(
                    conn,
                    NewEntry::new(Actor::User(user_id), AuditAction::SessionsRevoked, &origin)
                        .target(format!("user:{user_id}"))
                        .affected(ended as i64),
                )?;
                Ok(ended)
            })
        })
        .await?;
    session.sign_out();
    session.flash(
        FlashKind::Info,
        format!("Signed out of {ended} session(s). Sign in again to continue."),
    );
    Ok(see_other("/login"))
}
