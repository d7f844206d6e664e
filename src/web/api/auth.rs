//! Who is calling the API: HTTP Basic with the workspace's site id as the user name and
//! an API key as the password, exactly as Customer.io's Track API takes them.

use std::future::Future;
use std::pin::Pin;

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::http::header;
use actix_web::middleware::Next;
use actix_web::{web, FromRequest, HttpMessage, HttpRequest};
use base64::Engine;

use super::error::ApiError;
use crate::domain::IdentifierMode;
use crate::store::audit::Actor;
use crate::store::workspaces::Workspace;
use crate::store::{self, StoreError};
use crate::web::state::AppState;

/// An authenticated API caller: the workspace its key belongs to, and the key.
#[derive(Debug, Clone)]
pub struct ApiClient {
    pub workspace: Workspace,
    pub key_id: i64,
    pub identifier_mode: IdentifierMode,
}

impl ApiClient {
    pub fn actor(&self) -> Actor {
        Actor::ApiKey(self.key_id)
    }
}

/// The user name and password of an `Authorization: Basic` header.
fn basic_credentials(req: &HttpRequest) -> Option<(String, String)> {
    let value = req.headers().get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, encoded) = value.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()?;
    let decoded = String::from_utf8(decoded).ok()?;
    let (user, password) = decoded.split_once(':')?;
    // No site id holds NUL, and PostgreSQL refuses it as a parameter.
    if user.is_empty() || password.is_empty() || user.contains('\0') {
        return None;
    }
    Some((user.to_owned(), password.to_owned()))
}

async fn authenticate(req: &HttpRequest) -> Result<ApiClient, ApiError> {
    let state = req
        .app_data::<web::Data<AppState>>()
        .cloned()
        .ok_or_else(|| ApiError::Internal("application state missing".into()))?;
    let (site_id, key) = basic_credentials(req).ok_or(ApiError::Unauthorized)?;
    let digest = store::api_keys::digest(&state.secret, &key);
    let found = state
        .db
        .run(move |conn| -> Result<_, StoreError> {
            let Some(workspace) = store::workspaces::find_by_site_id(conn, &site_id)? else {
                return Ok(None);
            };
            let Some(key) = store::api_keys::find_active(conn, workspace.id, &digest)? else {
                return Ok(None);
            };
            // "Last used" is a courtesy: failing to record it must not fail the call.
            if let Err(err) = store::api_keys::touch_last_used(conn, &key) {
                tracing::warn!(error = %err, key = key.id, "could not record an API key's use");
            }
            Ok(Some((workspace, key.id)))
        })
        .await?;
    let (workspace, key_id) = found.ok_or(ApiError::Unauthorized)?;
    if let Err(wait) = state.api_limiter.check(key_id) {
        return Err(ApiError::RateLimited {
            retry_after_secs: wait.as_secs_f64().ceil().max(1.0) as u64,
        });
    }
    let identifier_mode = workspace.identifier_mode;
    Ok(ApiClient {
        workspace,
        key_id,
        identifier_mode,
    })
}

impl FromRequest for ApiClient {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ApiError>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move {
            if let Some(client) = req.extensions().get::<ApiClient>().cloned() {
                return Ok(client);
            }
            let client = authenticate(&req).await?;
            req.extensions_mut().insert(client.clone());
            Ok(client)
        })
    }
}

/// Authenticates every request of the API scope before any handler reads its body, so
/// that an unauthenticated caller learns nothing from body errors and costs no parsing.
pub async fn require_client(
    mut req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    match req.extract::<ApiClient>().await {
        Ok(_) => Ok(next.call(req).await?.map_into_boxed_body()),
        Err(err) => Ok(req.error_response(err)),
    }
}
