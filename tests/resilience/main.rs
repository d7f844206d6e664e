//! Real `erasure serve` processes over one database: killed with SIGKILL in the middle
//! of a job, several of them sharing the queue. Nothing is lost, nothing runs twice.

#[path = "../api/helpers/mod.rs"]
#[allow(dead_code)]
mod helpers;
mod server;

mod audit_export;
mod database_outage;
mod delete_all_kill;
mod delivery_kill;
mod delivery_shared;
mod import_kill;
mod load;
mod preview_freeze_kill;
mod sign_in_flood;

use std::time::Duration;

use helpers::{new_client, Backend, TestDatabase, OWNER_EMAIL, OWNER_PASSWORD};
use server::{cli, Address, Server};

const WORKSPACE: &str = "acme-shop";
const CUSTOMERS: usize = 3000;
const EVENTS_EACH: usize = 3;

/// A database with an owner and seeded customers, made with the command line.
fn prepared(backend: &Backend, dir: &std::path::Path) -> TestDatabase {
    seeded(backend, dir, CUSTOMERS, EVENTS_EACH, 7)
}

/// An owner, a workspace, and `customers` seeded customers (`cust-1` …) with
/// `events_each` events each, deterministic for `seed`.
fn seeded(
    backend: &Backend,
    dir: &std::path::Path,
    customers: usize,
    events_each: usize,
    seed: u64,
) -> TestDatabase {
    let database = TestDatabase::create(backend, dir);
    let url = database.url_string();
    let data = dir.join("data");
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
    cli(
        &url,
        &data,
        &[
            "seed",
            "--workspace",
            WORKSPACE,
            "--customers",
            &customers.to_string(),
            "--events-per-customer",
            &events_each.to_string(),
            "--seed",
            &seed.to_string(),
        ],
        None,
    );
    database
}

