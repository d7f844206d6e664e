//! Builds the application from settings: pool, migrations, mail, sessions, routes.
//! Tests build it on port 0 over a fresh database.

use std::net::TcpListener;
use std::sync::Arc;

use actix_session::config::{BrowserSession, CookieContentSecurity};
use actix_session::SessionMiddleware;
use actix_web::cookie::{Key, SameSite};
use actix_web::dev::Server;
use actix_web::middleware::from_fn;
use actix_web::{web, App, HttpServer};

use crate::config::Settings;
use crate::db::{self, Backend, Database, DatabaseUrl, PoolSettings};
use crate::erasure::runner::JobRunner;
use crate::mail::{MailError, Mailer};
use crate::propagation::deliverer::Deliverer;
use crate::secret::{SecretKey, SecretKeyError};
use crate::store::audit::{self, AuditSeal, Rekeying};
use crate::web::api::RateLimiter;
use crate::web::session_store::DbSessionStore;
use crate::web::state::AppState;
use crate::web::{self as routes};

/// The largest url-encoded form accepted (a CSV upload has its own limit).
const FORM_LIMIT: usize = 64 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error("cannot open the database: {0}")]
    Pool(#[from] diesel::r2d2::PoolError),
    #[error("cannot migrate the database: {0}")]
    Migrate(String),
    #[error(transparent)]
    Secret(#[from] SecretKeyError),
    #[error("mail is misconfigured: {0}")]
    Mail(#[from] MailError),
    #[error("cannot check the audit log: {0}")]
    Audit(String),
    #[error("cannot listen: {0}")]
    Io(#[from] std::io::Error),
}

/// The server's secret key: the configured one, or `DATA_DIR/secret.key`, made on first
/// start.
pub fn load_secret(settings: &Settings) -> Result<SecretKey, StartupError> {
    Ok(SecretKey::load_or_create(
        settings.secret_key.as_deref(),
        &settings.data_dir,
    )?)
}

/// Opens the pool for the settings' database and brings its schema up to date. Every
/// connection carries the audit chain's seal (a key derived from `secret`, and the head
/// file in the data dir), so that whatever changes data can append audit entries.
pub fn open_database(settings: &Settings, secret: &SecretKey) -> Result<Database, StartupError> {
    open(settings, Some(AuditSeal::new(secret, &settings.data_dir)))
}

/// The same without the seal, for commands that append nothing to the audit log
/// (`migrate`, `seed`): they need no key, and should not make one in a data dir that
/// may not be the server's. An append on these connections fails.
pub fn open_database_unsealed(settings: &Settings) -> Result<Database, StartupError> {
    open(settings, None)
}

fn open(settings: &Settings, seal: Option<AuditSeal>) -> Result<Database, StartupError> {
    let pool = db::build_pool_attaching(
        &settings.database_url,
        PoolSettings {
            max_size: settings.db_pool_size,
            connection_timeout: settings.db_pool_timeout,
        },
        seal.map(|seal| seal.for_each_connection()),
    )?;
    let mut conn = pool.get()?;
    let applied = db::run_migrations(&mut conn).map_err(|e| StartupError::Migrate(e.to_string()))?;
    if applied > 0 {
        tracing::info!(applied, "migrations applied");
    }
    drop(conn);
    let backend = match settings.database_url {
        DatabaseUrl::Sqlite(_) => Backend::Sqlite,
        DatabaseUrl::Postgres(_) => Backend::Postgres,
    };
    Ok(Database::new(pool, backend))
}

/// Seals once, with the key, an audit log written before entries were keyed; see
/// `store::audit::rekey_legacy_chain` for when it does nothing.
fn seal_legacy_audit_log(db: &Database) -> Result<(), StartupError> {
    let mut conn = db.pool().get()?;
    let outcome =
        audit::rekey_legacy_chain(&mut conn, 1000).map_err(|e| StartupError::Audit(e.to_string()))?;
    match outcome {
        Rekeying::NotNeeded => {}
        Rekeying::Rekeyed { entries } => {
            tracing::info!(entries, "audit log sealed with the server's key")
        }
        Rekeying::LegacyBroken(report) => tracing::warn!(
            ?report,
            "the audit log's unkeyed chain is broken; it is left as it is: `erasure audit verify` says where"
        ),
        Rekeying::HeadRecorded => tracing::error!(
            "the audit log's newest entry is unkeyed although this data dir recorded a keyed one: the log \
             was rewritten without the key; it is left as it is: run `erasure audit verify`"
        ),
    }
    Ok(())
}

pub struct Application {
    port: u16,
    server: Server,
    pub state: AppState,
}

impl Application {
    pub fn build(settings: Settings) -> Result<Application, StartupError> {
        let listener = TcpListener::bind(settings.bind)?;
        Application::build_with_listener(settings, listener)
    }

    pub fn build_with_listener(
        settings: Settings,
        listener: TcpListener,
    ) -> Result<Application, StartupError> {
        let secret = load_secret(&settings)?;
        let db = open_database(&settings, &secret)?;
        seal_legacy_audit_log(&db)?;
        let mailer = Mailer::new(
            settings.smtp_url.as_deref(),
            settings.data_dir.join("outbox"),
            &settings.mail_from,
        )?;
        tracing::info!(
            database = %settings.database_url.redacted(),
            mail = %mailer.describe(),
            "starting"
        );
        let port = listener.local_addr()?.port();
        let api_limiter = Arc::new(RateLimiter::new(settings.api_rate_per_second));
        let settings = Arc::new(settings);
        let jobs = JobRunner::new(db.clone(), secret.clone(), mailer.clone(), settings.clone());
        let deliverer = Deliverer::new(db.clone(), secret.clone(), mailer.clone(), settings.clone());
        let journal = crate::erasure::journal::Journal::in_data_dir(&settings.data_dir);
        let passwords = crate::password::HashingPool::start(settings.password_pool);
        let state = AppState {
            db,
            api_limiter,
            settings,
            mailer,
            secret,
            jobs: jobs.clone(),
            journal,
            passwords,
            deliverer: deliverer.clone(),
        };
        let server = run(listener, state.clone())?;
        jobs.spawn();
        deliverer.spawn();
        spawn_housekeeping(state.clone());
        spawn_import_preview_sweep(state.clone());
        spawn_anonymous_event_purge(state.clone());
        spawn_request_upkeep(state.clone());
        spawn_retention_schedule(state.clone());
        spawn_search_index_merges(state.clone());
        // On PostgreSQL the customer tallies grow by appended deltas (see
        // `store::tallies`); folding them every few seconds keeps each count a sum
        // over a few rows per key.
        spawn_postgres_task(
            state.clone(),
            std::time::Duration::from_secs(5),
            crate::store::tallies::compact,
            "could not fold the customer tallies",
        );
        // A search chooses its plan by how many customers it may match, and on
        // PostgreSQL asks the trigram indexes for the cheapest part of its text, both
        // judged by a sample of the customers (`store::trigram_sample`). Taking it
        // reads a few thousand scattered rows (half a second when not cached), so it
        // is taken here, at start and every minute, rather than by a search.
        spawn_task(
            state.clone(),
            std::time::Duration::from_secs(60),
            crate::store::maintenance::sample_search_trigrams,
            "could not sample the customers for search",
        );
        Ok(Application { port, server, state })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub async fn run_until_stopped(self) -> Result<(), std::io::Error> {
        self.server.await
    }
}

fn run(listener: TcpListener, state: AppState) -> Result<Server, std::io::Error> {
    let settings = state.settings.clone();
    let cookie_key = Key::derive_from(state.secret.digest("session-cookie", b"").as_bytes());
    let session_store = DbSessionStore::new(state.db.clone(), settings.session_idle);
    let data = web::Data::new(state);
    let workers = settings.http_workers;
    let mut server = HttpServer::new(move || {
        let session = SessionMiddleware::builder(session_store.clone(), cookie_key.clone())
            .cookie_name("erasure_session".into())
            .cookie_http_only(true)
            .cookie_same_site(SameSite::Strict)
            .cookie_secure(settings.cookie_secure())
            .cookie_content_security(CookieContentSecurity::Private)
            .session_lifecycle(BrowserSession::default().state_ttl(
                actix_web::cookie::time::Duration::seconds(settings.session_idle.num_seconds()),
            ))
            .build();
        App::new()
            .app_data(data.clone())
            .app_data(
                web::FormConfig::default()
                    .limit(FORM_LIMIT)
                    .error_handler(|err, _| routes::form_error(err)),
            )
            .app_data(web::QueryConfig::default().error_handler(|err, _| routes::input_error(err)))
            .app_data(web::PathConfig::default().error_handler(|_, _| routes::WebError::NotFound.into()))
            .configure(routes::routes)
            .default_service(web::to(routes::not_found))
            .wrap(from_fn(routes::csrf_protection))
            .wrap(from_fn(routes::form_key))
            .wrap(session)
            .wrap(from_fn(routes::error_pages))
            .wrap(from_fn(routes::security_headers))
            .wrap(from_fn(routes::request_context))
    })
    .listen(listener)?;
    if let Some(workers) = workers {
        server = server.workers(workers);
    }
    Ok(server.run())
}

/// Runs `task` at start and then every `period` on PostgreSQL (nothing on SQLite),
/// logging a failure and trying again at the next tick.
fn spawn_postgres_task(
    state: AppState,
    period: std::time::Duration,
    task: fn(&mut crate::db::DbConnection) -> Result<(), crate::store::StoreError>,
    failure: &'static str,
) {
    if state.db.backend() != crate::db::Backend::Postgres {
        return;
    }
    spawn_task(state, period, task, failure);
}

/// Runs `task` at start and every `period`, on either engine.
fn spawn_task(
    state: AppState,
    period: std::time::Duration,
    task: fn(&mut crate::db::DbConnection) -> Result<(), crate::store::StoreError>,
    failure: &'static str,
) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(period);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            if let Err(err) = state.db.run(task).await {
                tracing::warn!(error = %err, "{failure}");
            }
        }
    });
}

