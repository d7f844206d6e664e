//! The audit export of a long log streams: a real `erasure serve` exports 100,000
//! entries as CSV and as JSON Lines while its peak memory grows by a bounded amount,
//! far below what holding the rows or the body would take.

use std::time::Duration;

use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use erasure::db::schema::audit_log;
use erasure::db::{DatabaseUrl, DbConnection};
use erasure::domain::AuditAction;
use erasure::store::audit::{AuditEntry, ChainKey, EntryFields, GENESIS_HASH, KEYED_PREFIX};
use futures_util::StreamExt;

use super::helpers::{Backend, TestDatabase, OWNER_EMAIL, OWNER_PASSWORD};
use super::server::{cli, Server};
use super::{scalar, sign_in, WORKSPACE};

crate::on_both_backends!(exporting_100000_entries_streams_in_bounded_memory);

const ENTRIES: i64 = 100_000;
/// Rows per INSERT statement while filling the log.
const FILL_BATCH: i64 = 1000;

/// Connections in the server's pool for this test. On SQLite each connection that
/// serves an export page fills its own page cache (`cache_size` is 8 MB), a constant
/// that has nothing to do with the export; two connections cap it at 16 MB whichever
/// of them the pages land on.
const POOL_SIZE: &str = "2";

/// How much the server's peak RSS may grow over both exports. What it may hold does
/// not depend on the log's length: one export page (1,000 rows, about 0.5 MB as rows
/// and again as text), the HTTP write buffer, and on SQLite the page caches (16 MB at
/// most, above). Measured: 4 MB on PostgreSQL, 12 MB on SQLite. Holding the log
/// instead would take 53 MB as `AuditEntry` values, 32 MB as the CSV body and 47 MB as
/// the JSON Lines body (measured below and printed with the result), each of them
/// beyond this bound.
const BOUND_BYTES: u64 = 24 * 1024 * 1024;

/// `VmHWM` (peak resident set) and `VmRSS` of a process, in bytes.
fn memory_of(pid: u32) -> (u64, u64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("the server's /proc status");
    let field = |name: &str| {
        status
            .lines()
            .find_map(|line| line.strip_prefix(name))
            .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
            .unwrap_or_else(|| panic!("no {name} in /proc/{pid}/status"))
            * 1024
    };
    (field("VmHWM:"), field("VmRSS:"))
}

/// Starts the process's `VmHWM` over from its current RSS (Linux's `clear_refs` 5), so
/// that the next reading is the peak of what happens from now on, not of start-up.
fn reset_peak(pid: u32) {
    std::fs::write(format!("/proc/{pid}/clear_refs"), "5").expect("reset the server's peak RSS");
}

fn megabytes(bytes: u64) -> String {
    format!("{:.1} MB", bytes as f64 / (1024.0 * 1024.0))
}

fn connect(database: &TestDatabase) -> DbConnection {
    match &database.url {
        DatabaseUrl::Sqlite(path) => {
            let mut conn = diesel::SqliteConnection::establish(path.to_str().unwrap()).unwrap();
            // The server holds connections to the same file; wait for its locks.
            conn.batch_execute("PRAGMA busy_timeout = 15000").unwrap();
            DbConnection::Sqlite(conn)
        }
        DatabaseUrl::Postgres(url) => DbConnection::Postgres(diesel::PgConnection::establish(url).unwrap()),
    }
}

fn execute(conn: &mut DbConnection, sql: &str) {
    match conn {
        DbConnection::Sqlite(c) => c.batch_execute(sql),
        DbConnection::Postgres(c) => c.batch_execute(sql),
    }
    .unwrap_or_else(|e| panic!("{}…: {e}", &sql[..sql.len().min(200)]));
}

