//! Settings → Security → two-step sign-in: enrolling an authenticator app, making
//! new recovery codes, and turning it off again.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use serde::Deserialize;

use super::{load_nav, SettingsNav};
use crate::accounts::second_factor::{self, Enrolment};
use crate::accounts::{Account, AccountError};
use crate::totp;
use crate::web::auth::account_error;
use crate::web::extractors::{request_origin, CurrentUser};
use crate::web::hashing::password_matches;
use crate::web::layout::{render, render_with_status, see_other, Layout};
use crate::web::session::{FlashKind, TypedSession};
use crate::web::state::AppState;
use crate::web::WebError;

const SECURITY: &str = "/settings/security";
const ENROL: &str = "/settings/security/totp";

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource(ENROL).route(web::get().to(enrol_page)))
        .service(web::resource("/settings/security/totp/start").route(web::post().to(start)))
        .service(web::resource("/settings/security/totp/confirm").route(web::post().to(confirm)))
        .service(web::resource("/settings/security/totp/disable").route(web::post().to(disable)))
        .service(
            web::resource("/settings/security/recovery-codes")
                .route(web::post().to(regenerate_recovery_codes)),
        );
}

#[derive(Template)]
#[template(path = "settings/totp_enrol.html")]
struct EnrolPage {
    layout: Layout,
    nav: SettingsNav,
    qr_png_base64: String,
    secret: String,
    otpauth_url: String,
    error: Option<String>,
}

#[derive(Template)]
#[template(path = "settings/recovery_codes.html")]
struct RecoveryCodesPage {
    layout: Layout,
    nav: SettingsNav,
    codes: Vec<String>,
}

#[derive(Debug, Deserialize)]
struct CodeForm {
    #[serde(default)]
    code: String,
}

#[derive(Debug, Deserialize)]
struct PasswordAndCodeForm {
    #[serde(default)]
    password: String,
    #[serde(default)]
    code: String,
}

fn unix_now() -> u64 {
    u64::try_from(chrono::Utc::now().timestamp()).unwrap_or_default()
}

/// Makes a fresh secret for this session and shows it.
async fn start(session: TypedSession, user: CurrentUser) -> Result<HttpResponse, WebError> {
    if user.user.has_totp() {
        session.flash(FlashKind::Info, "Two-step sign-in is already on.");
        return Ok(see_other(SECURITY));
    }
    session
        .set_totp_enrolment(&totp::new_secret())
        .map_err(WebError::internal)?;
    Ok(see_other(ENROL))
}

async fn enrol_view(
    state: &AppState,
    session: &TypedSession,
    user: &CurrentUser,
    secret: String,
    error: Option<String>,
) -> Result<EnrolPage, WebError> {
    let (qr_png_base64, otpauth_url) =
        totp::enrolment(&secret, &user.user.email).map_err(WebError::internal)?;
    Ok(EnrolPage {
        nav: load_nav(state, user.user.id, SECURITY.into()).await?,
        layout: Layout::signed_in("Set up two-step sign-in", session, user),
        qr_png_base64,
        secret,
        otpauth_url,
        error,
    })
}

async fn enrol_page(
    state: web::Data<AppState>,
    session: TypedSession,
    user: CurrentUser,
) -> Result<HttpResponse, WebError> {
    let Some(secret) = session.totp_enrolment().filter(|_| !user.user.has_totp()) else {
        return Ok(see_other(SECURITY));
    };
    render(&enrol_view(&state, &session, &user, secret, None).await?)
}

/// Stores the secret once a current code from it comes back, with ten fresh recovery
/// codes. The codes are shown in this response and nowhere else, so this one answer
/// is a page rather than a redirect: nothing would be left to show after one.
async fn confirm(
    state: web::Data<AppState>,
    req: HttpRequest,
    session: TypedSession,
    user: CurrentUser,
    form: web::Form<CodeForm>,
) -> Result<HttpResponse, WebError> {
    let Some(secret) = session.totp_enrolment().filter(|_| !user.user.has_totp()) else {
        session.flash(
            FlashKind::Info,
            "Start the set-up again: the code you were shown has expired.",
        );
        return Ok(see_other(SECURITY));
    };
    let Some(step) = totp::matching_step(&secret, &form.code, unix_now()) else {
        let page = enrol_view(
            &state,
            &session,
            &user,
            secret,
            Some("That code does not match. Enter the 6-digit code your app shows now.".into()),
        )
        .await?;
        return render_with_status(StatusCode::UNPROCESSABLE_ENTITY, &page);
    };
    let (codes, digests) = totp::new_recovery_codes(&state.secret);
    let stored_codes = serde_json::to_string(&digests).map_err(WebError::internal)?;
    let user_id = user.user.id;
    let account = Account::new(user_id, request_origin(&req));
    let stored_secret = secret.clone();
    let outcome = state
        .db
        .run(move |conn| {
            let enrolment = Enrolment {
                secret: &stored_secret,
                step,
                recovery_code_digests: &stored_codes,
            };
            second_factor::enable(conn, &account, &enrolment)
        })
        .await;
    match outcome {
        Ok(()) => {}
        Err(AccountError::Replayed) => {
            let page = enrol_view(
                &state,
                &session,
                &user,
                secret,
                Some("That code was already used. Wait for the next one and enter it.".into()),
            )
            .await?;
            return render_with_status(StatusCode::UNPROCESSABLE_ENTITY, &page);
        }
        Err(err) => return Err(account_error(err)),
    }
    session.clear_totp_enrolment();
    session.keep_under_new_id();
    session.flash(
        FlashKind::Success,
        "Two-step sign-in is on. Every other session of yours was signed out.",
    );
    render(&RecoveryCodesPage {
        nav: load_nav(&state, user_id, SECURITY.into()).await?,
        layout: Layout::signed_in("Your recovery codes", &session, &user),
        codes,
    })
}

