//! A forgotten password: asking for a link by email, and setting a new password with
//! it. Seen before sign-in.
//!
//! Asking answers the same, at once, whatever the address: whether an account uses it,
//! whether a link may be sent now, and the mail itself are all decided after the
//! answer has gone, so neither the page nor its timing tells anyone which addresses
//! have accounts.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use rand::distributions::{Alphanumeric, DistString};
use serde::Deserialize;

use super::auth::account_error;
use super::extractors::request_origin;
use super::hashing::hash_password;
use super::layout::{render, render_with_status, see_other, Layout};
use super::session::{FlashKind, TypedSession};
use super::state::AppState;
use super::WebError;
use crate::accounts::attempt_keys::AttemptKeys;
use crate::accounts::password::{self as passwords, ResetRequest, RESET_LINK_MINUTES};
use crate::accounts::AccountError;
use crate::domain::Email;
use crate::mail::OutgoingMail;
use crate::password;
use crate::store::audit::RequestOrigin;

const FORGOT: &str = "/password/forgot";
const SENT: &str = "/password/forgot/sent";
const RESET: &str = "/password/reset/{token}";

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource(FORGOT)
            .route(web::get().to(forgot_form))
            .route(web::post().to(forgot_submit)),
    )
    .service(web::resource(SENT).route(web::get().to(sent)))
    .service(
        web::resource(RESET)
            .route(web::get().to(reset_form))
            .route(web::post().to(reset_submit)),
    );
}

#[derive(Template)]
#[template(path = "auth/forgot_password.html")]
struct ForgotPage {
    layout: Layout,
    email: String,
    error: Option<String>,
}

#[derive(Template)]
#[template(path = "auth/reset_sent.html")]
struct SentPage {
    layout: Layout,
    minutes: i64,
}

#[derive(Template)]
#[template(path = "auth/reset_password.html")]
struct ResetPage {
    layout: Layout,
    action: String,
    errors: ResetErrors,
}

#[derive(Template)]
#[template(path = "auth/reset_gone.html")]
struct GonePage {
    layout: Layout,
    minutes: i64,
}

#[derive(Debug, Deserialize)]
struct ForgotForm {
    #[serde(default)]
    email: String,
}

#[derive(Debug, Deserialize)]
struct ResetForm {
    #[serde(default)]
    password: String,
    #[serde(default)]
    password_confirm: String,
}

#[derive(Debug, Default)]
struct ResetErrors {
    password: Option<String>,
    password_confirm: Option<String>,
}

async fn forgot_form(session: TypedSession) -> Result<HttpResponse, WebError> {
    render(&ForgotPage {
        layout: Layout::public("Forgot your password?", &session),
        email: String::new(),
        error: None,
    })
}

/// A reset link's secret: 43 alphanumeric characters, about 256 bits. Only its keyed
/// digest is stored.
fn new_token() -> String {
    Alphanumeric.sample_string(&mut rand::rngs::OsRng, 43)
}

fn token_digest(state: &AppState, token: &str) -> String {
    state.secret.digest("password-reset", token.as_bytes())
}

async fn forgot_submit(
    state: web::Data<AppState>,
    req: HttpRequest,
    session: TypedSession,
    form: web::Form<ForgotForm>,
) -> Result<HttpResponse, WebError> {
    let typed = form.into_inner().email;
    // Whether the text is an address at all is no secret: say so next to the field.
    let email = match Email::parse(&typed) {
        Ok(email) => email,
        Err(err) => {
            return render_with_status(
                StatusCode::UNPROCESSABLE_ENTITY,
                &ForgotPage {
                    layout: Layout::public("Forgot your password?", &session),
                    email: typed.trim().to_owned(),
                    error: Some(err.to_string()),
                },
            )
        }
    };
    actix_web::rt::spawn(send_reset_link(state.into_inner(), email, request_origin(&req)));
    Ok(see_other(SENT))
}

