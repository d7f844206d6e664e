//! Calls Customer.io's clients make that Erasure has no place for: each answers a 404
//! with the code `not_supported` and a sentence saying what Erasure does instead, so
//! that an integration switched over finds out at once which call to drop, rather
//! than retrying a 500 or reading a generic "not found".

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};

use crate::web::api_error::api_error;

const SEGMENTS: &str = "Erasure keeps no manual segments: it stores people and their activity only. Select customers in the console with filters instead.";
const FORMS: &str =
    "Erasure does not take form submissions; identify the person with PUT /api/v1/customers/{identifier}.";
const METRICS: &str = "Erasure does not keep message delivery metrics: it sends no messages.";
const REGION: &str = "Erasure has one address; send every Track API call to the URL you configured.";
const APP_API: &str = "Erasure answers Customer.io's Track API (/api/v1 and /api/v2) only; App API calls such as sending messages or reading campaigns have no place here.";

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/segments/{segment}/add_customers").route(web::post().to(segments)))
        .service(web::resource("/segments/{segment}/remove_customers").route(web::post().to(segments)))
        .service(web::resource("/forms/{form}/submit").route(web::post().to(forms)))
        .service(web::resource("/push/events").route(web::post().to(metrics)))
        .service(web::resource("/metrics").route(web::post().to(metrics)))
        .service(web::resource("/accounts/region").route(web::get().to(region)));
}

fn answer(message: &str) -> HttpResponse {
    api_error(StatusCode::NOT_FOUND, "not_supported", message)
}

async fn segments() -> HttpResponse {
    answer(SEGMENTS)
}

async fn forms() -> HttpResponse {
    answer(FORMS)
}

async fn metrics() -> HttpResponse {
    answer(METRICS)
}

async fn region() -> HttpResponse {
    answer(REGION)
}

/// For an address no route took: Customer.io's legacy push metrics (`/push/events`)
/// and its App API (`/v1/…`), which clients reach when pointed at Erasure's URL.
pub fn not_supported(req: &HttpRequest) -> Option<HttpResponse> {
    let path = req.path();
    if path == "/push/events" {
        Some(answer(METRICS))
    } else if path.starts_with("/v1/") {
        Some(answer(APP_API))
    } else {
        None
    }
}
