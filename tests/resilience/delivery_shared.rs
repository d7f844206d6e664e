//! Two servers share one database and one outbox: each event is delivered by one of
//! them, once, whichever server wrote it.

use std::collections::BTreeMap;
use std::time::Duration;

use super::helpers::webhook_receiver::WebhookReceiver;
use super::helpers::{new_client, Backend};
use super::server::Server;
use super::{post, scalar, seeded, sign_in, WORKSPACE};

crate::on_both_backends!(two_servers_sharing_the_outbox_deliver_each_event_once);

const DELETED: i64 = 40;

async fn two_servers_sharing_the_outbox_deliver_each_event_once(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let database = seeded(&backend, dir.path(), DELETED as usize + 2, 1, 11);
    let data = dir.path().join("data");
    let first = Server::start(&database.url_string(), &data, &[]).await;
    let second = Server::start(&database.url_string(), &data, &[]).await;
    let client = new_client();
    sign_in(&first, &client).await;

    let receiver = WebhookReceiver::start().await;
    let added = post(
        &first,
        &client,
        &format!("/w/{WORKSPACE}/settings/destinations"),
        &[
            ("name", "Warehouse"),
            ("url", &receiver.url("/")),
            ("events", "customer.deleted"),
        ],
    )
    .await;
    assert_eq!(added.status(), 200);

    // Deletions through both servers, one customer each, so both write events and both
    // deliverers find them due.
    for id in 1..=DELETED {
        let server = if id % 2 == 0 { &first } else { &second };
        let deleted = post(
            server,
            &client,
            &format!("/w/{WORKSPACE}/customers/{id}/delete"),
            &[],
        )
        .await;
        assert_eq!(deleted.status(), 303, "customer {id}");
    }
    for _ in 0..300 {
        if scalar(
            &database,
            "SELECT COUNT(*) AS n FROM outbox WHERE state = 'delivered'",
        ) == DELETED
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(
        scalar(
            &database,
            "SELECT COUNT(*) AS n FROM outbox WHERE state = 'delivered'"
        ),
        DELETED,
        "every event delivered"
    );
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    for request in receiver.requests() {
        *seen
            .entry(request.header("webhook-id").unwrap().to_owned())
            .or_default() += 1;
    }
    assert_eq!(seen.len() as i64, DELETED, "one webhook-id per deletion");
    assert!(
        seen.values().all(|&times| times == 1),
        "no event was sent twice: {seen:?}"
    );
    assert_eq!(
        scalar(&database, "SELECT COUNT(*) AS n FROM outbox WHERE attempts <> 1"),
        0,
        "each delivered at its first attempt, by one server"
    );
}
