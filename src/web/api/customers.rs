//! Identify (create or update) and delete customers.

use actix_web::{web, HttpRequest, HttpResponse};

use super::accepted;
use super::auth::ApiClient;
use super::body::JsonBody;
use super::error::ApiError;
use crate::domain::{Change, CustomerPatch, Identifier, JobKind};
use crate::erasure::anonymous::anonymous_digest;
use crate::erasure::single::{erase_customer, CustomerRef};
use crate::erasure::suppress::digests_for_write;
use crate::store::{self, customer_writes};
use crate::web::state::AppState;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/customers/{identifier}")
            .route(web::put().to(identify))
            .route(web::delete().to(delete)),
    );
}

async fn identify(
    state: web::Data<AppState>,
    client: ApiClient,
    identifier: web::Path<String>,
    body: JsonBody,
) -> Result<HttpResponse, ApiError> {
    let identifier = Identifier::parse(&identifier, client.identifier_mode)?;
    let patch = CustomerPatch::from_json(body.into_inner(), store::now())?;
    let workspace_id = client.workspace.id;
    let body_email = match &patch.email {
        Change::Set(email) => Some(email.as_str()),
        _ => None,
    };
    let digests = digests_for_write(&state.secret, &identifier, body_email);
    let claim = patch
        .anonymous_id
        .as_ref()
        .map(|id| anonymous_digest(&state.secret, id));
    state
        .db
        .run(move |conn| {
            customer_writes::identify_claiming(
                conn,
                workspace_id,
                &identifier,
                &patch,
                &digests,
                claim.as_deref(),
            )
        })
        .await?;
    Ok(accepted())
}

/// Deleting someone who is not there answers 200 as well, as Customer.io does: a client
/// retrying a delete whose answer it missed must not see an error for a job well done.
async fn delete(
    state: web::Data<AppState>,
    req: HttpRequest,
    client: ApiClient,
    identifier: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let identifier = Identifier::parse(&identifier, client.identifier_mode)?;
    let eraser = client.eraser(&state, &req);
    let deleted = state
        .db
        .run(move |conn| {
            erase_customer(
                conn,
                &eraser,
                JobKind::Delete,
                CustomerRef::Identifier(&identifier),
                false,
            )
        })
        .await?;
    match deleted {
        Some(deleted) => tracing::info!(
            job = deleted.job.id,
            events = deleted.events_removed,
            "customer deleted through the API"
        ),
        None => tracing::info!("API delete of a customer that does not exist"),
    }
    Ok(accepted())
}
