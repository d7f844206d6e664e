//! The Track API, compatible with Customer.io's Track API v1 for the calls it offers, so
//! an existing Customer.io client pointed at Erasure works unchanged.

pub mod auth;
mod batch;
mod body;
mod customers;
mod devices;
mod error;
mod events;
mod merge;
mod rate_limit;
mod suppressions;
mod unsupported;

pub use auth::ApiClient;
pub use error::ApiError;
pub use rate_limit::RateLimiter;
pub use unsupported::not_supported;

use actix_web::middleware::from_fn;
use actix_web::{web, HttpResponse};

use body::BodyLimit;

/// The largest JSON body a v1 call accepts.
pub const JSON_LIMIT: usize = 256 * 1024;
/// The largest v2 body, as Customer.io allows: a batch of up to 1,000 operations.
pub const BATCH_LIMIT: usize = 500 * 1024;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::scope("/api/v1")
            .app_data(BodyLimit(JSON_LIMIT))
            .wrap(from_fn(auth::require_client))
            .configure(customers::routes)
            .configure(devices::routes)
            .configure(events::routes)
            .configure(suppressions::routes)
            .configure(merge::routes)
            .configure(unsupported::routes),
    )
    .service(
        web::scope("/api/v2")
            .app_data(BodyLimit(BATCH_LIMIT))
            .wrap(from_fn(auth::require_client))
            .configure(batch::routes),
    );
}

/// Whether a path is for programs rather than people: the Track API, and the addresses
/// of Customer.io's other APIs that its clients may call (answered `not_supported`).
/// Such paths get JSON errors, no cookies, and no form-token check: they never act on
/// a browser's session.
pub fn is_api_path(path: &str) -> bool {
    path.starts_with("/api/") || path.starts_with("/v1/") || path == "/push/events"
}

/// What Customer.io answers a successful call with.
fn accepted() -> HttpResponse {
    HttpResponse::Ok().json(serde_json::json!({}))
}
