//! Suppress and unsuppress identifiers (Customer.io's `/suppress` and `/unsuppress`).
//! Both are idempotent: suppressing twice, or unsuppressing what is free, is fine.

use actix_web::{web, HttpRequest, HttpResponse};

use super::accepted;
use super::auth::ApiClient;
use super::error::ApiError;
use crate::domain::Identifier;
use crate::erasure::suppress::digests_matching_identifier;
use crate::erasure::suppression::{suppress_identifier, unsuppress_digests};
use crate::erasure::ErasureError;
use crate::store::customer_writes::WriteError;
use crate::web::state::AppState;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/customers/{identifier}/suppress").route(web::post().to(suppress)))
        .service(web::resource("/customers/{identifier}/unsuppress").route(web::post().to(unsuppress)));
}

impl From<ErasureError> for ApiError {
    fn from(err: ErasureError) -> Self {
        match err {
            ErasureError::Store(err) => err.into(),
            ErasureError::Held => WriteError::LegalHold.into(),
            ErasureError::Ambiguous => WriteError::Ambiguous.into(),
            ErasureError::NotFound => ApiError::NotFound("No customer has that identifier."),
            other => ApiError::Internal(Box::new(other)),
        }
    }
}

/// Deletes the customer if present and suppresses all their identifiers, and the
/// identifier given, in one transaction.
async fn suppress(
    state: web::Data<AppState>,
    req: HttpRequest,
    client: ApiClient,
    identifier: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let identifier = Identifier::parse(&identifier, client.identifier_mode)?;
    let eraser = client.eraser(&state, &req);
    state
        .db
        .run(move |conn| suppress_identifier(conn, &eraser, &identifier, "api"))
        .await?;
    Ok(accepted())
}

/// Frees the identifier: a customer created with it afterwards is new, with no history.
async fn unsuppress(
    state: web::Data<AppState>,
    req: HttpRequest,
    client: ApiClient,
    identifier: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let identifier = Identifier::parse(&identifier, client.identifier_mode)?;
    let digests = digests_matching_identifier(&state.secret, &identifier);
    let eraser = client.eraser(&state, &req);
    state
        .db
        .run(move |conn| unsuppress_digests(conn, &eraser, &digests))
        .await?;
    Ok(accepted())
}
