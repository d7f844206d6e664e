//! A CSV import whose server is killed with SIGKILL between batches: the server started
//! in its place finishes the import, and every row of the file is written exactly once.

use std::time::Duration;

use reqwest::multipart::{Form, Part};

use super::helpers::{new_client, Backend, TestDatabase};
use super::server::Server;
use super::{assert_consistent, post, progress, scalar, sign_in, WORKSPACE};

/// Customers that exist before the import; the file updates each of them.
const EXISTING: usize = 200;
/// Rows of the file that name nobody yet: each creates a customer.
const NEW_ROWS: usize = 2800;
const ROWS: usize = EXISTING + NEW_ROWS;

crate::on_both_backends!(a_killed_import_is_finished_by_the_next_server_with_each_row_written_once);

/// An owner, a workspace, and `EXISTING` seeded customers (`cust-1` …) with one event each.
fn arranged(backend: &Backend, dir: &std::path::Path) -> TestDatabase {
    super::seeded(backend, dir, EXISTING, 1, 3)
}

/// Updates for every seeded customer, then new customers.
fn csv_file() -> String {
    let mut csv = String::from("id,email,name,plan\n");
    for n in 1..=EXISTING {
        csv.push_str(&format!("cust-{n},,Updated {n},gold\n"));
    }
    for n in 1..=NEW_ROWS {
        csv.push_str(&format!("imp-{n},imp{n}@example.com,Imported {n},basic\n"));
    }
    csv
}

