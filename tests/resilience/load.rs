//! Bounded load: a real `erasure serve` over a seeded database, a bulk deletion of most
//! customers running, and for a fixed few seconds a fixed number of workers mixing
//! list views (with and without filters), profile views and Track API identify and
//! track calls.
//!
//! No request may get a server error or see "database is locked", the server's log
//! must stay free of both, and the job must finish with exact counts: every frozen
//! target deleted once, every other customer and its events still there, and each
//! event written meanwhile accounted for.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::helpers::{self, new_client, Backend, TestDatabase};
use crate::{prepared, scalar, CUSTOMERS, EVENTS_EACH, WORKSPACE};

/// How long the workers run, and how many there are: fixed, so that a run is bounded
/// whatever the machine.
const LOAD_FOR: Duration = Duration::from_secs(5);
const WORKERS: usize = 8;
/// Small batches, so that the job is still deleting while the workers run.
const JOB_BATCH_SIZE: &str = "4";
/// The key the command line used to seed; the server must share it.
const SECRET: &str = "test-secret-key-that-is-long-enough-0123456789";

/// `erasure serve` with its standard error kept in a file, to be read afterwards.
struct LoggedServer {
    child: Child,
    port: u16,
    log: PathBuf,
}

impl LoggedServer {
    async fn start(database_url: &str, data_dir: &Path, log: PathBuf) -> LoggedServer {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new(env!("CARGO_BIN_EXE_erasure"))
            .arg("serve")
            .env("BIND", format!("127.0.0.1:{port}"))
            .env("DATABASE_URL", database_url)
            .env("DATA_DIR", data_dir)
            .env("SECRET_KEY", SECRET)
            .env("HTTP_WORKERS", "2")
            .env("JOB_BATCH_SIZE", JOB_BATCH_SIZE)
            // The limit is not what is under test here; 429s would only thin the load.
            .env("API_RATE_LIMIT", "1000000")
            .env("RUST_LOG", "warn")
            .env_remove("SMTP_URL")
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .unwrap();
        let server = LoggedServer { child, port, log };
        let client = reqwest::Client::new();
        for _ in 0..200 {
            if let Ok(response) = client.get(server.url("/healthz")).send().await {
                if response.status().is_success() {
                    return server;
                }
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("erasure serve did not come up on port {port}");
    }

    fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{}", self.port, path)
    }

    fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl super::server::Address for LoggedServer {
    fn url(&self, path: &str) -> String {
        LoggedServer::url(self, path)
    }
}

impl Drop for LoggedServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Kind {
    List,
    ListFiltered,
    Profile,
    Identify,
    Track,
}

impl Kind {
    fn label(self) -> &'static str {
        match self {
            Kind::List => "list",
            Kind::ListFiltered => "list, filtered",
            Kind::Profile => "profile",
            Kind::Identify => "identify (PUT)",
            Kind::Track => "track (POST events)",
        }
    }
}

/// Out of every 20 requests: 3 lists, 3 filtered lists, 4 profiles, 5 identify, 5 track.
const MIX: [Kind; 20] = [
    Kind::List,
    Kind::Identify,
    Kind::Track,
    Kind::Profile,
    Kind::ListFiltered,
    Kind::Identify,
    Kind::Track,
    Kind::Profile,
    Kind::List,
    Kind::Identify,
    Kind::Track,
    Kind::ListFiltered,
    Kind::Profile,
    Kind::Identify,
    Kind::Track,
    Kind::List,
    Kind::Profile,
    Kind::Identify,
    Kind::Track,
    Kind::ListFiltered,
];

const FILTERS: [&str; 5] = [
    "country=DE",
    "city=Berlin",
    "status=active",
    "q=user12",
    "country=FR&status=inactive&sort=name",
];

/// Whom a Track API call wrote to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Whom {
    /// A seeded customer the job keeps.
    Kept,
    /// One of the job's targets: updated before its batch, or created anew after it.
    Target,
    /// A new id, created by the call.
    New,
}

/// What one request got.
struct Sample {
    kind: Kind,
    status: u16,
    took: Duration,
    locked: bool,
    /// The body of a server error, to show what went wrong.
    error: Option<String>,
    /// For a Track API call, whom it wrote to.
    whom: Option<Whom>,
}

