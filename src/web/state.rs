use std::sync::Arc;

use crate::config::Settings;
use crate::db::Database;
use crate::erasure::journal::Journal;
use crate::erasure::runner::JobRunner;
use crate::mail::Mailer;
use crate::password::HashingPool;
use crate::propagation::deliverer::Deliverer;
use crate::secret::SecretKey;
use crate::web::api::RateLimiter;

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    pub db: Database,
    pub settings: Arc<Settings>,
    pub mailer: Mailer,
    pub secret: SecretKey,
    /// Shared by every worker, so a key's rate is counted once per server.
    pub api_limiter: Arc<RateLimiter>,
    /// Wakes this server's job runner when a job is confirmed here.
    pub jobs: JobRunner,
    /// Records erasures outside the database, for replay after a restore.
    pub journal: Journal,
    /// The only place the server hashes passwords: bounded, so a flood of sign-in
    /// attempts is turned away instead of taking the memory.
    pub passwords: HashingPool,
    /// Delivers the outbox to destinations; woken when events wait again.
    pub deliverer: Deliverer,
}
