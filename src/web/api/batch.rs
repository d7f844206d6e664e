//! The Track API v2: `POST /api/v2/entity` (one operation) and `POST /api/v2/batch`
//! (up to 1,000), answered as Customer.io answers them: `200 {}` when every operation
//! was applied, `207` with the refused ones otherwise.
//!
//! The whole body is read and every operation parsed before anything is written: a
//! body that is too large, not JSON, gives a key twice, or carries too many
//! operations is refused as a whole with nothing written.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Serialize;
use serde_json::Value;

use super::accepted;
use super::auth::ApiClient;
use super::body::JsonBody;
use super::error::ApiError;
use crate::domain::{OperationError, TrackOperation, MAX_BATCH_OPERATIONS};
use crate::erasure::track_batch::{apply_operations, BatchOutcome};
use crate::format::thousands;
use crate::store::{self, StoreError};
use crate::web::state::AppState;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/entity").route(web::post().to(entity)))
        .service(web::resource("/batch").route(web::post().to(batch)));
}

/// One refused operation, as Customer.io reports it: where it was, the code (`reason`),
/// the key it is about, and a sentence.
#[derive(Serialize)]
struct OperationRefusal {
    batch_index: usize,
    reason: &'static str,
    field: &'static str,
    message: String,
}

#[derive(Serialize)]
struct PartialFailure {
    errors: Vec<OperationRefusal>,
}

async fn entity(
    state: web::Data<AppState>,
    req: HttpRequest,
    client: ApiClient,
    body: JsonBody,
) -> Result<HttpResponse, ApiError> {
    let operation = TrackOperation::from_json(body.into_inner(), client.identifier_mode, store::now())?;
    let eraser = client.eraser(&state, &req);
    let outcome = state
        .db
        .run(move |conn| Ok::<_, StoreError>(apply_operations(conn, &eraser, &[operation])))
        .await?;
    if let Some(err) = outcome.stopped {
        return Err(err.into());
    }
    match outcome.results.into_iter().next() {
        Some(Err(refused)) => Err(refused.into()),
        _ => Ok(accepted()),
    }
}

async fn batch(
    state: web::Data<AppState>,
    req: HttpRequest,
    client: ApiClient,
    body: JsonBody,
) -> Result<HttpResponse, ApiError> {
    let items = batch_items(body.into_inner())?;
    let now = store::now();
    let mut refusals = Vec::new();
    let mut operations = Vec::with_capacity(items.len());
    // Where each parsed operation sits in the batch.
    let mut positions = Vec::with_capacity(items.len());
    for (index, item) in items.into_iter().enumerate() {
        match TrackOperation::from_json(item, client.identifier_mode, now) {
            Ok(operation) => {
                operations.push(operation);
                positions.push(index);
            }
            Err(err) => refusals.push(parse_refusal(index, err)),
        }
    }
    let total = positions.len() + refusals.len();
    let eraser = client.eraser(&state, &req);
    let outcome: BatchOutcome = state
        .db
        .run(move |conn| Ok::<_, StoreError>(apply_operations(conn, &eraser, &operations)))
        .await?;
    let applied = outcome.results.iter().filter(|r| r.is_ok()).count();
    if let Some(err) = outcome.stopped {
        if applied == 0 {
            // Nothing was written: the caller may retry the whole batch.
            return Err(err.into());
        }
        let (reason, message) = ApiError::from(err).code_and_message();
        let message = format!("Not applied: {message} Retry this operation.");
        refusals.extend(
            positions[outcome.results.len()..]
                .iter()
                .map(|&batch_index| OperationRefusal {
                    batch_index,
                    reason,
                    field: "",
                    message: message.clone(),
                }),
        );
    }
    for (result, &batch_index) in outcome.results.into_iter().zip(&positions) {
        if let Err(refused) = result {
            let (reason, message) = ApiError::from(refused).code_and_message();
            refusals.push(OperationRefusal {
                batch_index,
                reason,
                field: field_of(reason),
                message: message.into_owned(),
            });
        }
    }
    tracing::info!(
        operations = total,
        applied,
        refused = refusals.len(),
        "Track API batch"
    );
    if refusals.is_empty() {
        return Ok(accepted());
    }
    refusals.sort_by_key(|r| r.batch_index);
    Ok(HttpResponse::build(StatusCode::MULTI_STATUS).json(PartialFailure { errors: refusals }))
}

/// `{"batch": [operation, …]}` with 1 to 1,000 operations.
fn batch_items(body: Value) -> Result<Vec<Value>, ApiError> {
    let Value::Object(mut fields) = body else {
        return Err(shape_error());
    };
    let Some(Value::Array(items)) = fields.remove("batch") else {
        return Err(shape_error());
    };
    if items.is_empty() {
        return Err(ApiError::invalid(
            "empty_batch",
            "The batch has no operations; nothing was written.",
        ));
    }
    if items.len() > MAX_BATCH_OPERATIONS {
        return Err(ApiError::invalid(
            "too_many_operations",
            format!(
                "A batch carries at most {} operations; this one has {}. Nothing was written: send it in smaller batches.",
                thousands(MAX_BATCH_OPERATIONS as i64),
                thousands(items.len() as i64)
            ),
        ));
    }
    Ok(items)
}

fn shape_error() -> ApiError {
    ApiError::invalid(
        "invalid_body",
        "The body must be a JSON object with a \"batch\" array of operations.",
    )
}

fn parse_refusal(batch_index: usize, err: OperationError) -> OperationRefusal {
    let field = err.field();
    let (reason, message) = ApiError::from(err).code_and_message();
    OperationRefusal {
        batch_index,
        reason,
        field,
        message: message.into_owned(),
    }
}

/// The key a refusal at write time is about: who the operation names, when that is
/// what was refused.
fn field_of(reason: &str) -> &'static str {
    match reason {
        "suppressed" | "ambiguous_identifier" | "not_found" | "legal_hold" | "archived" => "identifiers",
        "too_many_devices" => "device",
        _ => "",
    }
}
