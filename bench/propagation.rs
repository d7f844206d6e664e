//! Telling destinations: the same filtered deletion by the product's job without
//! destinations (A) and with two destinations subscribed to `customer.deleted` (B),
//! interleaved A, B, A, B on fresh copies of one database, then the time until a
//! deliverer started after B's job has delivered every event to a receiver on loopback.
//!
//!   cargo bench --bench propagation -- sqlite:///tmp/bench-prop/erasure.db 2026-03-01
//!   cargo bench --bench propagation -- postgres://postgres@127.0.0.1/erasure_bench_prop 2026-03-01
//!
//! The second argument is a "last seen until" date: the cohort is the customers of
//! workspace `bench` last seen on or before it. `ROUNDS=N` runs N pairs (2 unless set).
//!
//! After each B run, the events of the same customers are written once more, alone,
//! one call a thousand customers in a transaction rolled back: what the destinations
//! add to the job, without the deletion around it.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use diesel::prelude::*;
use erasure::config::Settings;
use erasure::db::{DatabaseUrl, DbConnection};
use erasure::domain::{DestinationEvent, DestinationEvents};
use erasure::erasure::outgoing::{self, ErasedCustomer, JobRef, Told, CUSTOMERS_PER_EVENT};
use erasure::mail::Mailer;
use erasure::propagation::deliverer::Deliverer;
use erasure::propagation::signing_keys::new_nonce;
use erasure::secret::SecretKey;
use erasure::store;
use erasure::store::destinations::DestinationFields;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};

use common::{cohort_condition, copy, engine_name, pool_for, product_delete, tempfile_dir, SECRET};

/// The destinations of the runs that have them, each a path of the receiver.
const DESTINATIONS: [&str; 2] = ["/warehouse", "/crm"];
/// Beyond this, delivery counts as stuck and the benchmark stops.
const DELIVERY_LIMIT: Duration = Duration::from_secs(600);

fn main() {
    erasure::memory::limit_malloc_arenas();
    let args: Vec<String> = std::env::args().skip(1).filter(|a| a != "--bench").collect();
    let (Some(source), Some(cohort)) = (args.first(), args.get(1)) else {
        eprintln!("usage: propagation DATABASE_URL YYYY-MM-DD");
        std::process::exit(2);
    };
    let source = DatabaseUrl::parse(source).expect("a database URL");
    let until = chrono::NaiveDate::parse_from_str(cohort, "%Y-%m-%d").expect("a date");

    // The receiver and the deliverer run here; the job on a runtime of its own, as in
    // `delete_cohort`.
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let received: Arc<Mutex<Vec<Received>>> = Arc::default();
    let listener = runtime
        .block_on(TcpListener::bind("127.0.0.1:0"))
        .expect("a loopback port");
    let receiver = format!("http://{}", listener.local_addr().unwrap());
    runtime.spawn(receive(listener, received.clone()));

    println!("{}, last seen ≤ {cohort}", engine_name(&source));
    println!();
    println!("| run | destinations | customers | events | outbox events | preview (freeze) | product job | writing the events alone | all delivered after the job | requests | load (1 min) |");
    println!("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |");
    let mut without = Vec::new();
    let mut with = Vec::new();
    let mut delivered_within = Vec::new();
    let rounds: usize = std::env::var("ROUNDS").map_or(2, |r| r.parse().expect("a number of rounds"));
    for (round, told) in (1..=rounds).flat_map(|round| [(round, false), (round, true)]) {
        let label = format!("{}{round}", if told { "b" } else { "a" });
        let url = copy(&source, &label);
        let cohort_before = if told {
            add_destinations(&url, &receiver);
            cohort_ids(&url, until)
        } else {
            BTreeSet::new()
        };
        let outcome = product_delete(&url, Some(until));
        let outbox_events = count_outbox(&url, false);
        let (writing, delivery, requests) = if told {
            let seconds = runtime.block_on(deliver_everything(&url, outcome.ended));
            let requests = std::mem::take(&mut *received.lock().unwrap());
            let remaining = cohort_ids(&url, until);
            let deleted: BTreeSet<i64> = cohort_before.difference(&remaining).copied().collect();
            assert_eq!(
                deleted.len() as i64,
                outcome.customers,
                "the job's count is the customers gone"
            );
            check_told(&requests, outbox_events, &deleted);
            delivered_within.push(seconds);
            let writing = writing_events_alone(&url, &deleted);
            (
                format!("{writing:.3} s"),
                format!("{seconds:.2} s"),
                requests.len().to_string(),
            )
        } else {
            assert_eq!(outbox_events, 0, "nobody to tell, nothing written");
            ("–".to_owned(), "–".to_owned(), "–".to_owned())
        };
        println!(
            "| {label} | {} | {} | {} | {} | {:.2} s | {:.2} s | {writing} | {delivery} | {requests} | {} |",
            if told { DESTINATIONS.len() } else { 0 },
            outcome.customers,
            outcome.events,
            outbox_events,
            outcome.preview_seconds,
            outcome.seconds,
            load_average(),
        );
        if told {
            with.push(outcome.seconds);
        } else {
            without.push(outcome.seconds);
        }
    }
    println!();
    let pairs: Vec<String> = without
        .iter()
        .zip(&with)
        .map(|(a, b)| format!("{:.2}×", b / a))
        .collect();
    let ratio = with.iter().sum::<f64>() / without.iter().sum::<f64>();
    let slowest = delivered_within.iter().copied().fold(0.0, f64::max);
    println!(
        "B/A by round: {}; over all rounds (B's jobs summed over A's): {ratio:.2}× (target ≤ 1.10×: {})",
        pairs.join(", "),
        if ratio <= 1.1 { "met" } else { "missed" }
    );
    println!(
        "every event delivered within {slowest:.2} s of the job's end (target ≤ 60 s: {})",
        if slowest <= 60.0 { "met" } else { "missed" }
    );
}