/// SQLite: merges the search index's new segments into one every `search_merge`, a
/// bounded step at a time (`store::maintenance::merge_search_index_step`), each its
/// own write transaction taking its turn among the other writers.
fn spawn_search_index_merges(state: AppState) {
    if state.db.backend() != crate::db::Backend::Sqlite {
        return;
    }
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(state.settings.search_merge);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            let (mut steps, mut longest) = (0u32, std::time::Duration::ZERO);
            loop {
                let started = std::time::Instant::now();
                match state
                    .db
                    .run(crate::store::maintenance::merge_search_index_step)
                    .await
                {
                    Ok(true) => {
                        steps += 1;
                        longest = longest.max(started.elapsed());
                    }
                    Ok(false) => break,
                    Err(err) => {
                        tracing::warn!(error = %err, "could not merge the search index");
                        break;
                    }
                }
            }
            if steps > 0 {
                tracing::info!(
                    steps,
                    longest_step_ms = longest.as_millis() as u64,
                    "search index merged"
                );
            }
        }
    });
}

/// Runs the retention policies that are due, every minute: when none is, that is one
/// look at an index. A run that queued a job wakes this server's runner.
fn spawn_retention_schedule(state: AppState) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(std::time::Duration::from_secs(60));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let context = crate::retention::runs::RunContext {
            secret: state.secret.clone(),
            journal: state.journal.clone(),
        };
        loop {
            tick.tick().await;
            let context = context.clone();
            let mailer = state.mailer.clone();
            let public_url = state.settings.public_url.clone();
            let ran = state
                .db
                .run(move |conn| {
                    crate::retention::schedule::run_and_tell(
                        conn,
                        &context,
                        &mailer,
                        &public_url,
                        crate::store::now(),
                    )
                })
                .await;
            match ran {
                Ok(outcomes) if outcomes.iter().any(|o| o.started()) => state.jobs.wake(),
                Ok(_) => {}
                Err(err) => tracing::warn!(error = %err, "could not run the retention policies"),
            }
        }
    });
}