/// Appends `count` entries chained to the log's last one, in one transaction: the
/// hashes are sealed as the store seals them, with the server's key, so the chain
/// verifies, and the statements carry a thousand rows each, so that filling takes
/// seconds.
fn fill(database: &TestDatabase, workspace_id: i64, count: i64) {
    let key = ChainKey::new(&erasure::secret::SecretKey::from_configured(super::server::SECRET).unwrap());
    let mut conn = connect(database);
    let begin = match conn {
        DbConnection::Sqlite(_) => "BEGIN IMMEDIATE",
        // The store's appends take this lock; holding it keeps the chain linear.
        DbConnection::Postgres(_) => "BEGIN; SELECT pg_advisory_xact_lock(7261001)",
    };
    execute(&mut conn, begin);
    let last: Option<(i64, String)> = audit_log::table
        .order(audit_log::id.desc())
        .select((audit_log::id, audit_log::hash))
        .first(&mut conn)
        .optional()
        .unwrap();
    let (mut id, mut prev_hash) = last.unwrap_or((0, GENESIS_HASH.to_owned()));
    let created_at = erasure::store::now();
    let stamp = created_at.format("%Y-%m-%d %H:%M:%S%.6f").to_string();
    let actions = AuditAction::ALL;
    let mut remaining = count;
    while remaining > 0 {
        let batch = remaining.min(FILL_BATCH);
        let mut values = Vec::with_capacity(batch as usize);
        for _ in 0..batch {
            id += 1;
            let action = actions[(id as usize) % actions.len()].key();
            let target = format!("customer:{}", 1_000_000 + id);
            let selection = format!("customer #{}", 1_000_000 + id);
            let details = format!(
                r#"{{"events_removed":{},"receipt":"r{id:012}","suppressed":false}}"#,
                id % 7
            );
            let request_id = format!("req{id:013}");
            let client_ip = "203.0.113.7";
            let hash = key.seal(&EntryFields {
                id,
                created_at,
                workspace_id: Some(workspace_id),
                actor_kind: "user",
                actor_id: Some(1),
                action,
                target: &target,
                selection: &selection,
                affected: 1,
                details: &details,
                request_id: &request_id,
                client_ip,
                prev_hash: &prev_hash,
            });
            values.push(format!(
                "({id}, '{stamp}', {workspace_id}, 'user', 1, '{action}', '{target}', '{selection}', 1, \
                 '{details}', '{request_id}', '{client_ip}', '{prev_hash}', '{hash}')"
            ));
            prev_hash = hash;
        }
        execute(
            &mut conn,
            &format!(
                "INSERT INTO audit_log (id, created_at, workspace_id, actor_kind, actor_id, action, target, \
                 selection, affected, details, request_id, client_ip, prev_hash, hash) VALUES {}",
                values.join(", ")
            ),
        );
        remaining -= batch;
    }
    execute(&mut conn, "COMMIT");
}

/// What holding the log in memory would take: every entry as an `AuditEntry` (read
/// here a page at a time, so that the measurement itself stays small).
fn bytes_as_rows(database: &TestDatabase) -> u64 {
    let mut conn = connect(database);
    let mut after = 0;
    let mut total = 0u64;
    loop {
        let page = erasure::store::audit::page_after(&mut conn, after, 10_000).unwrap();
        let Some(last) = page.last() else { break };
        after = last.id;
        for e in &page {
            total += (std::mem::size_of::<AuditEntry>()
                + e.actor_kind.capacity()
                + e.action.capacity()
                + e.target.capacity()
                + e.selection.capacity()
                + e.details.capacity()
                + e.request_id.capacity()
                + e.client_ip.capacity()
                + e.prev_hash.capacity()
                + e.hash.capacity()) as u64;
        }
    }
    total
}

/// What one streamed export held.
struct Streamed {
    rows: i64,
    bytes: u64,
    /// The most bytes of an unfinished line carried between chunks.
    largest_carry: usize,
}

/// Reads an export chunk by chunk, keeping only the unfinished last line; checks each
/// row (ids strictly decreasing, newest first) as it goes.
async fn stream_export(client: &reqwest::Client, url: &str, csv: bool) -> Streamed {
    let response = client.get(url).send().await.unwrap();
    assert_eq!(response.status(), 200, "{url}");
    let mut body = response.bytes_stream();
    let mut carry: Vec<u8> = Vec::new();
    let mut streamed = Streamed {
        rows: 0,
        bytes: 0,
        largest_carry: 0,
    };
    let mut header_seen = !csv;
    let mut previous_id = i64::MAX;
    while let Some(chunk) = body.next().await {
        let chunk = chunk.unwrap_or_else(|e| panic!("{url}: the body broke off: {e}"));
        streamed.bytes += chunk.len() as u64;
        carry.extend_from_slice(&chunk);
        let mut start = 0;
        while let Some(end) = carry[start..].iter().position(|b| *b == b'\n') {
            let line = std::str::from_utf8(&carry[start..start + end]).expect("UTF-8 lines");
            start += end + 1;
            if !header_seen {
                assert!(line.starts_with("id,created_at,"), "the CSV header: {line}");
                header_seen = true;
                continue;
            }
            let id = if csv {
                line.split(',').next().and_then(|id| id.parse::<i64>().ok())
            } else {
                serde_json::from_str::<serde_json::Value>(line)
                    .ok()
                    .filter(|row| {
                        row["hash"].as_str().is_some_and(|h| {
                            h.starts_with(KEYED_PREFIX) && h.len() == KEYED_PREFIX.len() + 64
                        })
                    })
                    .and_then(|row| row["id"].as_i64())
            };
            let id = id.unwrap_or_else(|| panic!("{url}: not an entry: {line}"));
            assert!(id < previous_id, "{url}: {id} after {previous_id}");
            previous_id = id;
            streamed.rows += 1;
        }
        carry.drain(..start);
        streamed.largest_carry = streamed.largest_carry.max(carry.len());
    }
    assert!(carry.is_empty(), "{url}: the body ends mid-line");
    streamed
}