impl Sample {
    fn wrote(&self, kind: Kind, whom: Whom) -> bool {
        self.kind == kind && self.status == 200 && self.whom == Some(whom)
    }
}

/// Everything the workers share: where to send, and what they may touch.
struct Plan {
    base: String,
    site_id: String,
    api_key: String,
    /// Seeded customers (internal and external id) the job keeps, and its targets.
    kept: Vec<(i64, String)>,
    targets: Vec<(i64, String)>,
    started: Instant,
    counter: AtomicU64,
}

async fn run_worker(plan: Arc<Plan>, worker: usize, web: reqwest::Client) -> Vec<Sample> {
    let api = reqwest::Client::new();
    let mut samples = Vec::new();
    let mut n = worker;
    while plan.started.elapsed() < LOAD_FOR {
        let kind = MIX[n % MIX.len()];
        let unique = plan.counter.fetch_add(1, Ordering::Relaxed);
        let kept = &plan.kept[(unique as usize / 2) % plan.kept.len()];
        let target = &plan.targets[(unique as usize * 7919) % plan.targets.len()];
        // Half the API calls write to customers the job keeps, a quarter to its targets
        // (an integration does not know what is being deleted), a quarter create one.
        let whom = match unique % 4 {
            0 | 2 => Whom::Kept,
            1 => Whom::Target,
            _ => Whom::New,
        };
        let api_id = match whom {
            Whom::Kept => kept.1.clone(),
            Whom::Target => target.1.clone(),
            Whom::New => format!("load-{worker}-{unique}"),
        };
        let request = match kind {
            Kind::List => web.get(format!("{}/w/{WORKSPACE}/customers", plan.base)),
            Kind::ListFiltered => web.get(format!(
                "{}/w/{WORKSPACE}/customers?{}",
                plan.base,
                FILTERS[n % FILTERS.len()]
            )),
            // Every other profile is one the job keeps, the rest one of its targets.
            Kind::Profile => web.get(format!(
                "{}/w/{WORKSPACE}/customers/{}",
                plan.base,
                if unique.is_multiple_of(2) {
                    kept.0
                } else {
                    target.0
                }
            )),
            Kind::Identify => api
                .put(format!("{}/api/v1/customers/{api_id}", plan.base))
                .basic_auth(&plan.site_id, Some(&plan.api_key))
                .json(&serde_json::json!({
                    "email": format!("{api_id}@load.example"),
                    "plan": "pro",
                    "visits": unique,
                })),
            Kind::Track => api
                .post(format!("{}/api/v1/customers/{api_id}/events", plan.base))
                .basic_auth(&plan.site_id, Some(&plan.api_key))
                .json(&serde_json::json!({
                    "name": "page_viewed",
                    "data": { "path": "/pricing", "n": unique },
                })),
        };
        let begun = Instant::now();
        let response = request.send().await.expect("the server answers");
        let status = response.status().as_u16();
        let body = response.text().await.unwrap_or_default();
        let took = begun.elapsed();
        samples.push(Sample {
            kind,
            status,
            took,
            locked: body.contains("database is locked"),
            error: (status >= 500).then(|| body.chars().take(500).collect()),
            whom: matches!(kind, Kind::Identify | Kind::Track).then_some(whom),
        });
        n += 1;
    }
    samples
}

fn percentile(sorted: &[Duration], q: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}

