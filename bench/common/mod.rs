//! What the deletion benchmarks share: copies of the source database, a pool like the
//! server's, and the product's deletion of a cohort through its job runner.

// Each benchmark uses part of this module.
#![allow(dead_code)]

use std::sync::Arc;
use std::time::Instant;

use diesel::connection::SimpleConnection;
use diesel::{Connection, PgConnection};
use erasure::config::Settings;
use erasure::db::{build_pool_attaching, Backend, Database, DatabaseUrl, PoolSettings};
use erasure::domain::{CustomerFilter, JobKind};
use erasure::erasure::preview::{create_preview, Selection};
use erasure::erasure::runner::JobRunner;
use erasure::mail::Mailer;
use erasure::secret::SecretKey;
use erasure::store;

pub const SECRET: &str = "benchmark-secret-key-0123456789abcdef";

/// A copy of the source for each suffix, made in turn.
pub fn copies(source: &DatabaseUrl, suffixes: &[&str]) -> Vec<DatabaseUrl> {
    suffixes.iter().map(|suffix| copy(source, suffix)).collect()
}

/// A fresh copy of the source, named after it with `suffix`, replacing an older one.
pub fn copy(source: &DatabaseUrl, suffix: &str) -> DatabaseUrl {
    match source {
        DatabaseUrl::Sqlite(path) => {
            let mut conn = diesel::SqliteConnection::establish(path.to_str().unwrap()).unwrap();
            conn.batch_execute("PRAGMA wal_checkpoint(TRUNCATE)").unwrap();
            drop(conn);
            let copy = path.with_extension(format!("{suffix}.db"));
            for ending in ["", "-wal", "-shm"] {
                let _ = std::fs::remove_file(format!("{}{ending}", copy.display()));
            }
            std::fs::copy(path, &copy).unwrap();
            DatabaseUrl::Sqlite(copy)
        }
        DatabaseUrl::Postgres(url) => {
            let parsed = url::Url::parse(url).unwrap();
            let name = parsed.path().trim_start_matches('/').to_owned();
            let mut admin_url = parsed.clone();
            admin_url.set_path("/postgres");
            let mut admin = PgConnection::establish(admin_url.as_str()).unwrap();
            let copy = format!("{name}_{suffix}");
            admin
                .batch_execute(&format!("DROP DATABASE IF EXISTS {copy} WITH (FORCE)"))
                .unwrap();
            admin
                .batch_execute(&format!("CREATE DATABASE {copy} TEMPLATE {name}"))
                .unwrap();
            let mut copy_url = parsed.clone();
            copy_url.set_path(&format!("/{copy}"));
            DatabaseUrl::Postgres(copy_url.to_string())
        }
    }
}

pub fn engine_name(url: &DatabaseUrl) -> &'static str {
    match url {
        DatabaseUrl::Sqlite(_) => "SQLite",
        DatabaseUrl::Postgres(_) => "PostgreSQL",
    }
}

pub struct Outcome {
    pub customers: i64,
    pub events: i64,
    pub seconds: f64,
    pub preview_seconds: f64,
    /// When the deletion ended, for timing what follows it.
    pub ended: Instant,
}

/// A pool like the server's: its connections carry the audit chain's seal, so the
/// product's erasures can append their entries.
pub fn pool_for(url: &DatabaseUrl) -> Database {
    let secret = SecretKey::from_configured(SECRET).unwrap();
    let seal = erasure::store::audit::AuditSeal::new(&secret, &tempfile_dir());
    let pool = build_pool_attaching(
        url,
        PoolSettings {
            max_size: 4,
            connection_timeout: std::time::Duration::from_secs(30),
        },
        Some(seal.for_each_connection()),
    )
    .expect("a pool");
    let backend = match url {
        DatabaseUrl::Sqlite(_) => Backend::Sqlite,
        DatabaseUrl::Postgres(_) => Backend::Postgres,
    };
    Database::new(pool, backend)
}

/// The cohort's condition, as the product's "last seen until" filter means it.
pub fn cohort_condition(until: Option<chrono::NaiveDate>) -> String {
    match until {
        Some(date) => format!(
            "workspace_id = 1 AND last_seen_at < '{} 00:00:00'",
            date.succ_opt().unwrap()
        ),
        None => "workspace_id = 1".to_owned(),
    }
}

/// The product: freeze the cohort as a preview, confirm it, and let the job runner
/// erase it batch by batch.
pub fn product_delete(url: &DatabaseUrl, until: Option<chrono::NaiveDate>) -> Outcome {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let database = pool_for(url);
        let dir = tempfile_dir();
        let mut settings = Settings::for_database(url.clone(), dir.clone());
        if let Ok(size) = std::env::var("JOB_BATCH_SIZE") {
            settings.job_batch_size = size.parse().expect("a number");
        }
        let settings = Arc::new(settings);
        let secret = SecretKey::from_configured(SECRET).unwrap();
        let mailer = Mailer::new(None, dir.join("outbox"), "Erasure <erasure@localhost>").unwrap();
        let (kind, selection) = match until {
            Some(date) => (
                JobKind::Delete,
                Selection::Filter(CustomerFilter::from_query_string(&format!("seen_to={date}")).unwrap()),
            ),
            None => (JobKind::DeleteAll, Selection::All),
        };
        let preview_started = Instant::now();
        let job = database
            .run(move |conn| {
                let workspace = store::workspaces::find(conn, 1)?
                    .ok_or_else(|| erasure::store::StoreError::Inconsistent("no workspace 1".into()))?;
                let job = create_preview(conn, &workspace, 1, kind, &selection)?;
                store::jobs::confirm(conn, job.id, false)?;
                Ok::<_, erasure::erasure::ErasureError>(job)
            })
            .await
            .unwrap();
        let preview_seconds = preview_started.elapsed().as_secs_f64();
        let runner = JobRunner::new(database.clone(), secret, mailer, settings);
        let started = Instant::now();
        assert!(runner.run_next().await.unwrap(), "the job ran");
        let ended = Instant::now();
        let seconds = (ended - started).as_secs_f64();
        let job_id = job.id;
        let done = database
            .run(move |conn| store::jobs::get(conn, job_id))
            .await
            .unwrap();
        Outcome {
            customers: done.done,
            events: done.events_removed,
            seconds,
            preview_seconds,
            ended,
        }
    })
}

pub fn tempfile_dir() -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("erasure-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}
