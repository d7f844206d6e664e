//! Merge two customers (Customer.io's `POST /api/v1/merge_customers`).

use actix_web::{web, HttpRequest, HttpResponse};

use super::accepted;
use super::auth::ApiClient;
use super::body::JsonBody;
use super::error::ApiError;
use crate::domain::MergeRequest;
use crate::erasure::merge::{merge_customers, MergeError};
use crate::store::customer_writes::WriteError;
use crate::web::state::AppState;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/merge_customers").route(web::post().to(merge)));
}

impl From<MergeError> for ApiError {
    fn from(err: MergeError) -> Self {
        match err {
            MergeError::Store(err) => err.into(),
            // The primary must exist, as in Customer.io; so must the secondary, or the
            // caller would believe a duplicate was folded in when nothing happened.
            MergeError::PrimaryNotFound => ApiError::NotFound("No customer has the primary's identifier."),
            MergeError::SecondaryNotFound => ApiError::NotFound("No customer has the secondary's identifier."),
            MergeError::SameCustomer => ApiError::invalid(
                "same_customer",
                "The primary and the secondary are the same customer; nothing was merged.",
            ),
            MergeError::Ambiguous => WriteError::Ambiguous.into(),
            MergeError::Suppressed => ApiError::Suppressed,
            MergeError::Held => ApiError::Conflict {
                code: "legal_hold",
                message: "A customer of the merge is under a legal hold; nothing was merged.",
            },
            MergeError::Archived => ApiError::Conflict {
                code: "archived",
                message: "A customer of the merge is anonymized: an anonymized profile takes no new data and gives none.",
            },
            MergeError::TooManyAttributes => ApiError::Conflict {
                code: "too_many_attributes",
                message: "The merged customer would have more than 300 attributes; nothing was merged.",
            },
        }
    }
}

/// The secondary's missing fields, attributes and events go to the primary; then the
/// secondary is deleted like any deletion, and `200 {}` answers.
async fn merge(
    state: web::Data<AppState>,
    req: HttpRequest,
    client: ApiClient,
    body: JsonBody,
) -> Result<HttpResponse, ApiError> {
    let request = MergeRequest::from_json(body.into_inner(), client.identifier_mode)?;
    let eraser = client.eraser(&state, &req);
    let merged = state
        .db
        .run(move |conn| merge_customers(conn, &eraser, &request.primary, &request.secondary))
        .await?;
    tracing::info!(
        primary = merged.primary_id,
        secondary = merged.secondary_id,
        events = merged.events_moved,
        "customers merged through the API"
    );
    Ok(accepted())
}
