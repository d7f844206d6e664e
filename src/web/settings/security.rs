//! Settings → Security: the signed-in user's two-step sign-in and sessions.

use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;

use super::{load_nav, SettingsNav};
use crate::accounts::{self, Account};
use crate::web::auth::account_error;
use crate::web::extractors::{request_origin, CurrentUser};
use crate::web::layout::{render, see_other, Layout};
use crate::web::session::{FlashKind, TypedSession};
use crate::web::state::AppState;
use crate::web::WebError;

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
    nav: SettingsNav,
    email: String,
    has_totp: bool,
    recovery_codes_left: usize,
}

async fn security(
    state: web::Data<AppState>,
    session: TypedSession,
    user: CurrentUser,
) -> Result<HttpResponse, WebError> {
    let nav = load_nav(&state, user.user.id, "/settings/security".into()).await?;
    let recovery_codes_left = serde_json::from_str::<Vec<String>>(&user.user.recovery_codes)
        .map(|codes| codes.len())
        .unwrap_or_default();
    render(&SecurityPage {
        nav,
        email: user.user.email.clone(),
        has_totp: user.user.has_totp(),
        recovery_codes_left,
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
    let account = Account::new(user.user.id, request_origin(&req));
    let ended = state
        .db
        .run(move |conn| accounts::security::sign_out_everywhere(conn, &account))
        .await
        .map_err(account_error)?;
    session.sign_out();
    session.flash(
        FlashKind::Info,
        format!("Signed out of {ended} session(s). Sign in again to continue."),
    );
    Ok(see_other("/login"))
}
