//! Delete all, confirmed with the owner's mailed code, whose server is killed with
//! SIGKILL mid-job: the server started in its place deletes everyone else, once.

use std::time::Duration;

use super::helpers::{new_client, Backend, MailSink, TestDatabase, OWNER_EMAIL};
use super::server::Server;
use super::{
    assert_consistent, post, prepared, progress, scalar, sign_in, CUSTOMERS, EVENTS_EACH, WORKSPACE,
};

crate::on_both_backends!(a_killed_delete_all_is_finished_by_the_next_server_with_exact_counts);

/// The six digits of the newest delete-all code mailed to the owner.
async fn mailed_code(mail: &MailSink) -> String {
    let message = mail
        .wait_for(|m| m.is_to(OWNER_EMAIL) && m.subject().starts_with("Code to delete all"))
        .await;
    message
        .body()
        .lines()
        .find_map(|line| line.strip_prefix("Code: "))
        .expect("a code line")
        .trim()
        .to_owned()
}

/// Customers still there that lost some of their events: a batch that was half done.
fn half_deleted(database: &TestDatabase) -> i64 {
    scalar(
        database,
        &format!(
            "SELECT COUNT(*) AS n FROM customers c \
             WHERE (SELECT COUNT(*) FROM events e WHERE e.customer_id = c.id) <> {EVENTS_EACH}"
        ),
    )
}

async fn a_killed_delete_all_is_finished_by_the_next_server_with_exact_counts(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let database = prepared(&backend, dir.path());
    let data = dir.path().join("data");
    let mail = MailSink::start().await;
    let smtp = format!("smtp://127.0.0.1:{}", mail.port());
    // One customer a batch: three thousand batches, so the kill lands mid-job even on a
    // fast machine.
    let mut server = Server::start(
        &database.url_string(),
        &data,
        &[("SMTP_URL", &smtp), ("JOB_BATCH_SIZE", "1")],
    )
    .await;
    let client = new_client();
    sign_in(&server, &client).await;

    let asked = post(
        &server,
        &client,
        &format!("/w/{WORKSPACE}/customers/delete-all"),
        &[("workspace_name", "Acme Shop")],
    )
    .await;
    assert_eq!(asked.status(), 303, "the code is sent");
    let code = mailed_code(&mail).await;
    let accepted = post(
        &server,
        &client,
        &format!("/w/{WORKSPACE}/customers/delete-all/confirm"),
        &[("code", &code)],
    )
    .await;
    assert_eq!(accepted.status(), 303, "the code is accepted");
    let job = super::helpers::location(&accepted);
    assert!(job.contains("/jobs/"), "{job}");
    let job_id = super::job_id_of(&job);
    let done = |database: &TestDatabase| super::jobs_done(database, job_id);
    super::wait_for_first_batch(&database, job_id).await;
    server.kill();

    let done_at_kill = done(&database);
    assert!(
        done_at_kill > 0 && done_at_kill < CUSTOMERS as i64,
        "killed mid-job ({done_at_kill} of {CUSTOMERS})"
    );
    // Each batch is whole or absent: the customers counted as deleted are gone with all
    // their events, the others are still there with all of theirs, and still targeted.
    // Each check is one statement, so one snapshot: on PostgreSQL a COMMIT the killed
    // server had sent may still land.
    assert_eq!(
        scalar(
            &database,
            &format!(
                "SELECT (SELECT COUNT(*) FROM customers) + (SELECT done FROM jobs WHERE id = {job_id}) AS n"
            )
        ),
        CUSTOMERS as i64
    );
    assert_eq!(
        scalar(
            &database,
            &format!(
                "SELECT (SELECT COUNT(*) FROM job_targets WHERE job_id = {job_id}) \
                 - (SELECT COUNT(*) FROM customers) AS n"
            )
        ),
        0,
        "the customers left are the targets left"
    );
    assert_eq!(half_deleted(&database), 0, "no customer half deleted");
    assert_consistent(&database);

    let restarted = Server::start(
        &database.url_string(),
        &data,
        &[("SMTP_URL", &smtp), ("JOB_BATCH_SIZE", "500")],
    )
    .await;
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
    let result = result.expect("the restarted server finished the job");

    assert_eq!(result["state"], "done");
    assert_eq!(result["total"], CUSTOMERS as i64);
    assert_eq!(result["done"], CUSTOMERS as i64, "every customer deleted once");
    assert_eq!(result["skipped_missing"], 0, "no batch ran twice");
    assert_eq!(result["events_removed"], (CUSTOMERS * EVENTS_EACH) as i64);
    assert_eq!(scalar(&database, "SELECT COUNT(*) AS n FROM customers"), 0);
    assert_eq!(scalar(&database, "SELECT COUNT(*) AS n FROM events"), 0);
    assert_eq!(scalar(&database, "SELECT COUNT(*) AS n FROM job_targets"), 0);
    for action in ["code.accepted", "job.started", "job.finished"] {
        assert_eq!(
            scalar(
                &database,
                &format!("SELECT COUNT(*) AS n FROM audit_log WHERE action = '{action}'")
            ),
            1,
            "{action}"
        );
    }
    assert_consistent(&database);

    // The owner hears of the end once, from the server that finished it.
    mail.wait_for(|m| m.is_to(OWNER_EMAIL) && m.subject().starts_with("All customers of"))
        .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let confirmations = mail
        .all()
        .into_iter()
        .filter(|m| m.subject().starts_with("All customers of"))
        .count();
    assert_eq!(confirmations, 1, "one confirmation mail");
}
