//! PostgreSQL going away under a running server, through a TCP proxy the test cuts and
//! restores: pages, the Track API and the health check answer 503 within seconds while
//! it is gone, and everything (the running job included) carries on when it is back,
//! without a restart.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

use super::helpers::{new_client, Backend, TestDatabase};
use super::server::{cli, Server};
use super::{
    assert_consistent, prepared, progress, scalar, sign_in, start_delete_job, CUSTOMERS, EVENTS_EACH,
    WORKSPACE,
};

/// How long a request may take to say the database is gone.
const PROMPT: Duration = Duration::from_secs(8);
/// How long the database stays away.
const OUTAGE: Duration = Duration::from_secs(4);

/// A TCP proxy to the real database that can be cut (live connections closed, new ones
/// closed as soon as they are accepted) and restored.
struct Proxy {
    port: u16,
    open: Arc<AtomicBool>,
    cut: watch::Sender<u64>,
    accepting: tokio::task::JoinHandle<()>,
}

impl Proxy {
    async fn start(upstream: String) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let open = Arc::new(AtomicBool::new(true));
        let (cut, _) = watch::channel(0u64);
        let accepting = {
            let open = open.clone();
            let cut = cut.clone();
            tokio::spawn(async move {
                while let Ok((mut inbound, _)) = listener.accept().await {
                    // Subscribed before looking at `open`: a cut that comes after this
                    // point reaches the connection, one that came before refuses it.
                    let mut cut_seen = cut.subscribe();
                    if !open.load(Ordering::SeqCst) {
                        drop(inbound);
                        continue;
                    }
                    let upstream = upstream.clone();
                    tokio::spawn(async move {
                        let Ok(mut outbound) = TcpStream::connect(&upstream).await else {
                            return;
                        };
                        tokio::select! {
                            _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound) => {}
                            _ = cut_seen.changed() => {}
                        }
                    });
                }
            })
        };
        Proxy {
            port,
            open,
            cut,
            accepting,
        }
    }

    /// Closes every live connection and refuses new ones until `restore`.
    fn cut(&self) {
        self.open.store(false, Ordering::SeqCst);
        self.cut.send_modify(|generation| *generation += 1);
    }

    fn restore(&self) {
        self.open.store(true, Ordering::SeqCst);
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.cut();
        self.accepting.abort();
    }
}

/// `url` with its host and port replaced by the proxy's.
fn through(url: &str, proxy: &Proxy) -> String {
    let mut parsed = url::Url::parse(url).unwrap();
    parsed.set_host(Some("127.0.0.1")).unwrap();
    parsed.set_port(Some(proxy.port)).unwrap();
    parsed.to_string()
}

fn host_and_port(url: &str) -> String {
    let parsed = url::Url::parse(url).unwrap();
    format!(
        "{}:{}",
        parsed.host_str().unwrap_or("127.0.0.1"),
        parsed.port().unwrap_or(5432)
    )
}

fn job_state(database: &TestDatabase, job_id: i64) -> String {
    use diesel::prelude::*;
    use erasure::db::schema::jobs;
    let mut conn = diesel::PgConnection::establish(&database.url_string()).unwrap();
    jobs::table
        .find(job_id)
        .select(jobs::state)
        .first(&mut conn)
        .unwrap()
}

struct Answer {
    status: u16,
    content_type: String,
    body: String,
    took: Duration,
}

async fn answer(request: reqwest::RequestBuilder) -> Answer {
    let started = Instant::now();
    let response = request
        .timeout(Duration::from_secs(30))
        .send()
        .await
        .expect("an answer, not a hang");
    let status = response.status().as_u16();
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let body = response.text().await.unwrap();
    Answer {
        status,
        content_type,
        body,
        took: started.elapsed(),
    }
}

