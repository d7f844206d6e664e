//! Form tokens for people who are not signed in, without a stored session.
//!
//! A form token kept in the session meant that showing the sign-in page stored a
//! session row: anyone could grow the sessions table by asking for the page. A visitor
//! without a session gets a random value in a cookie instead, and their forms carry an
//! HMAC of it under the server's key (a signed double-submit token): a site that can
//! plant a cookie still cannot make the token that goes with it. Nothing is stored;
//! the session, and its own token, start at sign-in.

use actix_web::body::MessageBody;
use actix_web::cookie::{Cookie, SameSite};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::{web, HttpMessage};
use rand::distributions::{Alphanumeric, DistString};

use super::state::AppState;

const COOKIE: &str = "erasure_form";

/// This visitor's form token, and whether the request itself carried its cookie (only
/// then may an unsafe request be checked against it).
#[derive(Debug, Clone)]
pub struct FormKey {
    pub token: String,
    pub presented: bool,
}

/// Reads the visitor's form cookie, or makes one for pages to use and sets it on the
/// answer.
pub async fn form_key(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let path = req.path();
    if crate::web::api::is_api_path(path) || path.starts_with("/static/") || path == "/healthz" {
        return next.call(req).await;
    }
    let Some(state) = req.app_data::<web::Data<AppState>>().cloned() else {
        return next.call(req).await;
    };
    let presented = req
        .cookie(COOKIE)
        .map(|c| c.value().to_owned())
        .filter(|v| v.len() == 43 && v.bytes().all(|b| b.is_ascii_alphanumeric()));
    let made = presented
        .is_none()
        .then(|| Alphanumeric.sample_string(&mut rand::rngs::OsRng, 43));
    let Some(value) = presented.clone().or_else(|| made.clone()) else {
        return next.call(req).await;
    };
    req.extensions_mut().insert(FormKey {
        token: state.secret.digest("form-token", value.as_bytes()),
        presented: presented.is_some(),
    });
    let mut res = next.call(req).await?;
    if let Some(value) = made {
        let cookie = Cookie::build(COOKIE, value)
            .path("/")
            .http_only(true)
            .same_site(SameSite::Strict)
            .secure(state.settings.cookie_secure())
            .finish();
        res.response_mut().add_cookie(&cookie)?;
    }
    Ok(res)
}
