//! The JSON body of a Track API call: `Content-Type: application/json`, at most the
//! scope's limit, read with `parse_strict` so that a key given twice is refused.

use std::future::Future;
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::mime;
use actix_web::{web, FromRequest, HttpRequest};
use bytes::BytesMut;
use futures_util::StreamExt;
use serde_json::Value;

use super::error::ApiError;
use crate::domain::parse_strict;

/// The largest body a scope accepts; set per scope as app data.
#[derive(Debug, Clone, Copy)]
pub struct BodyLimit(pub usize);

/// The parsed body.
pub struct JsonBody(pub Value);

impl JsonBody {
    pub fn into_inner(self) -> Value {
        self.0
    }
}

impl FromRequest for JsonBody {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<JsonBody, ApiError>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let limit = req
            .app_data::<web::Data<BodyLimit>>()
            .map(|limit| limit.0)
            .or_else(|| req.app_data::<BodyLimit>().map(|limit| limit.0))
            .unwrap_or(super::JSON_LIMIT);
        let checked = check_headers(req, limit);
        let mut payload = payload.take();
        Box::pin(async move {
            checked?;
            let mut body = BytesMut::new();
            while let Some(chunk) = payload.next().await {
                let chunk = chunk.map_err(|err| {
                    tracing::debug!(error = %err, "unreadable API body");
                    ApiError::invalid("invalid_body", "The body could not be read.")
                })?;
                if body.len() + chunk.len() > limit {
                    return Err(ApiError::PayloadTooLarge);
                }
                body.extend_from_slice(&chunk);
            }
            parse_strict(&body).map(JsonBody).map_err(|err| {
                let code = if err.to_string().contains("appears twice") {
                    "duplicate_key"
                } else {
                    "invalid_body"
                };
                ApiError::invalid(code, format!("The body is not valid JSON: {err}."))
            })
        })
    }
}

/// Refuses a wrong content type, and a declared length over the limit, before reading.
fn check_headers(req: &HttpRequest, limit: usize) -> Result<(), ApiError> {
    let is_json = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.parse::<mime::Mime>().ok())
        .is_some_and(|mime| mime.essence_str() == "application/json" || mime.suffix() == Some(mime::JSON));
    if !is_json {
        return Err(ApiError::UnsupportedMediaType);
    }
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.parse::<usize>().ok());
    if declared.is_some_and(|length| length > limit) {
        return Err(ApiError::PayloadTooLarge);
    }
    Ok(())
}
