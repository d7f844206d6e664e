//! An erasure commits, its server is killed with SIGKILL while the event is on its way
//! to the destination: the server started in its place delivers it, signed, with the
//! same `webhook-id`.

use std::time::Duration;

use super::helpers::destinations::shown_secret;
use super::helpers::webhook_receiver::{verify, WebhookReceiver};
use super::helpers::{new_client, Backend};
use super::server::Server;
use super::{post, scalar, seeded, sign_in, WORKSPACE};

crate::on_both_backends!(an_event_whose_server_was_killed_mid_delivery_is_delivered_after_the_restart);

async fn an_event_whose_server_was_killed_mid_delivery_is_delivered_after_the_restart(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let database = seeded(&backend, dir.path(), 5, 1, 7);
    let data = dir.path().join("data");
    let env = [("JOB_LEASE_SECONDS", "2"), ("DELIVERY_TIMEOUT_SECONDS", "2")];
    let mut server = Server::start(&database.url_string(), &data, &env).await;
    let client = new_client();
    sign_in(&server, &client).await;

    let receiver = WebhookReceiver::start().await;
    receiver.hang_until_released();
    let added = post(
        &server,
        &client,
        &format!("/w/{WORKSPACE}/settings/destinations"),
        &[
            ("name", "Warehouse"),
            ("url", &receiver.url("/")),
            ("events", "customer.deleted"),
        ],
    )
    .await;
    let secret = shown_secret(&added.text().await.unwrap());

    let deleted = post(
        &server,
        &client,
        &format!("/w/{WORKSPACE}/customers/1/delete"),
        &[],
    )
    .await;
    assert_eq!(deleted.status(), 303);
    // The first attempt reaches the receiver, which holds it unanswered: the erasure
    // committed, the delivery is in flight. Then the server dies.
    let first = receiver.wait_for(1, Duration::from_secs(20)).await.remove(0);
    server.kill();
    assert_eq!(
        scalar(&database, "SELECT COUNT(*) AS n FROM customers WHERE id = 1"),
        0
    );
    assert_eq!(
        scalar(
            &database,
            "SELECT COUNT(*) AS n FROM outbox WHERE state = 'pending'"
        ),
        1,
        "the event waits in the outbox"
    );

    receiver.release();
    receiver.answer_with(200);
    let _restarted = Server::start(&database.url_string(), &data, &env).await;
    let mut delivered = false;
    for _ in 0..300 {
        if scalar(
            &database,
            "SELECT COUNT(*) AS n FROM outbox WHERE state = 'delivered'",
        ) == 1
        {
            delivered = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(delivered, "the restarted server delivered the event");
    let requests = receiver.requests();
    let last = requests.last().unwrap();
    assert_eq!(
        last.header("webhook-id"),
        first.header("webhook-id"),
        "the same event"
    );
    verify(&secret, last).expect("signed");
    assert_eq!(last.json()["data"]["customer"]["id"], 1);
}