/// Records a link for the account the address names, if it gets one now, and mails
/// it. Runs after the answer was sent; failures are logged, without the address.
async fn send_reset_link(state: std::sync::Arc<AppState>, email: Email, origin: RequestOrigin) {
    let token = new_token();
    let token_digest = token_digest(&state, &token);
    let client_digest = state
        .secret
        .digest("password-reset-client", origin.client_ip.as_bytes());
    let recorded = state
        .db
        .run(move |conn| {
            passwords::request_reset(
                conn,
                &ResetRequest {
                    email: email.as_str(),
                    token_digest: &token_digest,
                    client_digest: &client_digest,
                    origin: &origin,
                },
            )
        })
        .await;
    let user = match recorded {
        Ok(Some(user)) => user,
        Ok(None) => return,
        Err(err) => {
            tracing::error!(error = %err, "a password reset link could not be recorded");
            return;
        }
    };
    let link = format!("{}/password/reset/{token}", state.settings.public_url);
    let mail = OutgoingMail {
        to: user.email,
        subject: "Set a new password for Erasure".into(),
        body: format!(
            "Hello {name},\n\n\
             Someone, probably you, asked to set a new password for your Erasure account.\n\
             Set it with this link within {RESET_LINK_MINUTES} minutes. It works once:\n\n{link}\n\n\
             If you did not ask, ignore this email: your password stays as it is.\n",
            name = user.name,
        ),
    };
    if let Err(err) = state.mailer.send(mail).await {
        tracing::error!(error = %err, user_id = user.id, "a password reset link could not be mailed");
    }
}

async fn sent(session: TypedSession) -> Result<HttpResponse, WebError> {
    render(&SentPage {
        layout: Layout::public("Check your email", &session),
        minutes: RESET_LINK_MINUTES,
    })
}

/// Unknown, used and expired links, and links of a disabled account, all get this one
/// answer.
fn gone(session: &TypedSession) -> Result<HttpResponse, WebError> {
    render_with_status(
        StatusCode::GONE,
        &GonePage {
            layout: Layout::public("Link no longer valid", session),
            minutes: RESET_LINK_MINUTES,
        },
    )
}

async fn link_works(state: &AppState, token_digest: String) -> Result<bool, WebError> {
    Ok(state
        .db
        .run(move |conn| passwords::find_open_reset(conn, &token_digest))
        .await?
        .is_some())
}

fn reset_page(session: &TypedSession, token: &str, errors: ResetErrors) -> ResetPage {
    ResetPage {
        layout: Layout::public("Set a new password", session),
        action: format!("/password/reset/{token}"),
        errors,
    }
}

async fn reset_form(
    state: web::Data<AppState>,
    session: TypedSession,
    path: web::Path<String>,
) -> Result<HttpResponse, WebError> {
    let token = path.into_inner();
    if !link_works(&state, token_digest(&state, &token)).await? {
        return gone(&session);
    }
    render(&reset_page(&session, &token, ResetErrors::default()))
}

/// Sets the password, uses the link up and ends every session of the person. Then the
/// browser is signed in, or, with two-step sign-in on, asked for the authenticator
/// code: the link stands in for the password, never for the second factor.
async fn reset_submit(
    state: web::Data<AppState>,
    req: HttpRequest,
    session: TypedSession,
    path: web::Path<String>,
    form: web::Form<ResetForm>,
) -> Result<HttpResponse, WebError> {
    let token = path.into_inner();
    let digest = token_digest(&state, &token);
    if !link_works(&state, digest.clone()).await? {
        return gone(&session);
    }
    let ResetForm {
        password,
        password_confirm,
    } = form.into_inner();
    let mut errors = ResetErrors::default();
    if let Err(e) = password::check_new(&password, &[]) {
        errors.password = Some(e.to_string());
    } else if password != password_confirm {
        errors.password_confirm = Some("the two passwords differ".into());
    }
    if errors.password.is_some() || errors.password_confirm.is_some() {
        return render_with_status(
            StatusCode::UNPROCESSABLE_ENTITY,
            &reset_page(&session, &token, errors),
        );
    }
    let new_hash = hash_password(&state, password).await?;
    let secret = state.secret.clone();
    let origin = request_origin(&req);
    let outcome = state
        .db
        .run(move |conn| {
            let client_ip = origin.client_ip.clone();
            let sign_in_keys = |email: &str| {
                AttemptKeys::for_password(&secret, &crate::domain::email::normalize(email), &client_ip)
            };
            passwords::reset_password(conn, &digest, &new_hash, &sign_in_keys, &origin)
        })
        .await;
    let done = match outcome {
        Ok(done) => done,
        // Used or expired while the password was being hashed.
        Err(AccountError::Refused) => return gone(&session),
        Err(err) => return Err(account_error(err)),
    };
    if done.needs_second_step {
        session
            .set_pending_user(done.user_id)
            .map_err(WebError::internal)?;
        session.flash(
            FlashKind::Success,
            "Your new password is set. To sign in, enter a code from your authenticator app.",
        );
        return Ok(see_other("/login/totp"));
    }
    session.sign_in(done.user_id).map_err(WebError::internal)?;
    session.flash(
        FlashKind::Success,
        "Your new password is set, and you are signed in. Every other session of yours was signed out.",
    );
    Ok(see_other("/"))
}
