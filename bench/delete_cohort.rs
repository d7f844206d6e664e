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

mod common;

use std::time::Instant;

use diesel::{Connection, RunQueryDsl};
use erasure::db::{DatabaseUrl, DbConnection};
use erasure::store;

use common::{cohort_condition, copies, engine_name, pool_for, product_delete, Outcome};

fn main() {
    // As the server does: the peak memory measured is the server's.
    erasure::memory::limit_malloc_arenas();
    let args: Vec<String> = std::env::args().skip(1).filter(|a| a != "--bench").collect();
    let (Some(source), Some(cohort)) = (args.first(), args.get(1)) else {
        eprintln!("usage: delete_cohort DATABASE_URL (YYYY-MM-DD | all)");
        std::process::exit(2);
    };
    let source = DatabaseUrl::parse(source).expect("a database URL");
    let mut urls = copies(&source, &["product", "raw"]);
    let (product_url, raw_url) = (urls.remove(0), urls.remove(0));
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
        engine_name(&source),
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
        ended: Instant::now(),
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
        ended: Instant::now(),
    }
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