async fn sign_in(server: &impl Address, client: &reqwest::Client) {
    let page = client
        .get(server.url("/login"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let token = helpers::csrf_from(&page).unwrap();
    let response = client
        .post(server.url("/login"))
        .form(&[
            ("csrf_token", token.as_str()),
            ("email", OWNER_EMAIL),
            ("password", OWNER_PASSWORD),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 303);
}

async fn post(
    server: &impl Address,
    client: &reqwest::Client,
    path: &str,
    fields: &[(&str, &str)],
) -> reqwest::Response {
    let page = client
        .get(server.url("/settings/security"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let token = helpers::csrf_from(&page).unwrap();
    let mut all = vec![("csrf_token", token.as_str())];
    all.extend_from_slice(fields);
    client.post(server.url(path)).form(&all).send().await.unwrap()
}

async fn progress(server: &impl Address, client: &reqwest::Client, job: &str) -> Option<serde_json::Value> {
    let response = client
        .get(server.url(&format!("{job}/progress.json")))
        .send()
        .await
        .ok()?;
    response.json().await.ok()
}

/// The job's id from its page's path (`/w/…/jobs/{id}`).
fn job_id_of(job: &str) -> i64 {
    job.rsplit('/').next().unwrap().parse().unwrap()
}

/// How many targets the job has done, as committed.
fn jobs_done(database: &TestDatabase, job_id: i64) -> i64 {
    scalar(
        database,
        &format!("SELECT done AS n FROM jobs WHERE id = {job_id}"),
    )
}

/// Waits (up to 30 s) until the job has committed its first batch.
async fn wait_for_first_batch(database: &TestDatabase, job_id: i64) {
    for _ in 0..6000 {
        if jobs_done(database, job_id) > 0 {
            return;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// Previews and confirms deleting every seeded customer; returns the job's path. One
/// bystander, last seen long before them all, stays: a set that is the whole workspace
/// (and one above the threshold, raised here) waits for the owner's code, which these
/// tests do not walk (tests/resilience/delete_all_kill.rs does).
async fn start_delete_job(server: &Server, client: &reqwest::Client, database: &TestDatabase) -> String {
    execute(
        database,
        "UPDATE workspaces SET owner_code_threshold = 1000000000; \
         INSERT INTO customers (workspace_id, external_id, country, attributes, created_at, last_seen_at) \
         SELECT id, 'bystander', 'ZZ', '{}', '2001-01-01 00:00:00', '2001-01-01 00:00:00' FROM workspaces",
    );
    let preview = post(
        server,
        client,
        &format!("/w/{WORKSPACE}/customers/bulk"),
        &[("intent", "delete_filtered"), ("seen_from", "2010-01-01")],
    )
    .await;
    let job = helpers::location(&preview);
    assert!(job.contains("/jobs/"), "{job}");
    wait_until_frozen(server, client, &job).await;
    let confirmed = post(server, client, &format!("{job}/confirm"), &[]).await;
    assert_eq!(confirmed.status(), 303);
    job
}

/// Waits (up to a minute) until the preview at `job` has frozen its whole set; returns
/// its status.
async fn wait_until_frozen(server: &impl Address, client: &reqwest::Client, job: &str) -> serde_json::Value {
    for _ in 0..600 {
        if let Some(status) = progress(server, client, job).await {
            if status["frozen"] == true {
                return status;
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the preview at {job} was not frozen within a minute");
}

fn scalar(database: &TestDatabase, sql: &str) -> i64 {
    use diesel::sql_types::BigInt;
    use diesel::{Connection, RunQueryDsl};
    #[derive(diesel::QueryableByName)]
    struct One {
        #[diesel(sql_type = BigInt)]
        n: i64,
    }
    let url = database.url_string();
    match &database.url {
        erasure::db::DatabaseUrl::Sqlite(path) => {
            let mut conn = diesel::SqliteConnection::establish(path.to_str().unwrap()).unwrap();
            diesel::sql_query(sql).get_result::<One>(&mut conn).unwrap().n
        }
        erasure::db::DatabaseUrl::Postgres(_) => {
            let mut conn = diesel::PgConnection::establish(&url).unwrap();
            diesel::sql_query(sql).get_result::<One>(&mut conn).unwrap().n
        }
    }
}

fn execute(database: &TestDatabase, statements: &str) {
    use diesel::connection::SimpleConnection;
    use diesel::Connection;
    match &database.url {
        erasure::db::DatabaseUrl::Sqlite(path) => {
            let mut conn = diesel::SqliteConnection::establish(path.to_str().unwrap()).unwrap();
            conn.batch_execute(statements).unwrap();
        }
        erasure::db::DatabaseUrl::Postgres(url) => {
            let mut conn = diesel::PgConnection::establish(url).unwrap();
            conn.batch_execute(statements).unwrap();
        }
    }
}

fn lease_owner(database: &TestDatabase, job_id: i64) -> Option<String> {
    use diesel::prelude::*;
    use erasure::db::schema::jobs;
    let query = jobs::table.find(job_id).select(jobs::lease_owner);
    match &database.url {
        erasure::db::DatabaseUrl::Sqlite(path) => {
            let mut conn = diesel::SqliteConnection::establish(path.to_str().unwrap()).unwrap();
            query.first::<Option<String>>(&mut conn).unwrap()
        }
        erasure::db::DatabaseUrl::Postgres(url) => {
            let mut conn = diesel::PgConnection::establish(url).unwrap();
            query.first::<Option<String>>(&mut conn).unwrap()
        }
    }
}

/// No customer without its events gone, no event without its customer, and on SQLite
/// the engine's own integrity and foreign-key checks.
fn assert_consistent(database: &TestDatabase) {
    assert_eq!(
        scalar(database, "SELECT COUNT(*) AS n FROM events e LEFT JOIN customers c ON c.id = e.customer_id WHERE c.id IS NULL"),
        0,
        "events without their customer"
    );
    if let erasure::db::DatabaseUrl::Sqlite(path) = &database.url {
        use diesel::connection::SimpleConnection;
        use diesel::{Connection, RunQueryDsl};
        let mut conn = diesel::SqliteConnection::establish(path.to_str().unwrap()).unwrap();
        conn.batch_execute("PRAGMA foreign_keys = ON").unwrap();
        #[derive(diesel::QueryableByName)]
        struct Check {
            #[diesel(sql_type = diesel::sql_types::Text)]
            integrity_check: String,
        }
        let check: Check = diesel::sql_query("PRAGMA integrity_check")
            .get_result(&mut conn)
            .unwrap();
        assert_eq!(check.integrity_check, "ok");
        #[derive(diesel::QueryableByName)]
        struct Violation {
            #[diesel(sql_type = diesel::sql_types::Text)]
            #[allow(dead_code)]
            table: String,
        }
        let violations: Vec<Violation> = diesel::sql_query("PRAGMA foreign_key_check")
            .load(&mut conn)
            .unwrap();
        assert!(violations.is_empty(), "foreign key violations");
    }
}

/// Two servers share the database; the job is claimed by one; that one is killed
/// with SIGKILL mid-job; the other finishes it with exact counts.
async fn a_killed_server_s_job_is_finished_by_another_with_exact_counts(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let database = prepared(&backend, dir.path());
    let mut first = Server::start(
        &database.url_string(),
        &dir.path().join("data"),
        &[("JOB_BATCH_SIZE", "3")],
    )
    .await;
    let mut second = Server::start(
        &database.url_string(),
        &dir.path().join("data"),
        &[("JOB_BATCH_SIZE", "3")],
    )
    .await;
    let client = new_client();
    sign_in(&first, &client).await;

    // A session made on one server is valid on the other.
    let on_second = client
        .get(second.url(&format!("/w/{WORKSPACE}/customers")))
        .send()
        .await
        .unwrap();
    assert_eq!(on_second.status(), 200);

    let job = start_delete_job(&first, &client, &database).await;
    let job_id: i64 = job.rsplit('/').next().unwrap().parse().unwrap();
    // Wait until a server has claimed the job, then kill whichever one holds it. The
    // lease owner is "{pid}-{random}"; it is read the moment it appears, because a fast
    // machine can finish the job (and clear the lease) soon after.
    let mut holder_pid = 0u32;
    // Up to half a minute: on a loaded machine a claim can wait out another writer.
    for _ in 0..15000 {
        if let Some(pid) = lease_owner(&database, job_id)
            .and_then(|owner| owner.split('-').next().and_then(|pid| pid.parse().ok()))
        {
            holder_pid = pid;
            break;
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    assert!(holder_pid > 0, "the job never started");
    let processed_before = scalar(
        &database,
        &format!("SELECT done AS n FROM jobs WHERE id = {job_id}"),
    );
    assert!(
        processed_before < CUSTOMERS as i64,
        "the job finished before it could be interrupted"
    );
    let (killed, survivor) = if first.pid() == holder_pid {
        (&mut first, &second)
    } else {
        (&mut second, &first)
    };
    killed.kill();

    let mut finished = None;
    for _ in 0..600 {
        if let Some(p) = progress(survivor, &client, &job).await {
            if p["finished"] == true {
                finished = Some(p);
                break;
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let result = finished.expect("the surviving server finished the job");

    assert_eq!(result["state"], "done");
    assert_eq!(
        result["done"], CUSTOMERS as i64,
        "every customer deleted exactly once"
    );
    assert_eq!(result["skipped_missing"], 0, "no batch ran twice");
    assert_eq!(result["events_removed"], (CUSTOMERS * EVENTS_EACH) as i64);
    assert_eq!(
        scalar(&database, "SELECT COUNT(*) AS n FROM customers"),
        1,
        "the bystander"
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

/// One server, killed and started again: the restarted server takes its own job up
/// again when the lease runs out.
async fn a_restarted_server_resumes_its_job(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let database = prepared(&backend, dir.path());
    let data = dir.path().join("data");
    let mut server = Server::start(&database.url_string(), &data, &[("JOB_BATCH_SIZE", "2")]).await;
    let client = new_client();
    sign_in(&server, &client).await;
    let job = start_delete_job(&server, &client, &database).await;
    let job_id: i64 = job.rsplit('/').next().unwrap().parse().unwrap();
    for _ in 0..2000 {
        if scalar(
            &database,
            &format!("SELECT done AS n FROM jobs WHERE id = {job_id}"),
        ) > 0
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    server.kill();
    let done_at_kill = scalar(
        &database,
        &format!("SELECT done AS n FROM jobs WHERE id = {job_id}"),
    );
    assert!(
        done_at_kill > 0 && done_at_kill < CUSTOMERS as i64,
        "killed mid-job ({done_at_kill})"
    );
    assert_consistent(&database);

    let restarted = Server::start(&database.url_string(), &data, &[("JOB_BATCH_SIZE", "500")]).await;
    let mut result = None;
    for _ in 0..600 {
        if let Some(p) = progress(&restarted, &client, &job).await {
            if p["finished"] == true {
                result = Some(p);
                break;
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let result = result.expect("the restarted server finished the job");
    assert_eq!(result["done"], CUSTOMERS as i64);
    assert_eq!(result["skipped_missing"], 0);
    assert_eq!(
        scalar(&database, "SELECT COUNT(*) AS n FROM customers"),
        1,
        "the bystander"
    );
    assert_consistent(&database);
}

macro_rules! on_both {
    ($($name:ident),*) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name(super::Backend::Sqlite).await
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    if let Some(backend) = super::Backend::postgres() {
                        super::$name(backend).await
                    }
                }
            )*
        }
    };
}

/// A copy of the database taken now, the way a backup would be.
fn backup(database: &TestDatabase, dir: &std::path::Path) -> String {
    match &database.url {
        erasure::db::DatabaseUrl::Sqlite(path) => {
            let copy = dir.join("backup.db");
            std::fs::copy(path, &copy).unwrap();
            format!("sqlite://{}", copy.display())
        }
        erasure::db::DatabaseUrl::Postgres(url) => {
            use diesel::connection::SimpleConnection;
            use diesel::Connection;
            let mut parsed = url::Url::parse(url).unwrap();
            let name = parsed.path().trim_start_matches('/').to_owned();
            let copy = format!("{name}_backup");
            let mut admin_url = parsed.clone();
            admin_url.set_path("/postgres");
            let mut admin = diesel::PgConnection::establish(admin_url.as_str()).unwrap();
            admin
                .batch_execute(&format!("CREATE DATABASE {copy} TEMPLATE {name}"))
                .unwrap();
            parsed.set_path(&format!("/{copy}"));
            parsed.to_string()
        }
    }
}

fn drop_backup(url: &str) {
    if url.starts_with("postgres") {
        use diesel::connection::SimpleConnection;
        use diesel::Connection;
        let mut parsed = url::Url::parse(url).unwrap();
        let name = parsed.path().trim_start_matches('/').to_owned();
        parsed.set_path("/postgres");
        if let Ok(mut admin) = diesel::PgConnection::establish(parsed.as_str()) {
            let _ = admin.batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"));
        }
    }
}

fn scalar_at(url: &str, sql: &str) -> i64 {
    use diesel::sql_types::BigInt;
    use diesel::{Connection, RunQueryDsl};
    #[derive(diesel::QueryableByName)]
    struct One {
        #[diesel(sql_type = BigInt)]
        n: i64,
    }
    match url.strip_prefix("sqlite://") {
        Some(path) => {
            let mut conn = diesel::SqliteConnection::establish(path).unwrap();
            diesel::sql_query(sql).get_result::<One>(&mut conn).unwrap().n
        }
        None => {
            let mut conn = diesel::PgConnection::establish(url).unwrap();
            diesel::sql_query(sql).get_result::<One>(&mut conn).unwrap().n
        }
    }
}

/// Back up, erase, restore the backup, replay the journal: the erased are gone again.
async fn restoring_a_backup_and_replaying_the_journal_erases_them_again(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let database = prepared(&backend, dir.path());
    let data = dir.path().join("data");
    let backup_url = backup(&database, dir.path());
    let server = Server::start(&database.url_string(), &data, &[]).await;
    let client = new_client();
    sign_in(&server, &client).await;

    // One deleted with suppression, one archived, and a filtered cohort deleted by a job.
    post(
        &server,
        &client,
        &format!("/w/{WORKSPACE}/customers/1/delete"),
        &[("suppress", "on")],
    )
    .await;
    post(
        &server,
        &client,
        &format!("/w/{WORKSPACE}/customers/2/archive"),
        &[],
    )
    .await;
    let preview = post(
        &server,
        &client,
        &format!("/w/{WORKSPACE}/customers/bulk"),
        &[("intent", "delete_filtered"), ("country", "DE")],
    )
    .await;
    let job = helpers::location(&preview);
    wait_until_frozen(&server, &client, &job).await;
    post(&server, &client, &format!("{job}/confirm"), &[]).await;
    for _ in 0..300 {
        if progress(&server, &client, &job)
            .await
            .is_some_and(|p| p["finished"] == true)
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let live_customers = scalar(&database, "SELECT COUNT(*) AS n FROM customers");
    let live_de = scalar(
        &database,
        "SELECT COUNT(*) AS n FROM customers WHERE country = 'DE'",
    );
    assert_eq!(live_de, 0);
    drop(server);

    // The restored backup still has them all …
    assert_eq!(
        scalar_at(&backup_url, "SELECT COUNT(*) AS n FROM customers"),
        CUSTOMERS as i64
    );
    cli(
        &backup_url,
        &data,
        &["replay-erasures", "--since", "2000-01-01"],
        None,
    );

    // … until the replay.
    assert_eq!(
        scalar_at(&backup_url, "SELECT COUNT(*) AS n FROM customers"),
        live_customers
    );
    assert_eq!(
        scalar_at(&backup_url, "SELECT COUNT(*) AS n FROM customers WHERE id = 1"),
        0
    );
    assert_eq!(
        scalar_at(
            &backup_url,
            "SELECT COUNT(*) AS n FROM customers WHERE country = 'DE'"
        ),
        0
    );
    assert_eq!(
        scalar_at(
            &backup_url,
            "SELECT COUNT(*) AS n FROM customers WHERE id = 2 AND email IS NULL AND archived_at IS NOT NULL"
        ),
        1
    );
    assert_eq!(
        scalar_at(&backup_url, "SELECT COUNT(*) AS n FROM suppressions"),
        scalar(&database, "SELECT COUNT(*) AS n FROM suppressions")
    );
    assert_eq!(
        scalar_at(&backup_url, "SELECT COUNT(*) AS n FROM events e LEFT JOIN customers c ON c.id = e.customer_id WHERE c.id IS NULL"),
        0
    );
    // Replaying twice changes nothing more.
    cli(
        &backup_url,
        &data,
        &["replay-erasures", "--since", "2000-01-01"],
        None,
    );
    assert_eq!(
        scalar_at(&backup_url, "SELECT COUNT(*) AS n FROM customers"),
        live_customers
    );
    drop_backup(&backup_url);
}

on_both!(
    a_killed_server_s_job_is_finished_by_another_with_exact_counts,
    a_restarted_server_resumes_its_job,
    restoring_a_backup_and_replaying_the_journal_erases_them_again
);
