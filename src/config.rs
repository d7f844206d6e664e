//! Settings from flags and the environment. Every flag can also be given as the
//! environment variable named beside it.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::Args;

use crate::db::{DatabaseUrl, DatabaseUrlError};

pub const DEFAULT_DATABASE_URL: &str = "sqlite://data/erasure.db";
/// Long enough for a busy pool to hand a connection on, short enough that a request
/// made while the database is gone is answered while its sender still waits.
pub const DEFAULT_DB_POOL_TIMEOUT_SECONDS: u32 = 5;
/// The most customers one batch of a job erases, unless configured.
pub const DEFAULT_JOB_BATCH_SIZE: u32 = 50_000;

/// Where the data lives; shared by every command that opens the database.
#[derive(Debug, Clone, Args)]
pub struct DatabaseArgs {
    /// sqlite://PATH (relative or absolute) or postgres://USER@HOST/DB
    #[arg(long, env = "DATABASE_URL", default_value = DEFAULT_DATABASE_URL)]
    pub database_url: String,

    /// Connections in the pool (default: 16 on SQLite; on PostgreSQL two per core, at least 4)
    #[arg(long, env = "DB_POOL_SIZE")]
    pub db_pool_size: Option<u32>,

    /// Seconds a request waits for a database connection before it gets 503 (the
    /// database is unreachable, or every connection is busy)
    #[arg(long, env = "DB_POOL_TIMEOUT_SECONDS", default_value_t = DEFAULT_DB_POOL_TIMEOUT_SECONDS)]
    pub db_pool_timeout_seconds: u32,

    /// Folder for the mail outbox and the generated secret key
    #[arg(long, env = "DATA_DIR", default_value = "data")]
    pub data_dir: PathBuf,

    /// Key for suppression digests and code hashes; generated into DATA_DIR/secret.key when unset
    #[arg(long, env = "SECRET_KEY", hide_env_values = true)]
    pub secret_key: Option<String>,
}

#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    /// Address to listen on
    #[arg(long, env = "BIND", default_value = "127.0.0.1:8080")]
    pub bind: SocketAddr,

    /// The address people reach the console at; https:// makes the cookie Secure
    #[arg(long, env = "PUBLIC_URL")]
    pub public_url: Option<String>,

    /// smtp://user:pass@host:port or smtps://…; when unset mail goes to DATA_DIR/outbox
    #[arg(long, env = "SMTP_URL", hide_env_values = true)]
    pub smtp_url: Option<String>,

    /// The From: of every message
    #[arg(long, env = "MAIL_FROM", default_value = "Erasure <erasure@localhost>")]
    pub mail_from: String,

    /// Minutes without a request before a session ends
    #[arg(long, env = "SESSION_IDLE_MINUTES", default_value_t = 30)]
    pub session_idle_minutes: u32,

    /// Hours after sign-in when a session ends however active
    #[arg(long, env = "SESSION_ABSOLUTE_HOURS", default_value_t = 12)]
    pub session_absolute_hours: u32,

    /// Worker threads serving HTTP (default: one per core)
    #[arg(long, env = "HTTP_WORKERS")]
    pub http_workers: Option<usize>,

    /// The most customers one batch of a job erases (each batch is one transaction;
    /// batches start at 500 and double while they take under four seconds)
    #[arg(long, env = "JOB_BATCH_SIZE", default_value_t = DEFAULT_JOB_BATCH_SIZE)]
    pub job_batch_size: u32,

    /// Seconds a server holds a running job without renewing its lease before
    /// another server may take it over
    #[arg(long, env = "JOB_LEASE_SECONDS", default_value_t = 30)]
    pub job_lease_seconds: u32,

    /// Track API requests per second per key, in bursts of up to twice as many
    #[arg(long, env = "API_RATE_LIMIT", default_value_t = 100)]
    pub api_rate_limit: u32,

    /// Minutes an import preview waits for confirmation before it is discarded with
    /// the rows it read
    #[arg(long, env = "IMPORT_PREVIEW_MINUTES", default_value_t = 60)]
    pub import_preview_minutes: u32,

    /// Passwords hashed at once (each takes 19 MiB while it is hashed; default two per
    /// core, at most 8); four times as many may wait, more are answered 503 at once
    #[arg(long, env = "PASSWORD_WORKERS")]
    pub password_workers: Option<usize>,

    /// Addresses of reverse proxies in front of the console, comma-separated: from
    /// these (only) the client's address is read from X-Forwarded-For
    #[arg(long = "trusted-proxy", env = "TRUSTED_PROXIES", value_delimiter = ',')]
    pub trusted_proxies: Vec<std::net::IpAddr>,

    /// Seconds one delivery to a destination may take before it counts as failed
    #[arg(long, env = "DELIVERY_TIMEOUT_SECONDS", default_value_t = 10)]
    pub delivery_timeout_seconds: u32,

    /// Milliseconds before the first retry of a failed delivery; each next retry waits
    /// twice as long (up to six hours), give or take a fifth
    #[arg(long, env = "DELIVERY_RETRY_FIRST_MS", default_value_t = 5_000)]
    pub delivery_retry_first_ms: u64,

    /// Seconds a failing event is retried before it is given up (three days), and a
    /// destination failing every delivery is paused after
    #[arg(long, env = "DELIVERY_RETRY_WINDOW_SECONDS", default_value_t = 259_200)]
    pub delivery_retry_window_seconds: u32,
}

