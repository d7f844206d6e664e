//! HTTP: one file per area; handlers parse input, call the layers below, and render.

mod anonymized;
pub mod api;
pub mod api_error;
mod api_keys;
mod assets;
mod audit;
mod audit_result;
mod auth;
mod customers;
mod delete_all;
mod eraser;
mod erasures;
mod error;
pub mod extractors;
mod form_key;
mod hashing;
mod health;
mod imports;
mod invitations;
mod jobs;
mod layout;
mod middleware;
mod owner_code;
mod password;
mod requests;
pub mod session;
pub mod session_store;
mod settings;
pub mod state;
mod suppressions;

pub use error::WebError;
pub use form_key::form_key;
pub use middleware::{csrf_protection, error_pages, request_context, security_headers};

use actix_web::{web, HttpRequest, HttpResponse};

pub fn routes(cfg: &mut web::ServiceConfig) {
    assets::routes(cfg);
    health::routes(cfg);
    auth::routes(cfg);
    password::routes(cfg);
    settings::routes(cfg);
    requests::routes(cfg);
    delete_all::routes(cfg);
    erasures::routes(cfg);
    // Before the customers' routes, whose /customers/{id} would take /customers/import.
    imports::routes(cfg);
    customers::routes(cfg);
    jobs::routes(cfg);
    suppressions::routes(cfg);
    audit::routes(cfg);
    anonymized::routes(cfg);
    invitations::routes(cfg);
    api::routes(cfg);
    api_keys::routes(cfg);
}

/// Unknown routes: the 404 page (or a JSON error under /api).
pub async fn not_found(req: HttpRequest) -> HttpResponse {
    if let Some(answer) = api::not_supported(&req) {
        answer
    } else if crate::web::api::is_api_path(req.path()) {
        api_error::api_error_for_status(actix_web::http::StatusCode::NOT_FOUND)
    } else {
        error::error_page(actix_web::http::StatusCode::NOT_FOUND, None)
    }
}

/// Turns the framework's input errors (bad form, query or path) into our 400 page.
pub fn input_error(err: impl std::fmt::Display) -> actix_web::Error {
    tracing::debug!(error = %err, "unparseable input");
    WebError::BadRequest(
        "Some of what was sent could not be understood. Check the form and try again.".into(),
    )
    .into()
}

/// Turns the framework's form errors into our pages: 413 for a body over the limit,
/// 400 for anything unparseable.
pub fn form_error(err: actix_web::error::UrlencodedError) -> actix_web::Error {
    match err {
        actix_web::error::UrlencodedError::Overflow { .. } => WebError::PayloadTooLarge.into(),
        other => input_error(other),
    }
}
