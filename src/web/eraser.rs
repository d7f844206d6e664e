//! Building an `Eraser` from a request: who asks, in which workspace, from where.

use actix_web::HttpRequest;

use super::api::auth::ApiClient;
use super::extractors::{request_origin, WorkspaceAccess};
use super::state::AppState;
use crate::erasure::Eraser;

impl WorkspaceAccess {
    pub fn eraser(&self, state: &AppState) -> Eraser {
        Eraser {
            workspace: self.workspace.clone(),
            secret: state.secret.clone(),
            journal: state.journal.clone(),
            actor: self.actor(),
            origin: self.origin.clone(),
        }
    }
}

impl ApiClient {
    pub fn eraser(&self, state: &AppState, req: &HttpRequest) -> Eraser {
        Eraser {
            workspace: self.workspace.clone(),
            secret: state.secret.clone(),
            journal: state.journal.clone(),
            actor: self.actor(),
            origin: request_origin(req),
        }
    }
}
