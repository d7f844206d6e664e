use std::sync::Arc;

use crate::config::Settings;
use crate::db::Database;
use crate::mail::Mailer;
use crate::secret::SecretKey;

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    pub db: Database,
    pub settings: Arc<Settings>,
    pub mailer: Mailer,
    pub secret: SecretKey,
}