/// Discards import previews left unconfirmed for longer than the settings allow, with
/// the rows they read: an abandoned upload must not keep customers' data around.
fn spawn_import_preview_sweep(state: AppState) {
    let ttl = state.settings.import_preview_ttl;
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(state.settings.import_preview_sweep);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            let purged = state
                .db
                .run(move |conn| crate::erasure::pending_imports::purge_abandoned_previews(conn, ttl))
                .await;
            match purged {
                Ok(0) => {}
                Ok(purged) => tracing::info!(purged, "abandoned import previews discarded"),
                Err(err) => tracing::warn!(error = %err, "could not discard abandoned import previews"),
            }
        }
    });
}

/// Once a day (and at start): anonymous events nobody claimed within 30 days are
/// personal data kept for no one, so they go.
fn spawn_anonymous_event_purge(state: AppState) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(std::time::Duration::from_secs(24 * 60 * 60));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            let purged = state
                .db
                .run(crate::erasure::anonymous::purge_unclaimed_anonymous_events)
                .await;
            match purged {
                Ok(0) => {}
                Ok(purged) => tracing::info!(purged, "unclaimed anonymous events purged"),
                Err(err) => tracing::warn!(error = %err, "could not purge unclaimed anonymous events"),
            }
        }
    });
}

/// Periodic clean-up that no request should wait for.
/// Data-subject requests: reminders of due dates, and exports past their seven days
/// purged. Every minute, so a moved clock (or a test) sees it soon.
fn spawn_request_upkeep(state: AppState) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(state.settings.request_upkeep);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            let public_url = state.settings.public_url.clone();
            if let Err(err) =
                crate::requests::reminders::send_due(&state.db, &state.mailer, &public_url).await
            {
                tracing::warn!(error = %err, "could not send request reminders");
            }
            let data_dir = state.settings.data_dir.clone();
            let purged = state
                .db
                .run(move |conn| crate::requests::access_export::purge_expired(conn, &data_dir))
                .await;
            match purged {
                Ok(0) => {}
                Ok(purged) => tracing::info!(purged, "expired request exports purged"),
                Err(err) => tracing::warn!(error = %err, "could not purge request exports"),
            }
        }
    });
}

fn spawn_housekeeping(state: AppState) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(std::time::Duration::from_secs(600));
        loop {
            tick.tick().await;
            match state.db.run(crate::store::sessions::delete_expired).await {
                Ok(removed) if removed > 0 => tracing::info!(removed, "expired sessions removed"),
                Ok(_) => {}
                Err(err) => tracing::warn!(error = %err, "could not remove expired sessions"),
            }
            match state.db.run(crate::accounts::sign_in::forget_stale).await {
                Ok(forgotten) if forgotten > 0 => tracing::info!(forgotten, "stale sign-in counts forgotten"),
                Ok(_) => {}
                Err(err) => tracing::warn!(error = %err, "could not forget stale sign-in counts"),
            }
            if let Err(err) = state.db.run(crate::store::maintenance::optimize).await {
                tracing::warn!(error = %err, "could not refresh planner statistics");
            }
            // A preview nobody confirmed within a day no longer describes the data.
            let stale = state.db.run(|conn| {
                crate::db::write_transaction(conn, |conn| {
                    crate::store::jobs::discard_stale_previews(conn, chrono::Duration::hours(24))
                })
            });
            if let Err(err) = stale.await {
                tracing::warn!(error = %err, "could not discard stale previews");
            }
        }
    });
}
