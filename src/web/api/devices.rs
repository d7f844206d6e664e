//! Add, update and remove a customer's devices (Customer.io's `/devices` calls).

use actix_web::{web, HttpResponse};

use super::accepted;
use super::auth::ApiClient;
use super::body::JsonBody;
use super::error::ApiError;
use crate::domain::{DeviceToken, DeviceUpdate, Identifier};
use crate::erasure::suppress::digests_for_write;
use crate::store::{self, devices};
use crate::web::state::AppState;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/customers/{identifier}/devices").route(web::put().to(add)))
        .service(
            web::resource("/customers/{identifier}/devices/{device_id}").route(web::delete().to(remove)),
        );
}

/// Creates the customer if need be, as an identify would; refused for a suppressed
/// identifier like an identify.
async fn add(
    state: web::Data<AppState>,
    client: ApiClient,
    identifier: web::Path<String>,
    body: JsonBody,
) -> Result<HttpResponse, ApiError> {
    let identifier = Identifier::parse(&identifier, client.identifier_mode)?;
    let device = DeviceUpdate::from_json(body.into_inner(), store::now())?;
    let workspace_id = client.workspace.id;
    let digests = digests_for_write(&state.secret, &identifier, None);
    state
        .db
        .run(move |conn| devices::add_device(conn, workspace_id, &identifier, &device, &digests))
        .await?;
    Ok(accepted())
}

/// Removing a device that is not there answers 200 as well, as Customer.io does.
async fn remove(
    state: web::Data<AppState>,
    client: ApiClient,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (identifier, device_id) = path.into_inner();
    let identifier = Identifier::parse(&identifier, client.identifier_mode)?;
    let token = DeviceToken::parse(&device_id)?;
    let workspace_id = client.workspace.id;
    state
        .db
        .run(move |conn| devices::remove_device(conn, workspace_id, &identifier, &token))
        .await?;
    Ok(accepted())
}
