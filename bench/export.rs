//! The access export of one customer with 100,000 events: how fast JSON and HTML are
//! written to a file, and how much the process's memory grows meanwhile (the export
//! streams; its memory must not grow with the events).
//!
//!   cargo bench --bench export
//!   cargo bench --bench export -- postgres://postgres@127.0.0.1:5432/erasure_bench_export
//!
//! SQLite runs on a fresh file in the temporary folder; a PostgreSQL database named in
//! the URL is dropped and created again. Targets: at least 20 MB/s, peak growth under
//! 32 MB.

use std::io::{BufWriter, Write};
use std::path::Path;
use std::time::{Duration, Instant};

use diesel::connection::SimpleConnection;
use diesel::{Connection, ExpressionMethods, PgConnection, RunQueryDsl};
use erasure::db::schema::customers;
use erasure::db::{build_pool, DatabaseUrl, DbConnection, PoolSettings};
use erasure::requests::export::{write_html, write_json, ExportCounts, ExportError};
use erasure::store::workspaces::{self, Workspace};

const EVENTS: i64 = 100_000;
const RUNS: usize = 3;

type Export = fn(
    &mut DbConnection,
    &Workspace,
    &[i64],
    &mut BufWriter<std::fs::File>,
) -> Result<ExportCounts, ExportError>;

