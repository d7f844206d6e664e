//! The web layer's one error type: each variant is a page (or a JSON body under /api)
//! that says what happened and never how.

use actix_web::http::{header, StatusCode};
use actix_web::{HttpResponse, ResponseError};
use askama::Template;

use crate::store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum WebError {
    #[error("not found")]
    NotFound,
    #[error("forbidden")]
    Forbidden,
    #[error("the request was refused as cross-site or without a valid form token")]
    CsrfRejected,
    #[error("sign-in required")]
    SignInRequired,
    #[error("bad request: {0}")]
    BadRequest(String),
    #[error("request body too large")]
    PayloadTooLarge,
    #[error("too many requests: {0}")]
    TooManyRequests(String),
    #[error("every password worker is busy")]
    Busy,
    #[error("the database is unavailable")]
    Unavailable(#[source] StoreError),
    #[error("internal error")]
    Internal(#[source] Box<dyn std::error::Error + Send + Sync>),
}

impl WebError {
    pub fn internal(err: impl std::error::Error + Send + Sync + 'static) -> WebError {
        WebError::Internal(Box::new(err))
    }
}

impl From<StoreError> for WebError {
    fn from(err: StoreError) -> Self {
        if err.is_unavailable() {
            WebError::Unavailable(err)
        } else {
            WebError::Internal(Box::new(err))
        }
    }
}

impl From<diesel::r2d2::PoolError> for WebError {
    fn from(err: diesel::r2d2::PoolError) -> Self {
        WebError::Unavailable(StoreError::Pool(err))
    }
}

impl From<askama::Error> for WebError {
    fn from(err: askama::Error) -> Self {
        WebError::Internal(Box::new(err))
    }
}

/// The error page, in the layout but without any signed-in navigation: an error can
/// happen before we know who is asking.
#[derive(Template)]
#[template(path = "error.html")]
pub struct ErrorPage {
    pub status: u16,
    pub title: &'static str,
    pub message: String,
}

pub fn status_title(status: StatusCode) -> &'static str {
    match status.as_u16() {
        400 => "That request could not be understood",
        401 => "Please sign in",
        403 => "You don't have access to this",
        404 => "Page not found",
        405 => "That action is not available here",
        413 => "That is too large",
        429 => "Too many attempts",
        503 => "The console is briefly unavailable",
        _ => "Something went wrong",
    }
}

pub fn default_message(status: StatusCode) -> &'static str {
    match status.as_u16() {
        400 => "Check what you entered and try again.",
        403 => "Your role does not allow this. Ask an owner or admin if you need it.",
        404 => "There is nothing at this address, or you don't have access to it.",
        405 => "This address does not accept that kind of request.",
        413 => "The request was larger than the console accepts.",
        429 => "Wait a little, then try again.",
        503 => "The database cannot be reached right now. Nothing was changed; try again in a moment.",
        _ => "The error has been logged. Nothing was changed; try again, and if it keeps happening tell your administrator.",
    }
}

/// Renders the error page for a status, falling back to plain text if the template fails.
pub fn error_page(status: StatusCode, message: Option<String>) -> HttpResponse {
    let page = ErrorPage {
        status: status.as_u16(),
        title: status_title(status),
        message: message.unwrap_or_else(|| default_message(status).to_owned()),
    };
    match page.render() {
        Ok(body) => HttpResponse::build(status)
            .content_type("text/html; charset=utf-8")
            .body(body),
        Err(_) => HttpResponse::build(status)
            .content_type("text/plain; charset=utf-8")
            .body(page.title),
    }
}

impl ResponseError for WebError {
    fn status_code(&self) -> StatusCode {
        match self {
            WebError::NotFound => StatusCode::NOT_FOUND,
            WebError::Forbidden | WebError::CsrfRejected => StatusCode::FORBIDDEN,
            WebError::SignInRequired => StatusCode::SEE_OTHER,
            WebError::BadRequest(_) => StatusCode::BAD_REQUEST,
            WebError::TooManyRequests(_) => StatusCode::TOO_MANY_REQUESTS,
            WebError::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            WebError::Unavailable(_) | WebError::Busy => StatusCode::SERVICE_UNAVAILABLE,
            WebError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let status = self.status_code();
        match self {
            WebError::SignInRequired => {
                return HttpResponse::SeeOther()
                    .insert_header((header::LOCATION, "/login"))
                    .finish()
            }
            WebError::Unavailable(_) | WebError::Internal(_) => log_cause_chain(self),
            WebError::Busy => {
                // Told at once, with when to come back, rather than held in a queue.
                let mut response = error_page(
                    status,
                    Some("Many sign-ins are being checked right now. Nothing was changed; try again in a moment.".into()),
                );
                response
                    .headers_mut()
                    .insert(header::RETRY_AFTER, header::HeaderValue::from_static("1"));
                return response;
            }
            _ => {}
        }
        let message = match self {
            WebError::BadRequest(message) | WebError::TooManyRequests(message) => Some(message.clone()),
            WebError::CsrfRejected => Some(
                "The form had expired or came from another site. Go back, reload the page and try again."
                    .to_owned(),
            ),
            _ => None,
        };
        error_page(status, message)
    }
}

/// Logs the whole chain of causes; the response shows none of it.
pub fn log_cause_chain(err: &dyn std::error::Error) {
    let mut chain = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        chain.push_str(": ");
        chain.push_str(&cause.to_string());
        source = cause.source();
    }
    tracing::error!(error = %chain, "request failed");
}
