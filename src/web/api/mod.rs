//! The Track API, compatible with Customer.io's Track API v1 for the calls it offers, so
//! an existing Customer.io client pointed at Erasure works unchanged.

pub mod auth;
mod customers;
mod devices;
mod error;
mod events;
mod merge;
mod rate_limit;
mod suppressions;

pub use auth::ApiClient;
pub use error::ApiError;
pub use rate_limit::RateLimiter;

use actix_web::error::{JsonPayloadError, PayloadError};
use actix_web::middleware::from_fn;
use actix_web::{web, HttpResponse};

/// The largest JSON body the API accepts.
pub const JSON_LIMIT: usize = 256 * 1024;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::scope("/api/v1")
            .app_data(json_config())
            .wrap(from_fn(auth::require_client))
            .configure(customers::routes)
            .configure(devices::routes)
            .configure(events::routes)
            .configure(suppressions::routes)
            .configure(merge::routes),
    );
}

/// What Customer.io answers a successful call with.
fn accepted() -> HttpResponse {
    HttpResponse::Ok().json(serde_json::json!({}))
}

fn json_config() -> web::JsonConfig {
    web::JsonConfig::default()
        .limit(JSON_LIMIT)
        .error_handler(|err, _| json_error(err).into())
}

/// The framework's JSON body errors, as our JSON errors.
fn json_error(err: JsonPayloadError) -> ApiError {
    match err {
        JsonPayloadError::OverflowKnownLength { .. }
        | JsonPayloadError::Overflow { .. }
        | JsonPayloadError::Payload(PayloadError::Overflow) => ApiError::PayloadTooLarge,
        JsonPayloadError::ContentType => ApiError::UnsupportedMediaType,
        JsonPayloadError::Deserialize(err) => {
            ApiError::invalid("invalid_body", format!("The body is not valid JSON: {err}."))
        }
        other => {
            tracing::debug!(error = %other, "unreadable API body");
            ApiError::invalid("invalid_body", "The body could not be read.")
        }
    }
}