/// Prints one row per kind: requests, statuses, and latency percentiles.
fn report(backend: &str, samples: &[Sample]) {
    let mut by_kind: BTreeMap<Kind, Vec<&Sample>> = BTreeMap::new();
    for sample in samples {
        by_kind.entry(sample.kind).or_default().push(sample);
    }
    println!(
        "\n{backend}: {} requests in {} s from {WORKERS} workers ({:.0}/s)",
        samples.len(),
        LOAD_FOR.as_secs(),
        samples.len() as f64 / LOAD_FOR.as_secs_f64()
    );
    println!("| kind | requests | statuses | p50 | p95 | p99 | max |");
    println!("| --- | --- | --- | --- | --- | --- | --- |");
    for (kind, rows) in by_kind {
        let mut took: Vec<Duration> = rows.iter().map(|s| s.took).collect();
        took.sort();
        let mut statuses: BTreeMap<u16, usize> = BTreeMap::new();
        for row in &rows {
            *statuses.entry(row.status).or_default() += 1;
        }
        let statuses: Vec<String> = statuses.iter().map(|(s, n)| format!("{s}×{n}")).collect();
        println!(
            "| {} | {} | {} | {} | {} | {} | {} |",
            kind.label(),
            rows.len(),
            statuses.join(" "),
            ms(percentile(&took, 0.50)),
            ms(percentile(&took, 0.95)),
            ms(percentile(&took, 0.99)),
            ms(*took.last().unwrap_or(&Duration::ZERO)),
        );
    }
}

/// The seeded customers among the job's targets, or not among them.
fn customers(database: &TestDatabase, job_id: i64, targets: bool) -> Vec<(i64, String)> {
    use diesel::sql_types::{BigInt, Text};
    use diesel::{Connection, RunQueryDsl};
    #[derive(diesel::QueryableByName)]
    struct Kept {
        #[diesel(sql_type = BigInt)]
        id: i64,
        #[diesel(sql_type = Text)]
        external_id: String,
    }
    let sql = format!(
        "SELECT id, external_id FROM customers WHERE id {} \
         (SELECT customer_id FROM job_targets WHERE job_id = {job_id}) ORDER BY id",
        if targets { "IN" } else { "NOT IN" }
    );
    let rows: Vec<Kept> = match &database.url {
        erasure::db::DatabaseUrl::Sqlite(path) => {
            let mut conn = diesel::SqliteConnection::establish(path.to_str().unwrap()).unwrap();
            diesel::sql_query(sql).load(&mut conn).unwrap()
        }
        erasure::db::DatabaseUrl::Postgres(url) => {
            let mut conn = diesel::PgConnection::establish(url).unwrap();
            diesel::sql_query(sql).load(&mut conn).unwrap()
        }
    };
    rows.into_iter().map(|r| (r.id, r.external_id)).collect()
}

/// Makes an API key the way a person does, in Settings; returns the site id and key.
async fn create_api_key(server: &LoggedServer, client: &reqwest::Client) -> (String, String) {
    let response = super::post(
        server,
        client,
        &format!("/w/{WORKSPACE}/settings/api-keys"),
        &[("name", "Load test")],
    )
    .await;
    assert_eq!(response.status(), 200);
    let html = scraper::Html::parse_document(&response.text().await.unwrap());
    let key = scraper::Selector::parse("#new-key").unwrap();
    let site = scraper::Selector::parse("#new-key-hint code").unwrap();
    let key = html
        .select(&key)
        .next()
        .and_then(|el| el.value().attr("value"))
        .expect("the new key is shown once")
        .to_owned();
    let site_id = html
        .select(&site)
        .next()
        .map(|el| el.text().collect::<String>())
        .expect("the site id is shown");
    (site_id, key)
}

