//! Settings → Security → password: changing one's own, given the current one.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;

use super::security::{security_page, PasswordErrors};
use crate::accounts::password::{change_password, PasswordChange};
use crate::accounts::{Account, AccountError};
use crate::mail::OutgoingMail;
use crate::password;
use crate::store;
use crate::web::auth::account_error;
use crate::web::extractors::{request_origin, CurrentUser};
use crate::web::hashing::{hash_password, password_matches};
use crate::web::layout::{render_with_status, see_other};
use crate::web::session::{FlashKind, TypedSession};
use crate::web::state::AppState;
use crate::web::WebError;

const SECURITY: &str = "/settings/security";

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/settings/security/password").route(web::post().to(change)));
}

#[derive(Debug, Deserialize)]
struct ChangeForm {
    #[serde(default)]
    current_password: String,
    #[serde(default)]
    new_password: String,
    #[serde(default)]
    new_password_confirm: String,
}

/// Changes the password. The new one is checked first (that costs nothing and says
/// nothing); then the current one, whose failures count towards a lock as at sign-in.
/// Every other session of the person ends, this browser keeps a new session id, and
/// the person gets a notice by mail.
async fn change(
    state: web::Data<AppState>,
    req: HttpRequest,
    session: TypedSession,
    user: CurrentUser,
    form: web::Form<ChangeForm>,
) -> Result<HttpResponse, WebError> {
    let ChangeForm {
        current_password,
        new_password,
        new_password_confirm,
    } = form.into_inner();
    let mut errors = PasswordErrors::default();
    if let Err(e) = password::check_new(&new_password, &[&user.user.email, &user.user.name]) {
        errors.new = Some(e.to_string());
    } else if new_password != new_password_confirm {
        errors.confirm = Some("the two passwords differ".into());
    } else if new_password == current_password {
        errors.new = Some("choose a password other than your current one".into());
    }
    if errors.any() {
        let page = security_page(&state, &session, &user, errors).await?;
        return render_with_status(StatusCode::UNPROCESSABLE_ENTITY, &page);
    }
    let checked_hash = user.user.password_hash.clone();
    let new_hash = if password_matches(&state, current_password, checked_hash.clone()).await? {
        Some(hash_password(&state, new_password).await?)
    } else {
        None
    };
    let user_id = user.user.id;
    let throttle_key = state
        .secret
        .digest("password-change", user_id.to_string().as_bytes());
    let account = Account::new(user_id, request_origin(&req));
    let outcome = state
        .db
        .run(move |conn| {
            let change = new_hash.as_deref().map(|new_hash| PasswordChange {
                checked_hash: &checked_hash,
                new_hash,
            });
            change_password(conn, &account, &throttle_key, change)
        })
        .await;
    let refusal = match outcome {
        Ok(()) => None,
        Err(AccountError::Refused | AccountError::Replayed) => Some((
            StatusCode::UNPROCESSABLE_ENTITY,
            "that is not your current password",
        )),
        Err(AccountError::Throttled(_)) => Some((
            StatusCode::TOO_MANY_REQUESTS,
            "too many failed attempts: wait a few minutes, then try again",
        )),
        Err(err) => return Err(account_error(err)),
    };
    if let Some((status, message)) = refusal {
        let errors = PasswordErrors {
            current: Some(message.into()),
            ..PasswordErrors::default()
        };
        let page = security_page(&state, &session, &user, errors).await?;
        return render_with_status(status, &page);
    }
    session.keep_under_new_id();
    let notice = OutgoingMail {
        to: user.user.email.clone(),
        subject: "Your Erasure password was changed".into(),
        body: format!(
            "Hello {name},\n\n\
             The password of your Erasure account was changed at {at}, and every other \
             session of yours was signed out.\n\n\
             If it wasn't you, reset your password now at {url}/password/forgot \
             and tell the owner of your Erasure account.\n",
            name = user.user.name,
            at = crate::format::minute(store::now(), user.time_zone()),
            url = state.settings.public_url,
        ),
    };
    if let Err(err) = state.mailer.send(notice).await {
        tracing::error!(error = %err, user_id, "the password change notice could not be mailed");
    }
    session.flash(
        FlashKind::Success,
        "Your password is changed. Every other session of yours was signed out.",
    );
    Ok(see_other(SECURITY))
}