fn main() {
    erasure::memory::limit_malloc_arenas();
    let args: Vec<String> = std::env::args().skip(1).filter(|a| a != "--bench").collect();
    let dir = std::env::temp_dir().join(format!("erasure-bench-export-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let url = match args.first() {
        Some(url) => DatabaseUrl::parse(url).expect("a database URL"),
        None => DatabaseUrl::Sqlite(dir.join("export.db")),
    };
    if let DatabaseUrl::Postgres(url) = &url {
        recreate_postgres(url);
    }
    let pool = build_pool(
        &url,
        PoolSettings {
            max_size: 1,
            connection_timeout: Duration::from_secs(30),
        },
    )
    .expect("a pool");
    let mut conn = pool.get().unwrap();
    erasure::db::run_migrations(&mut conn).unwrap();
    let started = Instant::now();
    let (workspace, customer) = seed(&mut conn);
    eprintln!(
        "seeded {EVENTS} events in {:.1} s",
        started.elapsed().as_secs_f64()
    );

    println!("| engine | format | events | size | time (median of {RUNS}) | throughput | peak RSS growth |");
    println!("| --- | --- | --- | --- | --- | --- | --- |");
    let formats: [(&str, Export, &str); 2] = [("JSON", write_json, "json"), ("HTML", write_html, "html")];
    for (name, export, extension) in formats {
        let path = dir.join(format!("export.{extension}"));
        let mut seconds = Vec::new();
        let mut growth_mb: f64 = 0.0;
        let mut counts = ExportCounts::default();
        for _ in 0..RUNS {
            let (took, grew, written) = measure(&mut conn, &workspace, customer, export, &path);
            seconds.push(took);
            growth_mb = growth_mb.max(grew);
            counts = written;
        }
        assert_eq!(counts.events, EVENTS as u64, "every event exported");
        assert_eq!(std::fs::metadata(&path).unwrap().len(), counts.bytes);
        seconds.sort_by(f64::total_cmp);
        let median = seconds[RUNS / 2];
        let megabytes = counts.bytes as f64 / 1e6;
        println!(
            "| {} | {name} | {} | {:.1} MB | {:.2} s | {:.1} MB/s | {:.1} MB |",
            match url {
                DatabaseUrl::Sqlite(_) => "SQLite",
                DatabaseUrl::Postgres(_) => "PostgreSQL",
            },
            counts.events,
            megabytes,
            median,
            megabytes / median,
            growth_mb,
        );
    }
    drop(conn);
    drop(pool);
    let _ = std::fs::remove_dir_all(&dir);
}

/// One export to a file: seconds, how far the resident memory's peak rose above what
/// was resident before, and what was written.
fn measure(
    conn: &mut DbConnection,
    workspace: &Workspace,
    customer: i64,
    export: Export,
    path: &Path,
) -> (f64, f64, ExportCounts) {
    reset_peak_rss();
    let before = status_kb("VmRSS:");
    let started = Instant::now();
    let mut out = BufWriter::new(std::fs::File::create(path).unwrap());
    let counts = export(conn, workspace, &[customer], &mut out).unwrap();
    out.flush().unwrap();
    let seconds = started.elapsed().as_secs_f64();
    let peak = status_kb("VmHWM:");
    (seconds, peak.saturating_sub(before) as f64 / 1024.0, counts)
}

/// One workspace, one customer, and their events: one a minute, with properties of the
/// size a web or app event carries (about 200 bytes).
fn seed(conn: &mut DbConnection) -> (Workspace, i64) {
    let workspace = workspaces::insert(conn, "Bench", "bench", "site-bench").unwrap();
    let now = chrono::Utc::now().naive_utc();
    let customer: i64 = diesel::insert_into(customers::table)
        .values((
            customers::workspace_id.eq(workspace.id),
            customers::external_id.eq("customer-1"),
            customers::email.eq("ada@example.com"),
            customers::name.eq("Ada Lovelace"),
            customers::country.eq("GB"),
            customers::city.eq("London"),
            customers::attributes.eq(r#"{"plan":"pro","signup_source":"ads"}"#),
            customers::created_at.eq(now),
            customers::last_seen_at.eq(now),
        ))
        .returning(customers::id)
        .get_result(conn)
        .unwrap();
    let properties = "'{\"page\":\"/products/' || i || '\",\"referrer\":\"https://www.example.com/search?q=winter+shoes\",\
        \"campaign\":\"winter-sale-2026\",\"device\":{\"os\":\"iOS 17.2\",\"model\":\"iPhone 15\",\"screen\":\"1179x2556\"},\
        \"value\":' || (i % 500) || '.95,\"currency\":\"EUR\"}'";
    let occurred_at = match conn {
        DbConnection::Sqlite(_) => "datetime('2025-01-01 00:00:00', '+' || i || ' minutes')",
        DbConnection::Postgres(_) => "timestamp '2025-01-01 00:00:00' + i * interval '1 minute'",
    };
    diesel::sql_query(format!(
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {EVENTS}) \
         INSERT INTO events (workspace_id, customer_id, name, properties, occurred_at) \
         SELECT {ws}, {customer}, CASE i % 3 WHEN 0 THEN 'page_view' WHEN 1 THEN 'add_to_cart' ELSE 'purchase' END, \
                {properties}, {occurred_at} FROM n",
        ws = workspace.id,
    ))
    .execute(conn)
    .unwrap();
    match conn {
        DbConnection::Sqlite(c) => c
            .batch_execute("ANALYZE; PRAGMA wal_checkpoint(TRUNCATE)")
            .unwrap(),
        DbConnection::Postgres(c) => c.batch_execute("VACUUM ANALYZE events").unwrap(),
    }
    (workspace, customer)
}

fn recreate_postgres(url: &str) {
    let parsed = url::Url::parse(url).unwrap();
    let name = parsed.path().trim_start_matches('/').to_owned();
    let mut admin_url = parsed.clone();
    admin_url.set_path("/postgres");
    let mut admin = PgConnection::establish(admin_url.as_str()).unwrap();
    // Apart: neither may run inside the transaction that one multi-statement string is.
    admin
        .batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        .unwrap();
    admin.batch_execute(&format!("CREATE DATABASE {name}")).unwrap();
}

/// Starts the kernel's count of the peak resident memory afresh (Linux 4.0 on), so
/// that the peak read after an export is the export's.
fn reset_peak_rss() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

fn status_kb(field: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find(|line| line.starts_with(field))
                .and_then(|line| line.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<u64>().ok())
        })
        .unwrap_or(0)
}