async fn mixed_load_during_a_bulk_deletion(backend: Backend) {
    let label = match backend {
        Backend::Sqlite => "SQLite",
        Backend::Postgres(_) => "PostgreSQL",
    };
    let dir = tempfile::tempdir().unwrap();
    let database = prepared(&backend, dir.path());
    let server = LoggedServer::start(
        &database.url_string(),
        &dir.path().join("data"),
        dir.path().join("server.log"),
    )
    .await;
    let owner = new_client();
    super::sign_in(&server, &owner).await;
    let (site_id, api_key) = create_api_key(&server, &owner).await;

    // Preview the deletion of every inactive customer (most of them): the preview
    // freezes its targets, and whoever is not among them is what the workers write to.
    // Most of the workspace is above the default threshold for the owner's code, which
    // this load does not walk.
    super::execute(
        &database,
        "UPDATE workspaces SET owner_code_threshold = 1000000000",
    );
    let preview = super::post(
        &server,
        &owner,
        &format!("/w/{WORKSPACE}/customers/bulk"),
        &[("intent", "delete_filtered"), ("status", "inactive")],
    )
    .await;
    let job = helpers::location(&preview);
    assert!(job.contains("/jobs/"), "{job}");
    let job_id: i64 = job.rsplit('/').next().unwrap().parse().unwrap();
    super::wait_until_frozen(&server, &owner, &job).await;
    let targets = scalar(
        &database,
        &format!("SELECT COUNT(*) AS n FROM job_targets WHERE job_id = {job_id}"),
    );
    assert!(
        targets > CUSTOMERS as i64 / 2 && targets < CUSTOMERS as i64,
        "a large share, not all: {targets}"
    );
    let kept = customers(&database, job_id, false);
    let frozen = customers(&database, job_id, true);
    assert_eq!(frozen.len() as i64, targets);
    assert_eq!(kept.len() as i64, CUSTOMERS as i64 - targets);

    // Each worker browses in a session of its own, as separate people would.
    let mut sessions = Vec::with_capacity(WORKERS);
    for _ in 0..WORKERS {
        let client = new_client();
        super::sign_in(&server, &client).await;
        sessions.push(client);
    }
    let confirmed = super::post(&server, &owner, &format!("{job}/confirm"), &[]).await;
    assert_eq!(confirmed.status(), 303);

    let plan = Arc::new(Plan {
        base: server.url(""),
        site_id,
        api_key,
        kept,
        targets: frozen,
        started: Instant::now(),
        counter: AtomicU64::new(0),
    });
    // Watches the job while the workers run, to show how much of the load it overlapped.
    let monitor = {
        let plan = plan.clone();
        let url = server.url(&format!("{job}/progress.json"));
        let client = owner.clone();
        tokio::spawn(async move {
            let mut last_running = None;
            while plan.started.elapsed() < LOAD_FOR {
                let at = plan.started.elapsed();
                if let Ok(response) = client.get(&url).send().await {
                    if let Ok(p) = response.json::<serde_json::Value>().await {
                        if p["finished"] == false {
                            last_running = Some(at);
                        }
                    }
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            last_running
        })
    };
    let workers: Vec<_> = sessions
        .into_iter()
        .enumerate()
        .map(|(worker, client)| tokio::spawn(run_worker(plan.clone(), worker, client)))
        .collect();
    let mut samples = Vec::new();
    for worker in workers {
        samples.extend(worker.await.expect("a worker"));
    }
    let last_running = monitor.await.expect("the monitor");
    report(label, &samples);

    // Bounded: the job gets at most 20 more seconds once the load stops.
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut finished = None;
    while finished.is_none() && Instant::now() < deadline {
        match super::progress(&server, &owner, &job).await {
            Some(p) if p["finished"] == true => finished = Some(p),
            _ => tokio::time::sleep(Duration::from_millis(100)).await,
        }
    }
    let result = finished.expect("the job finished within 20 s of the load's end");
    println!(
        "job: {} targets, {} deleted, {} events removed; finished {:.1} s after the load began, \
         still running {} into it",
        targets,
        result["done"],
        result["events_removed"],
        plan.started.elapsed().as_secs_f64(),
        last_running.map_or("never".to_owned(), |at| format!("{:.1} s", at.as_secs_f64()))
    );
    assert!(last_running.is_some(), "the job ran while the workers did");

    let server_errors: Vec<_> = samples.iter().filter(|s| s.status >= 500).collect();
    assert!(
        server_errors.is_empty(),
        "{} server errors, e.g. {:?} {}: {}\nserver log:\n{}",
        server_errors.len(),
        server_errors[0].kind,
        server_errors[0].status,
        server_errors[0].error.as_deref().unwrap_or_default(),
        server.log_text().lines().take(20).collect::<Vec<_>>().join("\n")
    );
    assert!(
        !samples.iter().any(|s| s.locked),
        "a response said the database is locked"
    );
    for sample in &samples {
        let expected: &[u16] = match sample.kind {
            Kind::List | Kind::ListFiltered => &[200],
            // A profile the job already deleted is gone.
            Kind::Profile => &[200, 404],
            Kind::Identify | Kind::Track => &[200],
        };
        assert!(
            expected.contains(&sample.status),
            "{:?} answered {}",
            sample.kind,
            sample.status
        );
    }
    for kind in MIX {
        assert!(
            samples.iter().filter(|s| s.kind == kind).count() >= 5,
            "too few {kind:?} requests to mean anything"
        );
    }
    let log = server.log_text();
    for bad in ["database is locked", "panicked", "ERROR"] {
        assert!(
            !log.contains(bad),
            "the server's log has {bad:?}:\n{}",
            log.lines()
                .filter(|l| l.contains(bad))
                .take(5)
                .collect::<Vec<_>>()
                .join("\n")
        );
    }

    // Exact counts: every target deleted once, nothing else lost.
    assert_eq!(result["state"], "done");
    assert_eq!(result["total"], targets);
    assert_eq!(result["done"], targets, "every target deleted");
    assert_eq!(result["skipped_missing"], 0);
    assert_eq!(result["skipped_held"], 0);
    assert_eq!(result["skipped_other"], 0);
    let id_list = |customers: &[(i64, String)]| {
        customers
            .iter()
            .map(|(id, _)| id.to_string())
            .collect::<Vec<_>>()
            .join(",")
    };
    let (kept_ids, target_ids) = (id_list(&plan.kept), id_list(&plan.targets));
    let count = |sql: String| scalar(&database, &sql);
    let calls = |kind, whom| samples.iter().filter(|s| s.wrote(kind, whom)).count() as i64;
    assert_eq!(
        count(format!(
            "SELECT COUNT(*) AS n FROM customers WHERE id IN ({target_ids})"
        )),
        0,
        "no target survives"
    );
    let kept_count = CUSTOMERS as i64 - targets;
    assert_eq!(
        count(format!(
            "SELECT COUNT(*) AS n FROM customers WHERE id IN ({kept_ids})"
        )),
        kept_count,
        "every kept customer remains"
    );
    assert_eq!(
        count(format!(
            "SELECT COUNT(*) AS n FROM events WHERE customer_id IN ({kept_ids})"
        )),
        kept_count * EVENTS_EACH as i64 + calls(Kind::Track, Whom::Kept),
        "the kept customers' events, and each one tracked meanwhile"
    );
    assert_eq!(
        count("SELECT COUNT(*) AS n FROM customers WHERE external_id LIKE 'load-%'".into()),
        calls(Kind::Identify, Whom::New) + calls(Kind::Track, Whom::New),
        "one new customer per call on a new id"
    );
    assert_eq!(
        count(
            "SELECT COUNT(*) AS n FROM events e JOIN customers c ON c.id = e.customer_id \
             WHERE c.external_id LIKE 'load-%'"
                .into()
        ),
        calls(Kind::Track, Whom::New)
    );
    // A call on a target either reached it before its batch (and its event went with
    // it) or came after and created a new customer under the same id.
    let recreated = count(format!(
        "SELECT COUNT(*) AS n FROM customers WHERE external_id LIKE 'cust-%' AND id NOT IN ({kept_ids})"
    ));
    assert!(recreated <= calls(Kind::Identify, Whom::Target) + calls(Kind::Track, Whom::Target));
    let on_recreated = count(format!(
        "SELECT COUNT(*) AS n FROM events e JOIN customers c ON c.id = e.customer_id \
         WHERE c.external_id LIKE 'cust-%' AND c.id NOT IN ({kept_ids})"
    ));
    let removed = result["events_removed"].as_i64().unwrap();
    assert_eq!(
        removed - targets * EVENTS_EACH as i64 + on_recreated,
        calls(Kind::Track, Whom::Target),
        "every event tracked onto a target was deleted with it or belongs to its new customer"
    );
    println!("{recreated} targets created again by calls after their deletion");
    crate::assert_consistent(&database);
}

mod sqlite {
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn mixed_load_during_a_bulk_deletion() {
        super::mixed_load_during_a_bulk_deletion(super::Backend::Sqlite).await
    }
}

mod postgres {
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn mixed_load_during_a_bulk_deletion() {
        if let Some(backend) = super::Backend::postgres() {
            super::mixed_load_during_a_bulk_deletion(backend).await
        }
    }
}