/// Two destinations of workspace 1 that want `customer.deleted`, on the receiver.
fn add_destinations(url: &DatabaseUrl, receiver: &str) {
    let database = pool_for(url);
    let mut conn = database.pool().get().unwrap();
    let owner = store::users::find_owner(&mut conn).unwrap().expect("an owner");
    let events = DestinationEvents::parse(["customer.deleted"]).unwrap();
    for path in DESTINATIONS {
        let url = format!("{receiver}{path}");
        let fields = DestinationFields {
            name: path.trim_start_matches('/'),
            url: &url,
            events: &events,
            holds_external_id: false,
            include_identifiers: false,
        };
        store::destinations::insert(&mut conn, 1, &fields, &new_nonce(), owner.id).unwrap();
    }
}

#[derive(QueryableByName)]
struct Id {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    id: i64,
}

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    count: i64,
}

/// The customers in the cohort now.
fn cohort_ids(url: &DatabaseUrl, until: chrono::NaiveDate) -> BTreeSet<i64> {
    let database = pool_for(url);
    let mut pooled = database.pool().get().unwrap();
    let conn: &mut DbConnection = &mut pooled;
    diesel::sql_query(format!(
        "SELECT id FROM customers WHERE {}",
        cohort_condition(Some(until))
    ))
    .load::<Id>(conn)
    .unwrap()
    .into_iter()
    .map(|r| r.id)
    .collect()
}

fn count_outbox(url: &DatabaseUrl, pending_only: bool) -> i64 {
    let database = pool_for(url);
    let mut conn = database.pool().get().unwrap();
    outbox_count(&mut conn, pending_only)
}

fn outbox_count(conn: &mut DbConnection, pending_only: bool) -> i64 {
    let condition = if pending_only {
        "WHERE state = 'pending'"
    } else {
        ""
    };
    diesel::sql_query(format!("SELECT COUNT(*) AS count FROM outbox {condition}"))
        .get_result::<Count>(conn)
        .unwrap()
        .count
}