/// Uploads the file and confirms its preflight; returns the job's path.
async fn upload_and_confirm(server: &Server, client: &reqwest::Client) -> String {
    let page = client
        .get(server.url("/settings/security"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let token = super::helpers::csrf_from(&page).unwrap();
    let form = Form::new().part(
        "file",
        Part::bytes(csv_file().into_bytes())
            .file_name("customers.csv")
            .mime_str("text/csv")
            .unwrap(),
    );
    let uploaded = client
        .post(server.url(&format!("/w/{WORKSPACE}/customers/import?csrf_token={token}")))
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(uploaded.status(), 303, "the preflight accepts the file");
    let import = super::helpers::location(&uploaded);
    let id = import.rsplit('/').next().unwrap().to_owned();
    let preflight = client
        .get(server.url(&import))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    // Counts read with thousands separators: NEW_ROWS, EXISTING and ROWS as the pages
    // say them.
    assert_eq!((NEW_ROWS, EXISTING, ROWS), (2800, 200, 3000));
    assert!(
        preflight.contains(r#"id="to-create">2,800<"#) && preflight.contains(r#"id="to-update">200<"#),
        "the preflight shows what it will create and update"
    );
    let job = format!("/w/{WORKSPACE}/jobs/{id}");
    let confirmed = post(server, client, &format!("{job}/confirm"), &[]).await;
    assert_eq!(confirmed.status(), 303);
    job
}

fn report(database: &TestDatabase, job_id: i64) -> serde_json::Value {
    use diesel::prelude::*;
    use erasure::db::schema::jobs;
    let query = jobs::table.find(job_id).select(jobs::report);
    let stored: String = match &database.url {
        erasure::db::DatabaseUrl::Sqlite(path) => {
            let mut conn = diesel::SqliteConnection::establish(path.to_str().unwrap()).unwrap();
            query.first(&mut conn).unwrap()
        }
        erasure::db::DatabaseUrl::Postgres(url) => {
            let mut conn = diesel::PgConnection::establish(url).unwrap();
            query.first(&mut conn).unwrap()
        }
    };
    serde_json::from_str(&stored).unwrap()
}

async fn a_killed_import_is_finished_by_the_next_server_with_each_row_written_once(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let database = arranged(&backend, dir.path());
    let data = dir.path().join("data");
    // Five rows a batch: hundreds of batches, so the kill lands between two of them.
    let mut server = Server::start(&database.url_string(), &data, &[("JOB_BATCH_SIZE", "5")]).await;
    let client = new_client();
    sign_in(&server, &client).await;
    let job = upload_and_confirm(&server, &client).await;
    let job_id = super::job_id_of(&job);
    let done = |database: &TestDatabase| super::jobs_done(database, job_id);
    super::wait_for_first_batch(&database, job_id).await;
    server.kill();

    let done_at_kill = done(&database);
    assert!(
        done_at_kill > 0 && done_at_kill < ROWS as i64,
        "killed mid-import ({done_at_kill} of {ROWS} rows)"
    );
    // What the killed server committed is whole: every row it counted is written, and
    // every row it did not is still waiting in the job. Each check is one statement, so
    // one snapshot: on PostgreSQL a COMMIT the killed server had sent may still land.
    assert_eq!(
        scalar(
            &database,
            &format!(
                "SELECT (SELECT COUNT(*) FROM import_rows WHERE job_id = {job_id}) \
                 + (SELECT done FROM jobs WHERE id = {job_id}) AS n"
            ),
        ),
        ROWS as i64,
        "rows left + rows counted = rows in the file"
    );
    assert_eq!(
        scalar(
            &database,
            &format!(
                "SELECT (SELECT COUNT(*) FROM customers WHERE external_id LIKE 'imp-%') \
                 + (SELECT COUNT(*) FROM customers WHERE name LIKE 'Updated %') \
                 - (SELECT done FROM jobs WHERE id = {job_id}) AS n"
            ),
        ),
        0,
        "rows counted = customers created + customers updated"
    );
    assert_consistent(&database);

    let restarted = Server::start(&database.url_string(), &data, &[("JOB_BATCH_SIZE", "500")]).await;
    let mut result = None;
    for _ in 0..300 {
        if let Some(p) = progress(&restarted, &client, &job).await {
            if p["finished"] == true {
                result = Some(p);
                break;
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let result = result.expect("the restarted server finished the import");

    assert_eq!(result["state"], "done");
    assert_eq!(result["done"], ROWS as i64, "every row imported once");
    assert_eq!(result["skipped_other"], 0, "no row skipped");
    assert_eq!(
        scalar(&database, "SELECT COUNT(*) AS n FROM customers"),
        ROWS as i64,
        "no customer created twice"
    );
    assert_eq!(
        scalar(
            &database,
            "SELECT COUNT(DISTINCT external_id) AS n FROM customers"
        ),
        ROWS as i64
    );
    assert_eq!(
        scalar(
            &database,
            "SELECT COUNT(*) AS n FROM customers WHERE external_id LIKE 'imp-%' AND attributes LIKE '%basic%'"
        ),
        NEW_ROWS as i64
    );
    assert_eq!(
        scalar(
            &database,
            "SELECT COUNT(*) AS n FROM customers WHERE name LIKE 'Updated %' AND attributes LIKE '%gold%'"
        ),
        EXISTING as i64,
        "every existing customer updated"
    );
    assert_eq!(
        scalar(&database, "SELECT COUNT(*) AS n FROM events"),
        EXISTING as i64,
        "the import touched no event"
    );
    assert_eq!(
        scalar(&database, "SELECT COUNT(*) AS n FROM import_rows"),
        0,
        "no row of the file outlives the job"
    );
    let report = report(&database, job_id);
    assert_eq!(report["created"], NEW_ROWS as i64, "{report}");
    assert_eq!(report["updated"], EXISTING as i64, "{report}");
    assert_eq!(report["to_create"], NEW_ROWS as i64);
    assert_eq!(report["to_update"], EXISTING as i64);
    assert_eq!(report["skipped"], serde_json::json!([]));
    for action in ["customers.imported", "job.finished"] {
        assert_eq!(
            scalar(
                &database,
                &format!("SELECT COUNT(*) AS n FROM audit_log WHERE action = '{action}'")
            ),
            1,
            "{action}"
        );
    }
    let page = client
        .get(restarted.url(&format!("/w/{WORKSPACE}/imports/{job_id}")))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("3,000 imported (2,800 created, 200 updated), 0 skipped."),
        "the result page states the exact counts"
    );
    assert_consistent(&database);
}
