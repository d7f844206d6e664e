//! The API's one error type: each variant is a status and a stable `code`, with a
//! message for people; causes are logged, never sent.

use std::borrow::Cow;

use actix_web::http::{header, StatusCode};
use actix_web::{HttpResponse, ResponseError};

use crate::domain::{
    AnonymousEventError, DeviceError, EventError, IdentifierError, MergeRequestError, OperationError,
    PatchError,
};
use crate::erasure::track_batch::OperationFailure;
use crate::store::customer_writes::WriteError;
use crate::store::devices::DeviceWriteError;
use crate::store::StoreError;
use crate::web::api_error::{api_error, code_and_message_for_status};
use crate::web::error::log_cause_chain;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("missing or wrong API credentials")]
    Unauthorized,
    #[error("rate limited")]
    RateLimited { retry_after_secs: u64 },
    #[error("not found: {0}")]
    NotFound(&'static str),
    #[error("{code}: {message}")]
    Invalid { code: &'static str, message: String },
    #[error("{code}: {message}")]
    Conflict {
        code: &'static str,
        message: &'static str,
    },
    #[error("the identifier is suppressed")]
    Suppressed,
    #[error("payload too large")]
    PayloadTooLarge,
    #[error("unsupported media type")]
    UnsupportedMediaType,
    #[error("the database is unavailable")]
    Unavailable(#[source] StoreError),
    #[error("internal error")]
    Internal(#[source] Box<dyn std::error::Error + Send + Sync>),
}

/// The realm a client is asked to authenticate in.
const REALM: &str = "Basic realm=\"Erasure Track API\"";

impl ApiError {
    /// The stable code and the sentence the client is told; never the cause.
    pub fn code_and_message(&self) -> (&'static str, Cow<'static, str>) {
        match self {
            ApiError::NotFound(message) => ("not_found", Cow::Borrowed(*message)),
            ApiError::Invalid { code, message } => (code, Cow::Owned(message.clone())),
            ApiError::Conflict { code, message } => (code, Cow::Borrowed(*message)),
            ApiError::Suppressed => (
                "suppressed",
                Cow::Borrowed(
                    "This identifier is suppressed: it was deleted and may not be added again. Nothing was created or changed.",
                ),
            ),
            _ => {
                let (code, message) = code_and_message_for_status(self.status_code());
                (code, Cow::Borrowed(message))
            }
        }
    }

    pub fn invalid(code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError::Invalid {
            code,
            message: message.into(),
        }
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            ApiError::Unauthorized => StatusCode::UNAUTHORIZED,
            ApiError::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::Invalid { .. } => StatusCode::BAD_REQUEST,
            ApiError::Conflict { .. } => StatusCode::CONFLICT,
            ApiError::Suppressed => StatusCode::FORBIDDEN,
            ApiError::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let status = self.status_code();
        if matches!(self, ApiError::Unavailable(_) | ApiError::Internal(_)) {
            log_cause_chain(self);
        }
        let (code, message) = self.code_and_message();
        let mut response = api_error(status, code, &message);
        let headers = response.headers_mut();
        match self {
            ApiError::Unauthorized => {
                headers.insert(header::WWW_AUTHENTICATE, header::HeaderValue::from_static(REALM));
            }
            ApiError::RateLimited { retry_after_secs } => {
                headers.insert(header::RETRY_AFTER, (*retry_after_secs).into());
            }
            _ => {}
        }
        response
    }
}

impl From<StoreError> for ApiError {
    fn from(err: StoreError) -> Self {
        if err.is_unavailable() {
            ApiError::Unavailable(err)
        } else {
            ApiError::Internal(Box::new(err))
        }
    }
}

impl From<diesel::r2d2::PoolError> for ApiError {
    fn from(err: diesel::r2d2::PoolError) -> Self {
        ApiError::Unavailable(StoreError::Pool(err))
    }
}

impl From<WriteError> for ApiError {
    fn from(err: WriteError) -> Self {
        match err {
            WriteError::NotFound => ApiError::NotFound("No customer has that internal id."),
            WriteError::Ambiguous => ApiError::Conflict {
                code: "ambiguous_identifier",
                message: "More than one customer has that email address; use their id instead.",
            },
            WriteError::Suppressed => ApiError::Suppressed,
            WriteError::LegalHold => ApiError::Conflict {
                code: "legal_hold",
                message: "The customer is under a legal hold and cannot be deleted.",
            },
            WriteError::Archived => ApiError::Conflict {
                code: "archived",
                message: "The customer is anonymized: an anonymized profile takes no new data.",
            },
            WriteError::Invalid(err) => err.into(),
            WriteError::Store(err) => err.into(),
        }
    }
}

impl From<DeviceError> for ApiError {
    fn from(err: DeviceError) -> Self {
        ApiError::invalid(err.code(), capitalized(&err.to_string()))
    }
}

impl From<DeviceWriteError> for ApiError {
    fn from(err: DeviceWriteError) -> Self {
        match err {
            DeviceWriteError::Write(err) => err.into(),
            DeviceWriteError::Invalid(err) => err.into(),
        }
    }
}

impl From<IdentifierError> for ApiError {
    fn from(err: IdentifierError) -> Self {
        ApiError::invalid("invalid_identifier", capitalized(&err.to_string()))
    }
}

impl From<PatchError> for ApiError {
    fn from(err: PatchError) -> Self {
        ApiError::invalid(err.code(), capitalized(&err.to_string()))
    }
}

impl From<EventError> for ApiError {
    fn from(err: EventError) -> Self {
        ApiError::invalid(err.code(), capitalized(&err.to_string()))
    }
}

impl From<AnonymousEventError> for ApiError {
    fn from(err: AnonymousEventError) -> Self {
        ApiError::invalid(err.code(), capitalized(&err.to_string()))
    }
}

impl From<MergeRequestError> for ApiError {
    fn from(err: MergeRequestError) -> Self {
        ApiError::invalid(err.code(), capitalized(&err.to_string()))
    }
}

/// Domain messages are lower-case fragments; the API sends sentences.
fn capitalized(message: &str) -> String {
    let mut chars = message.chars();
    match chars.next() {
        Some(first) => format!("{}{}.", first.to_uppercase(), chars.as_str()),
        None => String::new(),
    }
}

impl From<OperationError> for ApiError {
    fn from(err: OperationError) -> Self {
        ApiError::invalid(err.code(), capitalized(&err.to_string()))
    }
}

impl From<OperationFailure> for ApiError {
    fn from(err: OperationFailure) -> Self {
        match err {
            OperationFailure::Write(err) => err.into(),
            OperationFailure::Device(err) => err.into(),
            OperationFailure::Merge(err) => err.into(),
            OperationFailure::Erasure(err) => err.into(),
        }
    }
}