/// How often abandoned import previews are looked for: a preview outlives its time by
/// at most this much.
const IMPORT_PREVIEW_SWEEP: std::time::Duration = std::time::Duration::from_secs(60);

/// How often request reminders and export purges are looked for.
const REQUEST_UPKEEP: std::time::Duration = std::time::Duration::from_secs(60);

/// How often the search index is merged on SQLite: the segments a minute of writes
/// leaves slow a search by a few milliseconds at most, and each merge rewrites the
/// whole index (a few seconds of background work at a million customers).
const SEARCH_MERGE: std::time::Duration = std::time::Duration::from_secs(60);

/// PostgreSQL's connections: two per core, at least four.
///
/// Each connection is a server process. More of them than the cores can run only take
/// turns: with sixteen on two cores, the list under sixteen concurrent requests had
/// p99 60–285 ms at the same throughput that four connections gave with p99 15–18 ms,
/// as each of a page's statements waited for its process's turn on a core.
fn postgres_pool_size() -> u32 {
    let cores = std::thread::available_parallelism().map_or(2, std::num::NonZeroUsize::get);
    u32::try_from(cores * 2).unwrap_or(u32::MAX).max(4)
}

/// Everything the server needs, parsed.
#[derive(Debug, Clone)]
pub struct Settings {
    pub database_url: DatabaseUrl,
    pub db_pool_size: u32,
    pub db_pool_timeout: std::time::Duration,
    pub data_dir: PathBuf,
    pub secret_key: Option<String>,
    pub bind: SocketAddr,
    pub public_url: String,
    pub smtp_url: Option<String>,
    pub mail_from: String,
    pub session_idle: chrono::Duration,
    pub session_absolute: chrono::Duration,
    pub http_workers: Option<usize>,
    pub job_batch_size: i64,
    pub job_lease: chrono::Duration,
    pub api_rate_per_second: u32,
    /// How long an import preview waits for confirmation before it is purged.
    pub import_preview_ttl: chrono::Duration,
    /// How often abandoned import previews are looked for.
    pub import_preview_sweep: std::time::Duration,
    /// Reverse proxies whose X-Forwarded-For names the client.
    pub trusted_proxies: Vec<std::net::IpAddr>,
    /// How many passwords are hashed at once, and how many wait.
    pub password_pool: crate::password::PoolSize,
    pub delivery: DeliverySettings,
    /// How often request reminders and export purges are looked for.
    pub request_upkeep: std::time::Duration,
    /// SQLite: how often the search index's new segments are merged into one
    /// (`store::maintenance::merge_search_index_step`).
    pub search_merge: std::time::Duration,
}

/// How deliveries to destinations are attempted and retried.
#[derive(Debug, Clone, Copy)]
pub struct DeliverySettings {
    pub timeout: std::time::Duration,
    pub retry_first: std::time::Duration,
    pub retry_max: std::time::Duration,
    /// How long an event is retried, and how long a destination may fail every
    /// delivery before it is paused.
    pub retry_window: chrono::Duration,
}

