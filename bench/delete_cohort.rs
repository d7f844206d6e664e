//! Bulk deletion against the physical limit: the same rows deleted by the product's
//! job (preview, frozen targets, batches with their bookkeeping, the final flush)
//! and by hand-written SQL, each on its own copy of one database, in the same run.
//!
//!   cargo bench --bench delete_cohort -- sqlite:///tmp/bench/erasure.db 2025-12-01
//!   cargo bench --bench delete_cohort -- sqlite:///tmp/bench/erasure.db all
//!   cargo bench --bench delete_cohort -- postgres://postgres@127.0.0.1/erasure_bench 2025-12-01
//!
//! The second argument is a "last seen until" date (the cohort: customers of workspace
//! `bench` last seen on or before it), or `all` for delete-all.

use std::sync::Arc;
use std::time::Instant;

use diesel::connection::SimpleConnection;
use diesel::{Connection, PgConnection, RunQueryDsl};
use erasure::config::Settings;
use erasure::db::{build_pool_attaching, Backend, Database, DatabaseUrl, DbConnection, PoolSettings};
use erasure::domain::{CustomerFilter, JobKind};
use erasure::erasure::preview::{create_preview, Selection};
use erasure::erasure::runner::JobRunner;
use erasure::mail::Mailer;
use erasure::secret::SecretKey;
use erasure::store;

fn main() {
    // As the server does: the peak memory measured is the server's.
    erasure::memory::limit_malloc_arenas();
    let args: Vec<String> = std::env::args().skip(1).filter(|a| a != "--bench").collect();
    let (Some(source), Some(cohort)) = (args.first(), args.get(1)) else {
        eprintln!("usage: delete_cohort DATABASE_URL (YYYY-MM-DD | all)");
        std::process::exit(2);
    };
    let source = DatabaseUrl::parse(source).expect("a database URL");
    let (product_url, raw_url) = copies(&source);
    let all = cohort == "all";
    let until = (!all).then(|| chrono::NaiveDate::parse_from_str(cohort, "%Y-%m-%d").expect("a date"));

    // The product first, so that its peak memory is its own.
    let product = product_delete(&product_url, until);
    let product_peak = peak_rss_mb();
    let raw = raw_delete(&raw_url, until);

    println!("| engine | cohort | customers | events | hand-written SQL | product job | ratio | preview (freeze) | peak RSS |");
    println!("| --- | --- | --- | --- | --- | --- | --- | --- | --- |");
    println!(
        "| {} | {} | {} | {} | {:.2} s | {:.2} s | {:.2}× | {:.2} s | {} MB |",
        match source {
            DatabaseUrl::Sqlite(_) => "SQLite",
            DatabaseUrl::Postgres(_) => "PostgreSQL",
        },
        if all {
            "delete all".to_owned()
        } else {
            format!("last seen ≤ {cohort}")
        },
        product.customers,
        product.events,
        raw.seconds,
        product.seconds,
        product.seconds / raw.seconds,
        product.preview_seconds,
        product_peak,
    );
    assert_eq!(
        raw.customers, product.customers,
        "both deleted the same customers"
    );
    assert_eq!(raw.events, product.events, "and the same events");
}

/// Two copies of the source: one for the product, one for the hand-written SQL.
fn copies(source: &DatabaseUrl) -> (DatabaseUrl, DatabaseUrl) {
    match source {
        DatabaseUrl::Sqlite(path) => {
            let mut conn = diesel::SqliteConnection::establish(path.to_str().unwrap()).unwrap();
            conn.batch_execute("PRAGMA wal_checkpoint(TRUNCATE)").unwrap();
            drop(conn);
            let product = path.with_extension("product.db");
            let raw = path.with_extension("raw.db");
            for copy in [&product, &raw] {
                for suffix in ["", "-wal", "-shm"] {
                    let _ = std::fs::remove_file(format!("{}{suffix}", copy.display()));
                }
                std::fs::copy(path, copy).unwrap();
            }
            (DatabaseUrl::Sqlite(product), DatabaseUrl::Sqlite(raw))
        }
        DatabaseUrl::Postgres(url) => {
            let parsed = url::Url::parse(url).unwrap();
            let name = parsed.path().trim_start_matches('/').to_owned();
            let mut admin_url = parsed.clone();
            admin_url.set_path("/postgres");
            let mut admin = PgConnection::establish(admin_url.as_str()).unwrap();
            let mut urls = Vec::new();
            for suffix in ["product", "raw"] {
                let copy = format!("{name}_{suffix}");
                admin
                    .batch_execute(&format!("DROP DATABASE IF EXISTS {copy} WITH (FORCE)"))
                    .unwrap();
                admin
                    .batch_execute(&format!("CREATE DATABASE {copy} TEMPLATE {name}"))
                    .unwrap();
                let mut copy_url = parsed.clone();
                copy_url.set_path(&format!("/{copy}"));
                urls.push(DatabaseUrl::Postgres(copy_url.to_string()));
            }
            (urls.remove(0), urls.remove(0))
        }
    }
}