/// Nothing of the machinery below the page: no query, driver, pool, address or trace.
fn assert_tells_nothing(body: &str) {
    let lower = body.to_lowercase();
    for internal in [
        "diesel",
        "r2d2",
        "select ",
        "postgres",
        "sqlstate",
        "pool",
        "panicked",
        "backtrace",
        "src/",
        "127.0.0.1",
        "timed out",
        "server closed",
    ] {
        assert!(
            !lower.contains(internal),
            "the body mentions {internal:?}: {body}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn while_the_database_is_gone_requests_get_503_and_everything_resumes_when_it_returns() {
    let Some(backend) = Backend::postgres() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let database = prepared(&backend, dir.path());
    let data = dir.path().join("data");
    let direct = database.url_string();
    let printed = cli(
        &direct,
        &data,
        &["api-key", "create", "--workspace", WORKSPACE, "--name", "Backend"],
        None,
    );
    let printed_value = |label: &str| {
        printed
            .lines()
            .find_map(|line| line.strip_prefix(label))
            .unwrap_or_else(|| panic!("no {label:?} in {printed:?}"))
            .trim()
            .to_owned()
    };
    let (site_id, key) = (printed_value("site id:"), printed_value("api key:"));

    let proxy = Proxy::start(host_and_port(&direct)).await;
    // A lease far longer than the outage: the job must carry on because its runner
    // retries, not because the lease ran out and the job was claimed afresh.
    let server = Server::start(
        &through(&direct, &proxy),
        &data,
        &[("JOB_BATCH_SIZE", "3"), ("JOB_LEASE_SECONDS", "60")],
    )
    .await;
    let browser = new_client();
    sign_in(&server, &browser).await;
    let api = reqwest::Client::new();
    let list = format!("/w/{WORKSPACE}/customers");
    let identify = |client: &reqwest::Client, id: &str| {
        client
            .put(server.url(&format!("/api/v1/customers/{id}")))
            .basic_auth(&site_id, Some(&key))
            .json(&serde_json::json!({ "email": format!("{id}@example.com") }))
    };

    let job = start_delete_job(&server, &browser, &database).await;
    let job_id = super::job_id_of(&job);
    let done = |database: &TestDatabase| super::jobs_done(database, job_id);
    super::wait_for_first_batch(&database, job_id).await;

    proxy.cut();
    let cut_at = Instant::now();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let done_at_cut = done(&database);
    assert!(
        done_at_cut > 0 && done_at_cut < CUSTOMERS as i64,
        "cut mid-job ({done_at_cut} of {CUSTOMERS})"
    );

    let (page, call, health) = tokio::join!(
        answer(browser.get(server.url(&list))),
        answer(identify(&api, "during-outage")),
        answer(api.get(server.url("/healthz"))),
    );
    assert_eq!(page.status, 503, "the page: {}", page.body);
    assert!(page.took < PROMPT, "the page took {:?}", page.took);
    assert!(
        page.content_type.starts_with("text/html"),
        "{}",
        page.content_type
    );
    assert!(
        page.body.contains(r#"<header class="topbar">"#) && page.body.contains("briefly unavailable"),
        "the error page in the layout: {}",
        page.body
    );
    assert_tells_nothing(&page.body);

    assert_eq!(call.status, 503, "the API: {}", call.body);
    assert!(call.took < PROMPT, "the API call took {:?}", call.took);
    assert!(call.content_type.starts_with("application/json"));
    let error: serde_json::Value = serde_json::from_str(&call.body).unwrap();
    assert_eq!(error["code"], "unavailable");
    assert_tells_nothing(&call.body);

    assert_eq!(health.status, 503, "the health check: {}", health.body);
    assert!(health.took < PROMPT, "the health check took {:?}", health.took);
    let (page_took, call_took, health_took) = (page.took, call.took, health.took);

    // Nothing moved, and the job is still running: not failed, not abandoned.
    assert_eq!(done(&database), done_at_cut);
    assert_eq!(job_state(&database, job_id), "running");

    if let Some(rest) = OUTAGE.checked_sub(cut_at.elapsed()) {
        tokio::time::sleep(rest).await;
    }
    proxy.restore();
    let restored_at = Instant::now();

    let (page, call, health) = tokio::join!(
        answer(browser.get(server.url(&list))),
        answer(identify(&api, "after-outage")),
        answer(api.get(server.url("/healthz"))),
    );
    assert_eq!(page.status, 200, "the page once the database is back");
    assert!(page.took < PROMPT, "the page took {:?}", page.took);
    assert_eq!(
        call.status, 200,
        "the API once the database is back: {}",
        call.body
    );
    assert_eq!(health.status, 200, "the health check once the database is back");

    // The runner goes on with its own job right away, without waiting for its lease.
    let mut resumed = false;
    while restored_at.elapsed() < Duration::from_secs(8) {
        if done(&database) > done_at_cut {
            resumed = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(resumed, "the job resumed once the database was back");
    eprintln!(
        "database outage: 503 after {:?} (page), {:?} (API), {:?} (health); the job resumed {:?} after the return",
        page_took, call_took, health_took, restored_at.elapsed()
    );

    let mut result = None;
    for _ in 0..400 {
        if let Some(p) = progress(&server, &browser, &job).await {
            if p["finished"] == true {
                result = Some(p);
                break;
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let result = result.expect("the job finished");
    assert_eq!(result["state"], "done");
    assert_eq!(result["done"], CUSTOMERS as i64, "every customer deleted once");
    assert_eq!(result["skipped_missing"], 0, "no batch ran twice");
    assert_eq!(result["events_removed"], (CUSTOMERS * EVENTS_EACH) as i64);
    assert_eq!(
        scalar(&database, "SELECT COUNT(*) AS n FROM customers"),
        2,
        "only the bystander and the customer identified after the outage, who were not in the job"
    );
    assert_eq!(
        scalar(
            &database,
            "SELECT COUNT(*) AS n FROM customers WHERE external_id = 'after-outage'"
        ),
        1
    );
    assert_eq!(scalar(&database, "SELECT COUNT(*) AS n FROM events"), 0);
    assert_eq!(scalar(&database, "SELECT COUNT(*) AS n FROM job_targets"), 0);
    assert_eq!(
        scalar(
            &database,
            "SELECT COUNT(*) AS n FROM audit_log WHERE action = 'job.finished'"
        ),
        1
    );
    assert_consistent(&database);
}
