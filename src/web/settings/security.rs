//! Settings → Security: the signed-in user's password, two-step sign-in and sessions.

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
pub(super) struct SecurityPage {
    layout: Layout,
    nav: SettingsNav,
    email: String,
    has_totp: bool,
    recovery_codes_left: usize,
    password: PasswordErrors,
}

/// What the change-password form got wrong, field by field.
#[derive(Debug, Default)]
pub(super) struct PasswordErrors {
    pub current: Option<String>,
    pub new: Option<String>,
    pub confirm: Option<String>,
}

impl PasswordErrors {
    pub fn any(&self) -> bool {
        self.current.is_some() || self.new.is_some() || self.confirm.is_some()
    }
}

/// The Security page, with the change-password form's errors if it was just sent.
pub(super) async fn security_page(
    state: &AppState,
    session: &TypedSession,
    user: &CurrentUser,
    password: PasswordErrors,
) -> Result<SecurityPage, WebError> {
    let nav = load_nav(state, user.user.id, "/settings/security".into()).await?;
    let recovery_codes_left = serde_json::from_str::<Vec<String>>(&user.user.recovery_codes)
        .map(|codes| codes.len())
        .unwrap_or_default();
    Ok(SecurityPage {
        nav,
        email: user.user.email.clone(),
        has_totp: user.user.has_totp(),
        recovery_codes_left,
        password,
        layout: Layout::signed_in("Security", session, user),
    })
}

async fn security(
    state: web::Data<AppState>,
    session: TypedSession,
    user: CurrentUser,
) -> Result<HttpResponse, WebError> {
    render(&security_page(&state, &session, &user, PasswordErrors::default()).await?)
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
        format!(
            "Signed out of {}. Sign in again to continue.",
            crate::format::count(ended as i64, "session", "sessions")
        ),
    );
    Ok(see_other("/login"))
}