/// Turns two-step sign-in off, given the password and a current code (or an unused
/// recovery code). Failures count towards a lock, as at sign-in.
async fn disable(
    state: web::Data<AppState>,
    req: HttpRequest,
    session: TypedSession,
    user: CurrentUser,
    form: web::Form<PasswordAndCodeForm>,
) -> Result<HttpResponse, WebError> {
    let PasswordAndCodeForm { password, code } = form.into_inner();
    let password_ok = password_matches(&state, password, user.user.password_hash.clone()).await?;
    let user_id = user.user.id;
    let throttle_key = state
        .secret
        .digest("totp-disable", user_id.to_string().as_bytes());
    let account = Account::new(user_id, request_origin(&req));
    let key = state.secret.clone();
    let outcome = state
        .db
        .run(move |conn| second_factor::disable(conn, &account, &throttle_key, password_ok, &code, &key))
        .await;
    match outcome {
        Ok(()) => {
            session.keep_under_new_id();
            session.flash(
                FlashKind::Success,
                "Two-step sign-in is off. Every other session of yours was signed out.",
            )
        }
        Err(AccountError::Refused | AccountError::Replayed) => session.flash(
            FlashKind::Error,
            "Two-step sign-in is still on: the password or the code was not right.",
        ),
        Err(AccountError::Throttled(_)) => session.flash(
            FlashKind::Error,
            "Too many failed attempts. Wait a few minutes, then try again.",
        ),
        Err(err) => return Err(account_error(err)),
    }
    Ok(see_other(SECURITY))
}

/// Replaces the recovery codes, given the password and a current authenticator code,
/// and shows the new ones once. Like the enrolment's answer this is a page, not a
/// redirect: the codes are shown here and nowhere else. Failures count towards a lock,
/// as at sign-in.
async fn regenerate_recovery_codes(
    state: web::Data<AppState>,
    req: HttpRequest,
    session: TypedSession,
    user: CurrentUser,
    form: web::Form<PasswordAndCodeForm>,
) -> Result<HttpResponse, WebError> {
    if !user.user.has_totp() {
        session.flash(
            FlashKind::Info,
            "Recovery codes come with two-step sign-in, which is off.",
        );
        return Ok(see_other(SECURITY));
    }
    let PasswordAndCodeForm { password, code } = form.into_inner();
    let password_ok = password_matches(&state, password, user.user.password_hash.clone()).await?;
    let user_id = user.user.id;
    let throttle_key = state
        .secret
        .digest("recovery-codes", user_id.to_string().as_bytes());
    let (codes, digests) = totp::new_recovery_codes(&state.secret);
    let account = Account::new(user_id, request_origin(&req));
    let outcome = state
        .db
        .run(move |conn| {
            second_factor::regenerate_recovery_codes(
                conn,
                &account,
                &throttle_key,
                password_ok,
                &code,
                &digests,
            )
        })
        .await;
    match outcome {
        Ok(()) => {}
        Err(AccountError::Refused) => {
            session.flash(
                FlashKind::Error,
                "Your recovery codes were not changed: the password or the authenticator code was not right.",
            );
            return Ok(see_other(SECURITY));
        }
        Err(AccountError::Replayed) => {
            session.flash(
                FlashKind::Error,
                "Your recovery codes were not changed: that code was already used. Wait for the next one.",
            );
            return Ok(see_other(SECURITY));
        }
        Err(AccountError::Throttled(_)) => {
            session.flash(
                FlashKind::Error,
                "Too many failed attempts. Wait a few minutes, then try again.",
            );
            return Ok(see_other(SECURITY));
        }
        Err(err) => return Err(account_error(err)),
    }
    session.keep_under_new_id();
    session.flash(
        FlashKind::Success,
        "You have new recovery codes; the old ones no longer work. Every other session of yours was signed out.",
    );
    render(&RecoveryCodesPage {
        nav: load_nav(&state, user_id, SECURITY.into()).await?,
        layout: Layout::signed_in("Your new recovery codes", &session, &user),
        codes,
    })
}
