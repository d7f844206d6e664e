//! A preview whose set is being frozen, its server killed with SIGKILL mid-freeze: the
//! half-frozen set is never confirmed, and the server started in its place finishes the
//! freeze after the last batch that committed, with exact counts; then the job erases
//! exactly that set.

use std::time::Duration;

use super::helpers::{new_client, Backend, TestDatabase};
use super::server::Server;
use super::{
    assert_consistent, execute, job_id_of, post, prepared, progress, scalar, sign_in, wait_until_frozen,
    CUSTOMERS, WORKSPACE,
};

crate::on_both_backends!(
    a_freeze_killed_mid_way_is_never_confirmed_half_frozen_and_the_next_server_finishes_it
);

fn frozen_so_far(database: &TestDatabase, job_id: i64) -> i64 {
    scalar(
        database,
        &format!("SELECT total AS n FROM jobs WHERE id = {job_id}"),
    )
}

fn still_freezing(database: &TestDatabase, job_id: i64) -> bool {
    scalar(
        database,
        &format!(
            "SELECT CAST(CASE WHEN freezing THEN 1 ELSE 0 END AS BIGINT) AS n FROM jobs WHERE id = {job_id}"
        ),
    ) == 1
}

async fn a_freeze_killed_mid_way_is_never_confirmed_half_frozen_and_the_next_server_finishes_it(
    backend: Backend,
) {
    let dir = tempfile::tempdir().unwrap();
    let database = prepared(&backend, dir.path());
    let data = dir.path().join("data");
    // One bystander, last seen long before the seeded customers, outside the filter; and
    // no owner's code, which tests/resilience/delete_all_kill.rs walks.
    execute(
        &database,
        "UPDATE workspaces SET owner_code_threshold = 1000000000; \
         INSERT INTO customers (workspace_id, external_id, country, attributes, created_at, last_seen_at) \
         SELECT id, 'bystander', 'ZZ', '{}', '2001-01-01 00:00:00', '2001-01-01 00:00:00' FROM workspaces",
    );
    // Two customers a batch: fifteen hundred batches, so the kill lands mid-freeze. The
    // lease outlasts the restart, so the new server finds the freeze still held.
    let lease = [("JOB_BATCH_SIZE", "2"), ("JOB_LEASE_SECONDS", "6")];
    let mut server = Server::start(&database.url_string(), &data, &lease).await;
    let client = new_client();
    sign_in(&server, &client).await;

    let preview = post(
        &server,
        &client,
        &format!("/w/{WORKSPACE}/customers/bulk"),
        &[("intent", "delete_filtered"), ("seen_from", "2010-01-01")],
    )
    .await;
    assert_eq!(preview.status(), 303);
    let job = super::helpers::location(&preview);
    let job_id = job_id_of(&job);
    for _ in 0..6000 {
        if frozen_so_far(&database, job_id) >= 40 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    server.kill();

    let at_kill = frozen_so_far(&database, job_id);
    assert!(
        still_freezing(&database, job_id) && at_kill >= 40 && at_kill < CUSTOMERS as i64,
        "killed mid-freeze ({at_kill} of {CUSTOMERS})"
    );
    // Each batch is whole or absent: the targets are the counted ones, all of them at or
    // below where the freeze goes on. One statement each, so one snapshot.
    assert_eq!(
        scalar(
            &database,
            &format!(
                "SELECT (SELECT COUNT(*) FROM job_targets WHERE job_id = {job_id}) \
                 - (SELECT total FROM jobs WHERE id = {job_id}) AS n"
            )
        ),
        0,
        "the frozen customers are the counted ones"
    );
    assert_eq!(
        scalar(
            &database,
            &format!(
                "SELECT COUNT(*) AS n FROM job_targets t JOIN jobs j ON j.id = t.job_id \
                 WHERE j.id = {job_id} AND t.customer_id > j.freeze_after"
            )
        ),
        0,
        "nothing frozen past where the freeze goes on"
    );

    // The server started in its place cannot confirm what is half frozen.
    let restarted = Server::start(
        &database.url_string(),
        &data,
        &[("JOB_BATCH_SIZE", "500"), ("JOB_LEASE_SECONDS", "6")],
    )
    .await;
    let refused = post(&restarted, &client, &format!("{job}/confirm"), &[]).await;
    assert_eq!(refused.status(), 303);
    assert_eq!(super::helpers::location(&refused), job, "back to the preview");
    let page = client
        .get(restarted.url(&job))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("still being frozen"), "{page}");
    assert!(still_freezing(&database, job_id), "the refusal changed nothing");
    assert_eq!(
        scalar(
            &database,
            "SELECT COUNT(*) AS n FROM jobs WHERE state <> 'preview'"
        ),
        0,
        "nothing queued"
    );
    assert_eq!(
        scalar(
            &database,
            "SELECT COUNT(*) AS n FROM audit_log WHERE action = 'job.started'"
        ),
        0
    );

    // Once the killed server's lease runs out, the new one takes the freeze over and
    // finishes it where the last batch ended: every match once, the bystander not.
    let status = wait_until_frozen(&restarted, &client, &job).await;
    assert_eq!(status["frozen_customers"], CUSTOMERS as i64, "{status}");
    assert_eq!(
        scalar(
            &database,
            &format!("SELECT COUNT(*) AS n FROM job_targets WHERE job_id = {job_id}")
        ),
        CUSTOMERS as i64
    );
    assert_eq!(
        scalar(
            &database,
            &format!(
                "SELECT COUNT(*) AS n FROM job_targets t JOIN customers c ON c.id = t.customer_id \
                 WHERE t.job_id = {job_id} AND c.external_id = 'bystander'"
            )
        ),
        0
    );
    assert_eq!(
        scalar(
            &database,
            &format!("SELECT COUNT(*) AS n FROM jobs WHERE id = {job_id} AND payload <> '{{}}'")
        ),
        0,
        "what it was asked for is forgotten once frozen"
    );

    // Now confirming runs exactly that set.
    let confirmed = post(&restarted, &client, &format!("{job}/confirm"), &[]).await;
    assert_eq!(confirmed.status(), 303);
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
    let result = result.expect("the job ran to its end");
    assert_eq!(result["state"], "done");
    assert_eq!(result["done"], CUSTOMERS as i64);
    assert_eq!(result["skipped_missing"], 0);
    assert_eq!(
        scalar(&database, "SELECT COUNT(*) AS n FROM customers"),
        1,
        "the bystander"
    );
    assert_eq!(
        scalar(
            &database,
            "SELECT COUNT(*) AS n FROM audit_log WHERE action = 'job.started'"
        ),
        1
    );
    assert_consistent(&database);
}