/// Starts a deliverer, as a server starting after the job would, and lets it deliver
/// until nothing is pending; the seconds from the job's end until then.
async fn deliver_everything(url: &DatabaseUrl, job_ended: Instant) -> f64 {
    let database = pool_for(url);
    let dir = tempfile_dir();
    let settings = Arc::new(Settings::for_database(url.clone(), dir.clone()));
    let secret = SecretKey::from_configured(SECRET).unwrap();
    let mailer = Mailer::new(None, dir.join("outbox"), "Erasure <erasure@localhost>").unwrap();
    let deliverer = Deliverer::new(database.clone(), secret, mailer, settings);
    loop {
        if deliverer.deliver_due().await.expect("a delivery step") > 0 {
            continue;
        }
        let pending = database
            .run(|conn| Ok::<_, erasure::store::StoreError>(outbox_count(conn, true)))
            .await
            .unwrap();
        if pending == 0 {
            return job_ended.elapsed().as_secs_f64();
        }
        assert!(
            job_ended.elapsed() < DELIVERY_LIMIT,
            "{pending} events still pending"
        );
        // What is pending waits for a retry.
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Seconds to write the events telling of `deleted` again, a thousand customers a
/// call as the job's batches do at most, in a transaction that is then rolled back.
fn writing_events_alone(url: &DatabaseUrl, deleted: &BTreeSet<i64>) -> f64 {
    let database = pool_for(url);
    let mut pooled = database.pool().get().unwrap();
    let conn: &mut DbConnection = &mut pooled;
    let workspace = store::workspaces::find(conn, 1).unwrap().expect("workspace 1");
    let (job_id, receipt_id) = {
        #[derive(QueryableByName)]
        struct LastJob {
            #[diesel(sql_type = diesel::sql_types::BigInt)]
            id: i64,
            #[diesel(sql_type = diesel::sql_types::Text)]
            receipt_id: String,
        }
        let job = diesel::sql_query("SELECT id, receipt_id FROM jobs ORDER BY id DESC LIMIT 1")
            .get_result::<LastJob>(conn)
            .unwrap();
        (job.id, job.receipt_id)
    };
    let erased: Vec<ErasedCustomer> = deleted
        .iter()
        .map(|&id| ErasedCustomer {
            id,
            external_id: None,
            email: None,
            phone: None,
            name: None,
            suppressed: Vec::new(),
        })
        .collect();
    let told = Told::Batch(JobRef {
        id: job_id,
        receipt_id: &receipt_id,
    });
    let started = Instant::now();
    let rolled_back = conn.transaction::<(), diesel::result::Error, _>(|conn| {
        for chunk in erased.chunks(CUSTOMERS_PER_EVENT) {
            outgoing::customers_erased(
                conn,
                &workspace,
                DestinationEvent::CustomerDeleted,
                told,
                chunk,
                false,
            )
            .expect("events written");
        }
        Err(diesel::result::Error::RollbackTransaction)
    });
    assert!(rolled_back.is_err(), "rolled back");
    started.elapsed().as_secs_f64()
}

/// One request the receiver answered.
struct Received {
    path: String,
    body: Vec<u8>,
}

/// Every request once, and in them every deleted customer exactly once per destination.
fn check_told(requests: &[Received], outbox_events: i64, deleted: &BTreeSet<i64>) {
    assert_eq!(
        requests.len() as i64,
        outbox_events,
        "one request per outbox event"
    );
    let mut told: BTreeMap<&str, BTreeMap<i64, u32>> = BTreeMap::new();
    for request in requests {
        let body: serde_json::Value = serde_json::from_slice(&request.body).expect("a JSON body");
        assert_eq!(body["type"], "customers.deleted");
        let customers = body["data"]["customers"].as_array().expect("a list of customers");
        let seen = told.entry(request.path.as_str()).or_default();
        for customer in customers {
            *seen.entry(customer["id"].as_i64().expect("an id")).or_default() += 1;
        }
    }
    for path in DESTINATIONS {
        let seen = told.get(path).cloned().unwrap_or_default();
        assert!(seen.values().all(|n| *n == 1), "{path}: a customer told twice");
        let ids: BTreeSet<i64> = seen.into_keys().collect();
        assert_eq!(&ids, deleted, "{path}: every deleted customer, and only them");
    }
}

/// A receiver that acknowledges every request with 200 and keeps the connection open.
async fn receive(listener: TcpListener, received: Arc<Mutex<Vec<Received>>>) {
    loop {
        let (socket, _) = listener.accept().await.expect("a connection");
        let received = received.clone();
        tokio::spawn(async move {
            let _ = answer(socket, received).await;
        });
    }
}

async fn answer(socket: TcpStream, received: Arc<Mutex<Vec<Received>>>) -> std::io::Result<()> {
    let mut reader = BufReader::new(socket);
    loop {
        let mut request_line = String::new();
        if reader.read_line(&mut request_line).await? == 0 {
            return Ok(());
        }
        let path = request_line
            .split_whitespace()
            .nth(1)
            .unwrap_or_default()
            .to_owned();
        let mut length = 0;
        loop {
            let mut header = String::new();
            if reader.read_line(&mut header).await? == 0 {
                return Ok(());
            }
            let header = header.trim_end();
            if header.is_empty() {
                break;
            }
            if let Some((name, value)) = header.split_once(':') {
                if name.eq_ignore_ascii_case("content-length") {
                    length = value.trim().parse().unwrap_or(0);
                }
            }
        }
        let mut body = vec![0; length];
        reader.read_exact(&mut body).await?;
        received.lock().unwrap().push(Received { path, body });
        reader
            .get_mut()
            .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
            .await?;
    }
}

/// The machine's load average over the last minute, as `uptime` shows it.
fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|l| l.split_whitespace().next().map(str::to_owned))
        .unwrap_or_else(|| "?".into())
}
