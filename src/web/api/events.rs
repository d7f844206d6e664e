//! Track a customer's events, and anonymous events of people not identified yet.

use actix_web::{web, HttpResponse};

use super::accepted;
use super::auth::ApiClient;
use super::body::JsonBody;
use super::error::ApiError;
use crate::domain::{AnonymousEvent, Identifier, TrackEvent};
use crate::erasure::anonymous::record_anonymous_event;
use crate::erasure::suppress::digests_for_write;
use crate::store::{self, customer_writes};
use crate::web::state::AppState;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/customers/{identifier}/events").route(web::post().to(track)))
        .service(web::resource("/events").route(web::post().to(track_anonymous)));
}

async fn track(
    state: web::Data<AppState>,
    client: ApiClient,
    identifier: web::Path<String>,
    body: JsonBody,
) -> Result<HttpResponse, ApiError> {
    let identifier = Identifier::parse(&identifier, client.identifier_mode)?;
    let event = TrackEvent::from_json(body.into_inner(), store::now())?;
    let workspace_id = client.workspace.id;
    let digests = digests_for_write(&state.secret, &identifier, None);
    state
        .db
        .run(move |conn| customer_writes::record_event(conn, workspace_id, &identifier, &event, &digests))
        .await?;
    Ok(accepted())
}

/// Customer.io's anonymous event: kept until an identify with the same `anonymous_id`
/// claims it, for 30 days at most.
async fn track_anonymous(
    state: web::Data<AppState>,
    client: ApiClient,
    body: JsonBody,
) -> Result<HttpResponse, ApiError> {
    let anonymous = AnonymousEvent::from_json(body.into_inner(), store::now())?;
    let workspace_id = client.workspace.id;
    let secret = state.secret.clone();
    state
        .db
        .run(move |conn| record_anonymous_event(conn, &secret, workspace_id, &anonymous))
        .await?;
    Ok(accepted())
}