struct Outcome {
    customers: i64,
    events: i64,
    seconds: f64,
    preview_seconds: f64,
}

const SECRET: &str = "benchmark-secret-key-0123456789abcdef";

/// A pool like the server's: its connections carry the audit chain's seal, so the
/// product's erasures can append their entries.
fn pool_for(url: &DatabaseUrl) -> Database {
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
fn cohort_condition(until: Option<chrono::NaiveDate>) -> String {
    match until {
        Some(date) => format!(
            "workspace_id = 1 AND last_seen_at < '{} 00:00:00'",
            date.succ_opt().unwrap()
        ),
        None => "workspace_id = 1".to_owned(),
    }
}

/// The physical limit: two DELETEs in one transaction with the product's pragmas, then
/// the same flush the product does after a bulk erasure.
fn raw_delete(url: &DatabaseUrl, until: Option<chrono::NaiveDate>) -> Outcome {
    let database = pool_for(url);
    let mut conn = database.pool().get().unwrap();
    let condition = cohort_condition(until);
    let started = Instant::now();
    if let Some(batch) = std::env::var("BENCH_RAW_BATCH")
        .ok()
        .and_then(|b| b.parse::<usize>().ok())
    {
        return raw_delete_in_batches(&mut conn, &condition, batch, started);
    }
    let (customers, events) = match &mut **conn {
        DbConnection::Sqlite(c) => c
            .immediate_transaction(|c| {
                let events = diesel::sql_query(format!(
                    "DELETE FROM events WHERE customer_id IN (SELECT id FROM customers WHERE {condition})"
                ))
                .execute(c)?;
                let customers =
                    diesel::sql_query(format!("DELETE FROM customers WHERE {condition}")).execute(c)?;
                Ok::<_, diesel::result::Error>((customers, events))
            })
            .unwrap(),
        DbConnection::Postgres(c) => c
            .transaction(|c| {
                let events = diesel::sql_query(format!(
                    "DELETE FROM events WHERE customer_id IN (SELECT id FROM customers WHERE {condition})"
                ))
                .execute(c)?;
                let customers =
                    diesel::sql_query(format!("DELETE FROM customers WHERE {condition}")).execute(c)?;
                Ok::<_, diesel::result::Error>((customers, events))
            })
            .unwrap(),
    };
    store::erasures::flush_erased_pages(&mut conn, true).unwrap();
    Outcome {
        customers: customers as i64,
        events: events as i64,
        seconds: started.elapsed().as_secs_f64(),
        preview_seconds: 0.0,
    }
}

/// For finding where the product's time goes: the same DELETEs, a batch of ids per
/// transaction, with nothing else around them.
fn raw_delete_in_batches(
    conn: &mut DbConnection,
    condition: &str,
    batch: usize,
    started: Instant,
) -> Outcome {
    #[derive(diesel::QueryableByName)]
    struct Id {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        id: i64,
    }
    let ids: Vec<i64> = diesel::sql_query(format!("SELECT id FROM customers WHERE {condition} ORDER BY id"))
        .load::<Id>(conn)
        .unwrap()
        .into_iter()
        .map(|r| r.id)
        .collect();
    let (mut customers, mut events) = (0, 0);
    for chunk in ids.chunks(batch) {
        let list = chunk.iter().map(|i| i.to_string()).collect::<Vec<_>>().join(",");
        erasure::db::write_transaction(conn, |c| {
            events +=
                diesel::sql_query(format!("DELETE FROM events WHERE customer_id IN ({list})")).execute(c)?;
            customers +=
                diesel::sql_query(format!("DELETE FROM customers WHERE id IN ({list})")).execute(c)?;
            Ok::<_, diesel::result::Error>(())
        })
        .unwrap();
    }
    store::erasures::flush_erased_pages(conn, true).unwrap();
    Outcome {
        customers: customers as i64,
        events: events as i64,
        seconds: started.elapsed().as_secs_f64(),
        preview_seconds: 0.0,
    }
}

/// The product: freeze the cohort as a preview, confirm it, and let the job runner
/// erase it batch by batch.
fn product_delete(url: &DatabaseUrl, until: Option<chrono::NaiveDate>) -> Outcome {
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
        let seconds = started.elapsed().as_secs_f64();
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
        }
    })
}

fn tempfile_dir() -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("erasure-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The process's peak resident memory, from the kernel.
fn peak_rss_mb() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<u64>().ok())
        })
        .map(|kb| kb / 1024)
        .unwrap_or(0)
}
