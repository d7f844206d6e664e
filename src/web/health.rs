use actix_web::{web, HttpResponse};
use diesel::connection::SimpleConnection;

use super::state::AppState;
use crate::store::StoreError;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/healthz").route(web::get().to(healthz)));
}

/// 200 when a query gets through to the database, 503 otherwise.
async fn healthz(state: web::Data<AppState>) -> HttpResponse {
    let checked = state
        .db
        .run(|conn| conn.batch_execute("SELECT 1").map_err(StoreError::from))
        .await;
    match checked {
        Ok(()) => HttpResponse::Ok().json(serde_json::json!({ "status": "ok" })),
        Err(err) => {
            tracing::warn!(error = %err, "health check failed");
            HttpResponse::ServiceUnavailable().json(serde_json::json!({ "status": "unavailable" }))
        }
    }
}
