//! JSON errors for the API: a stable `code` for programs, a `message` for people.

use actix_web::http::StatusCode;
use actix_web::HttpResponse;
use serde::Serialize;

#[derive(Serialize)]
struct ApiErrorBody<'a> {
    code: &'a str,
    message: &'a str,
}

pub fn api_error(status: StatusCode, code: &str, message: &str) -> HttpResponse {
    HttpResponse::build(status).json(ApiErrorBody { code, message })
}

pub fn api_error_for_status(status: StatusCode) -> HttpResponse {
    let (code, message) = code_and_message_for_status(status);
    api_error(status, code, message)
}

/// The code and message every error of this status answers with, unless it says more.
pub fn code_and_message_for_status(status: StatusCode) -> (&'static str, &'static str) {
    match status.as_u16() {
        400 => ("invalid_request", "The request could not be understood."),
        401 => (
            "unauthorized",
            "Send the workspace's site id and an API key with HTTP Basic authentication.",
        ),
        403 => ("forbidden", "This key may not do that."),
        404 => ("not_found", "There is nothing at this address."),
        405 => ("method_not_allowed", "This address does not accept that method."),
        413 => (
            "payload_too_large",
            "The request body is larger than the API accepts.",
        ),
        415 => (
            "unsupported_media_type",
            "Send a JSON body with Content-Type: application/json.",
        ),
        429 => ("rate_limited", "Too many requests for this key; slow down."),
        503 => (
            "unavailable",
            "The database cannot be reached right now; retry shortly.",
        ),
        _ => ("internal", "Something went wrong; the error has been logged."),
    }
}