impl Default for DeliverySettings {
    fn default() -> Self {
        DeliverySettings {
            timeout: std::time::Duration::from_secs(10),
            retry_first: std::time::Duration::from_secs(5),
            retry_max: std::time::Duration::from_secs(6 * 3600),
            retry_window: chrono::Duration::days(3),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("DATABASE_URL: {0}")]
    DatabaseUrl(#[from] DatabaseUrlError),
    #[error("PUBLIC_URL must start with http:// or https://")]
    PublicUrl,
    #[error("SESSION_IDLE_MINUTES and SESSION_ABSOLUTE_HOURS must be at least 1")]
    SessionTimeout,
}

impl Settings {
    pub fn from_args(db: &DatabaseArgs, serve: &ServeArgs) -> Result<Settings, ConfigError> {
        let database_url = DatabaseUrl::parse(&db.database_url)?;
        let public_url = match &serve.public_url {
            Some(url) if url.starts_with("http://") || url.starts_with("https://") => {
                url.trim_end_matches('/').to_owned()
            }
            Some(_) => return Err(ConfigError::PublicUrl),
            None => format!("http://{}", serve.bind),
        };
        if serve.session_idle_minutes == 0 || serve.session_absolute_hours == 0 {
            return Err(ConfigError::SessionTimeout);
        }
        Ok(Settings {
            // SQLite: writers waiting for the one write lock each hold a connection, so
            // readers need as many again; with 8, lists waited 0.4 s behind six Track
            // API writers while a job ran, with 16 they answered in 25 ms.
            db_pool_size: db.db_pool_size.unwrap_or(match database_url {
                DatabaseUrl::Sqlite(_) => 16,
                DatabaseUrl::Postgres(_) => postgres_pool_size(),
            }),
            db_pool_timeout: std::time::Duration::from_secs(u64::from(db.db_pool_timeout_seconds.max(1))),
            database_url,
            data_dir: db.data_dir.clone(),
            secret_key: db.secret_key.clone(),
            bind: serve.bind,
            public_url,
            smtp_url: serve.smtp_url.clone().filter(|s| !s.trim().is_empty()),
            mail_from: serve.mail_from.clone(),
            session_idle: chrono::Duration::minutes(i64::from(serve.session_idle_minutes)),
            session_absolute: chrono::Duration::hours(i64::from(serve.session_absolute_hours)),
            http_workers: serve.http_workers,
            job_batch_size: i64::from(serve.job_batch_size.clamp(1, 100_000)),
            job_lease: chrono::Duration::seconds(i64::from(serve.job_lease_seconds.max(2))),
            api_rate_per_second: serve.api_rate_limit.max(1),
            import_preview_ttl: chrono::Duration::minutes(i64::from(serve.import_preview_minutes.max(1))),
            import_preview_sweep: IMPORT_PREVIEW_SWEEP,
            trusted_proxies: serve.trusted_proxies.clone(),
            password_pool: match serve.password_workers {
                Some(workers) => crate::password::PoolSize::with_workers(workers),
                None => crate::password::PoolSize::for_this_machine(),
            },
            delivery: DeliverySettings {
                timeout: std::time::Duration::from_secs(u64::from(serve.delivery_timeout_seconds.max(1))),
                retry_first: std::time::Duration::from_millis(serve.delivery_retry_first_ms.max(10)),
                retry_window: chrono::Duration::seconds(i64::from(
                    serve.delivery_retry_window_seconds.max(1),
                )),
                ..DeliverySettings::default()
            },
            request_upkeep: REQUEST_UPKEEP,
            search_merge: SEARCH_MERGE,
        })
    }

    /// Settings for tests and tools: defaults, over the given database and folder.
    pub fn for_database(database_url: DatabaseUrl, data_dir: PathBuf) -> Settings {
        Settings {
            db_pool_size: 8,
            db_pool_timeout: std::time::Duration::from_secs(u64::from(DEFAULT_DB_POOL_TIMEOUT_SECONDS)),
            database_url,
            data_dir,
            secret_key: None,
            bind: "127.0.0.1:0".parse().expect("a literal address"),
            public_url: "http://127.0.0.1".into(),
            smtp_url: None,
            mail_from: "Erasure <erasure@localhost>".into(),
            session_idle: chrono::Duration::minutes(30),
            session_absolute: chrono::Duration::hours(12),
            http_workers: Some(2),
            job_batch_size: i64::from(DEFAULT_JOB_BATCH_SIZE),
            job_lease: chrono::Duration::seconds(30),
            api_rate_per_second: 100,
            import_preview_ttl: chrono::Duration::minutes(60),
            import_preview_sweep: IMPORT_PREVIEW_SWEEP,
            trusted_proxies: Vec::new(),
            password_pool: crate::password::PoolSize::for_this_machine(),
            delivery: DeliverySettings::default(),
            request_upkeep: REQUEST_UPKEEP,
            search_merge: SEARCH_MERGE,
        }
    }

    pub fn cookie_secure(&self) -> bool {
        self.public_url.starts_with("https://")
    }
}