async fn exporting_100000_entries_streams_in_bounded_memory(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let database = TestDatabase::create(&backend, dir.path());
    let url = database.url_string();
    let data = dir.path().join("data");
    cli(
        &url,
        &data,
        &[
            "create-owner",
            "--email",
            OWNER_EMAIL,
            "--name",
            "Olivia Owner",
            "--password-stdin",
            "--workspace",
            "Acme Shop",
        ],
        Some(OWNER_PASSWORD),
    );
    let server = Server::start(&url, &data, &[("DB_POOL_SIZE", POOL_SIZE)]).await;
    let client = reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(180))
        .build()
        .unwrap();
    sign_in(&server, &client).await;
    let csv_url = server.url(&format!("/w/{WORKSPACE}/audit/export.csv"));
    let jsonl_url = server.url(&format!("/w/{WORKSPACE}/audit/export.jsonl"));
    // Warm up: the first export of each kind, over the short log, sets up what any
    // request needs once (buffers, pooled connections, lazily built state).
    stream_export(&client, &csv_url, true).await;
    stream_export(&client, &jsonl_url, false).await;

    let workspace_id = scalar(
        &database,
        &format!("SELECT id AS n FROM workspaces WHERE slug = '{WORKSPACE}'"),
    );
    let filling = std::time::Instant::now();
    fill(&database, workspace_id, ENTRIES);
    let filled_in = filling.elapsed();
    // The owner's export shows the workspace's entries and the account's own.
    let expected = scalar(
        &database,
        &format!(
            "SELECT COUNT(*) AS n FROM audit_log WHERE workspace_id = {workspace_id} OR workspace_id IS NULL"
        ),
    );
    assert!(expected >= ENTRIES, "{expected} entries to export");

    reset_peak(server.pid());
    let (peak_before, rss_before) = memory_of(server.pid());
    let csv = stream_export(&client, &csv_url, true).await;
    let (peak_after_csv, _) = memory_of(server.pid());
    let jsonl = stream_export(&client, &jsonl_url, false).await;
    let (peak_after, rss_after) = memory_of(server.pid());

    assert_eq!(csv.rows, expected, "every entry in the CSV export");
    assert_eq!(jsonl.rows, expected, "every entry in the JSON Lines export");

    let as_rows = bytes_as_rows(&database);
    let growth = peak_after.saturating_sub(peak_before);
    eprintln!(
        "audit export of {expected} entries ({backend:?}): filled in {filled_in:?}; server peak RSS \
         {} → {} after CSV → {} after JSON Lines (growth {}; RSS {} → {}); bodies CSV {} and JSON Lines {}; \
         the rows in memory would take {}; the client carried at most {} bytes",
        megabytes(peak_before),
        megabytes(peak_after_csv),
        megabytes(peak_after),
        megabytes(growth),
        megabytes(rss_before),
        megabytes(rss_after),
        megabytes(csv.bytes),
        megabytes(jsonl.bytes),
        megabytes(as_rows),
        csv.largest_carry.max(jsonl.largest_carry),
    );
    // The bound must mean something: it is below what holding the rows, or even the
    // smaller of the two bodies, would cost.
    assert!(
        BOUND_BYTES < as_rows.min(csv.bytes),
        "the bound ({}) is no test: the rows take {} and the CSV body {}",
        megabytes(BOUND_BYTES),
        megabytes(as_rows),
        megabytes(csv.bytes)
    );
    assert!(
        growth < BOUND_BYTES,
        "the server's peak RSS grew by {} while exporting (bound {})",
        megabytes(growth),
        megabytes(BOUND_BYTES)
    );

    // The entries were real and chained: the log verifies end to end.
    let verified = cli(&url, &data, &["audit", "verify"], None);
    assert!(
        verified.contains(&format!(
            "intact: {} entries",
            scalar(&database, "SELECT COUNT(*) AS n FROM audit_log")
        )),
        "{verified}"
    );
}
