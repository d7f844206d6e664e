//! Every erasure reaches the destinations that hold copies: signed Standard Webhooks
//! deliveries, received by a real HTTP receiver on loopback that checks each signature
//! with the published algorithm. Every erasure path is walked; retries, 410 Gone, a
//! destination failing for the whole window, rotation, identifiers, bad URLs.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::arrange::NewPerson;
use crate::helpers::destinations::{add_destination, outbox_settles, shown_secret};
use crate::helpers::erasure_paths::{erase, plant, restore_and_replay, wait_for_job, ErasurePath, WS};
use crate::helpers::webhook_receiver::{verify, ReceivedRequest, WebhookReceiver};
use crate::helpers::*;
use crate::on_both_backends;

on_both_backends!(
    deleting_one_from_the_profile_tells_the_destination,
    archiving_from_the_profile_tells_the_destination,
    deleting_selected_tells_the_destination,
    deleting_filtered_tells_the_destination,
    archiving_filtered_tells_the_destination,
    deleting_all_tells_the_destination_and_that_it_finished,
    deleting_through_the_api_tells_the_destination,
    suppressing_through_the_api_tells_the_destination,
    deleting_in_an_api_batch_tells_the_destination,
    suppressing_through_the_v2_entity_call_tells_the_destination,
    suppressing_on_the_suppression_page_tells_the_destination,
    replaying_the_journal_tells_the_destination_again,
    unsuppressing_through_the_api_tells_the_destination,
    identifiers_go_only_where_ticked_and_leave_the_outbox_once_delivered,
    a_bulk_job_lists_a_thousand_customers_per_event,
    a_failing_receiver_gets_the_event_after_retries_and_acknowledges_it_once,
    a_receiver_answering_gone_pauses_the_destination_until_it_is_resumed,
    a_destination_failing_for_the_whole_window_is_paused_and_the_owner_told,
    after_a_rotation_deliveries_are_signed_with_both_secrets,
    bad_destination_urls_are_refused_with_a_clear_error,
    a_redirect_to_another_host_is_not_followed,
    the_destination_page_lists_deliveries_and_resends_one_with_the_same_id,
    only_a_manager_of_settings_reaches_destinations_and_changes_are_audited,
);

const WAIT: Duration = Duration::from_secs(20);

/// Every request arrived so far, each checked against the secret, as JSON bodies.
fn verified_bodies(receiver: &WebhookReceiver, secret: &str) -> Vec<Value> {
    receiver
        .requests()
        .iter()
        .map(|request| {
            verify(secret, request).unwrap_or_else(|err| panic!("a delivery fails verification: {err}"));
            request.json()
        })
        .collect()
}

/// The internal ids an event names.
fn ids_in(body: &Value) -> Vec<i64> {
    let data = &body["data"];
    let mut ids: Vec<i64> = data["customers"]
        .as_array()
        .map(|list| list.iter().filter_map(|c| c["id"].as_i64()).collect())
        .unwrap_or_default();
    if let Some(id) = data["customer"]["id"].as_i64() {
        ids.push(id);
    }
    ids
}

/// Waits until a request whose body satisfies `wanted` arrived.
async fn wait_for_event(receiver: &WebhookReceiver, wanted: impl Fn(&Value) -> bool) -> Value {
    let deadline = std::time::Instant::now() + WAIT;
    loop {
        if let Some(found) = receiver
            .requests()
            .iter()
            .map(ReceivedRequest::json)
            .find(|b| wanted(b))
        {
            return found;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no such event arrived; got {:?}",
            receiver
                .requests()
                .iter()
                .map(ReceivedRequest::json)
                .collect::<Vec<_>>()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Erases the planted customer through `path`; the destination hears of it, signed,
/// with its internal id and receipt, and no body holds any of their values.
async fn told_through(backend: Backend, path: ErasurePath) {
    let app = spawn_app(backend).await;
    app.setup_owner().await;
    let receiver = WebhookReceiver::start().await;
    let (_, secret) = add_destination(&app, &receiver.url("/erasures"), &[]).await;
    let token = format!("zt{}x{:?}", std::process::id() % 1000, path).to_lowercase();
    let id = plant(&app, &token);

    erase(&app, path, id, &token).await;
    if path == ErasurePath::Replay {
        wait_for_event(&receiver, |b| ids_in(b).contains(&id)).await;
        restore_and_replay(&app, id, &token);
        wait_for_event(&receiver, |b| {
            b["data"]["replay"] == true && ids_in(b).contains(&id)
        })
        .await;
    }

    let kind = if path.archives() { "archived" } else { "deleted" };
    let told = wait_for_event(&receiver, |b| {
        b["type"].as_str().is_some_and(|t| t.ends_with(kind)) && ids_in(b).contains(&id)
    })
    .await;
    assert_eq!(told["data"]["workspace"], "acme-shop");
    let receipt = told["data"]["receipt"].as_str().expect("a receipt").to_owned();
    assert!(told["timestamp"].as_str().is_some_and(|t| t.ends_with('Z')));
    if path.suppresses() {
        let suppressed = told["data"]["customers"]
            .as_array()
            .and_then(|list| list.iter().find(|c| c["id"] == id).cloned())
            .unwrap_or_else(|| told["data"]["customer"].clone());
        assert!(
            suppressed["suppression_digests"]
                .as_array()
                .is_some_and(|d| !d.is_empty()),
            "the digests suppressed with the deletion are told: {told}"
        );
    }
    if matches!(
        path,
        ErasurePath::ApiSuppress | ErasurePath::ApiEntitySuppress | ErasurePath::SuppressionPage
    ) {
        wait_for_event(&receiver, |b| b["type"] == "identifiers.suppressed").await;
    }
    if path == ErasurePath::All {
        let finished = wait_for_event(&receiver, |b| b["type"] == "delete_all.finished").await;
        assert_eq!(
            finished["data"]["deleted"], 4,
            "the customer and three bystanders"
        );
    }
    outbox_settles(&app).await;

    let bodies = verified_bodies(&receiver, &secret);
    for request in receiver.requests() {
        let body = request.body_text().to_lowercase();
        assert!(!body.contains(&token), "a delivery names the customer: {body}");
        assert!(!body.contains("+44 7700"), "a delivery holds the phone: {body}");
    }
    let mut ids: Vec<String> = receiver
        .requests()
        .iter()
        .map(|r| r.header("webhook-id").unwrap_or_default().to_owned())
        .collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), bodies.len(), "each event arrived once");

    let page = app.get_html(&format!("{WS}/receipts/{receipt}")).await;
    assert!(page.contains("Destinations told"), "{page}");
    assert!(page.contains("data-destination=\"Warehouse\""), "{page}");
    assert!(page.contains(">Delivered<"), "the receipt says it was delivered");
    let json: Value = app
        .get(&format!("{WS}/receipts/{receipt}.json"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(json["destinations"][0]["state"], "delivered");
}

async fn deleting_one_from_the_profile_tells_the_destination(backend: Backend) {
    told_through(backend, ErasurePath::ProfileDelete).await
}
async fn archiving_from_the_profile_tells_the_destination(backend: Backend) {
    told_through(backend, ErasurePath::ProfileArchive).await
}
async fn deleting_selected_tells_the_destination(backend: Backend) {
    told_through(backend, ErasurePath::Selected).await
}
async fn deleting_filtered_tells_the_destination(backend: Backend) {
    told_through(backend, ErasurePath::Filtered).await
}
async fn archiving_filtered_tells_the_destination(backend: Backend) {
    told_through(backend, ErasurePath::FilteredArchive).await
}
async fn deleting_all_tells_the_destination_and_that_it_finished(backend: Backend) {
    told_through(backend, ErasurePath::All).await
}
async fn deleting_through_the_api_tells_the_destination(backend: Backend) {
    told_through(backend, ErasurePath::ApiDelete).await
}
async fn suppressing_through_the_api_tells_the_destination(backend: Backend) {
    told_through(backend, ErasurePath::ApiSuppress).await
}
async fn deleting_in_an_api_batch_tells_the_destination(backend: Backend) {
    told_through(backend, ErasurePath::ApiBatchDelete).await
}
async fn suppressing_through_the_v2_entity_call_tells_the_destination(backend: Backend) {
    told_through(backend, ErasurePath::ApiEntitySuppress).await
}
async fn suppressing_on_the_suppression_page_tells_the_destination(backend: Backend) {
    told_through(backend, ErasurePath::SuppressionPage).await
}
async fn replaying_the_journal_tells_the_destination_again(backend: Backend) {
    told_through(backend, ErasurePath::Replay).await
}

async fn unsuppressing_through_the_api_tells_the_destination(backend: Backend) {
    let app = spawn_app(backend).await;
    app.setup_owner().await;
    let receiver = WebhookReceiver::start().await;
    let (_, secret) = add_destination(&app, &receiver.url("/"), &[]).await;
    let (_, key) = crate::helpers::api::issue_key(&app, "Backend");
    let suppress = crate::helpers::api::call(
        &app,
        &key,
        reqwest::Method::POST,
        "/customers/gone-1/suppress",
        None,
    )
    .await;
    assert_eq!(suppress.status(), StatusCode::OK);
    let suppressed = wait_for_event(&receiver, |b| b["type"] == "identifiers.suppressed").await;
    let freed = crate::helpers::api::call(
        &app,
        &key,
        reqwest::Method::POST,
        "/customers/gone-1/unsuppress",
        None,
    )
    .await;
    assert_eq!(freed.status(), StatusCode::OK);
    let unsuppressed = wait_for_event(&receiver, |b| b["type"] == "identifiers.unsuppressed").await;
    assert_eq!(
        suppressed["data"]["identifiers"], unsuppressed["data"]["identifiers"],
        "the same digests, freed"
    );
    assert_eq!(unsuppressed["data"]["identifiers"][0]["kind"], "id");
    for request in receiver.requests() {
        assert!(!request.body_text().contains("gone-1"), "no identifier in plain");
    }
    verified_bodies(&receiver, &secret);
}

async fn identifiers_go_only_where_ticked_and_leave_the_outbox_once_delivered(backend: Backend) {
    let app = spawn_app(backend).await;
    app.setup_owner().await;
    app.sql("UPDATE workspaces SET identifier_mode = 'id_or_email'");
    let plain = WebhookReceiver::start().await;
    let holder = WebhookReceiver::start().await;
    let processor = WebhookReceiver::start().await;
    add_destination(&app, &plain.url("/"), &[]).await;
    add_destination(&app, &holder.url("/"), &[("holds_external_id", "on")]).await;
    add_destination(&app, &processor.url("/"), &[("include_identifiers", "on")]).await;
    let id = NewPerson::new("ext-77")
        .email("ida@example.com")
        .name("Ida Lovelace")
        .phone("+44 7700 900777")
        .insert(&app);

    let deleted = app.post_form(&format!("{WS}/customers/{id}/delete"), &[]).await;
    assert_eq!(deleted.status(), StatusCode::SEE_OTHER);

    let plain_told = wait_for_event(&plain, |b| ids_in(b) == [id]).await;
    let holder_told = wait_for_event(&holder, |b| ids_in(b) == [id]).await;
    let processor_told = wait_for_event(&processor, |b| ids_in(b) == [id]).await;
    assert_eq!(plain_told["data"]["customer"], json!({ "id": id }));
    assert_eq!(
        holder_told["data"]["customer"],
        json!({ "id": id, "external_id": "ext-77" })
    );
    assert_eq!(
        processor_told["data"]["customer"],
        json!({ "id": id, "external_id": "ext-77", "email": "ida@example.com", "phone": "+44 7700 900777", "name": "Ida Lovelace" })
    );
    let ids: Vec<String> = [&plain, &holder, &processor]
        .iter()
        .map(|r| r.requests()[0].header("webhook-id").unwrap().to_owned())
        .collect();
    assert!(
        ids[0] != ids[1] && ids[1] != ids[2],
        "each destination's copy has its own id"
    );
    outbox_settles(&app).await;
    assert_eq!(
        app.count("outbox WHERE body IS NOT NULL AND carries_identifiers = TRUE"),
        0,
        "what named the person left the outbox once delivered"
    );
    assert_eq!(
        app.count("outbox WHERE body IS NOT NULL"),
        1,
        "the plain copy stays, for a resend"
    );
    let audit =
        app.texts("SELECT details AS t FROM audit_log WHERE action = 'destination.created' ORDER BY id");
    assert!(audit[2].contains("\"include_identifiers\":true"), "{audit:?}");
}

async fn a_bulk_job_lists_a_thousand_customers_per_event(backend: Backend) {
    let app = spawn_app(backend).await;
    app.setup_owner().await;
    app.sql("UPDATE workspaces SET owner_code_threshold = 1000000");
    let receiver = WebhookReceiver::start().await;
    let (_, secret) = add_destination(&app, &receiver.url("/"), &[]).await;
    app.sql(
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 2500) \
         INSERT INTO customers (workspace_id, external_id, country, attributes, created_at, last_seen_at) \
         SELECT 1, 'bulk-' || i, 'NL', '{}', '2026-01-01 00:00:00', '2026-11-01 00:00:00' FROM n",
    );
    NewPerson::new("bystander").country("DE").insert(&app);
    let previewed = app
        .post_form(
            &format!("{WS}/customers/bulk"),
            &[("intent", "delete_filtered"), ("country", "NL")],
        )
        .await;
    let job = location(&previewed);
    app.wait_until_frozen(&job).await;
    let confirmed = app.post_form(&format!("{job}/confirm"), &[]).await;
    assert_eq!(confirmed.status(), StatusCode::SEE_OTHER);
    wait_for_job(&app, &job).await;
    outbox_settles(&app).await;

    let bodies = verified_bodies(&receiver, &secret);
    assert!(bodies.iter().all(|b| b["type"] == "customers.deleted"));
    let mut told: Vec<i64> = bodies.iter().flat_map(ids_in).collect();
    assert!(
        bodies.iter().all(|b| ids_in(b).len() <= 1000),
        "at most a thousand an event"
    );
    assert!(
        bodies.len() <= 6,
        "a request per thousand or per batch, not per customer: {}",
        bodies.len()
    );
    told.sort_unstable();
    told.dedup();
    assert_eq!(told.len(), 2500, "every deleted customer is told, once");
}

async fn a_failing_receiver_gets_the_event_after_retries_and_acknowledges_it_once(backend: Backend) {
    let app = spawn_app_with(
        backend,
        Box::new(|s| s.delivery.retry_first = Duration::from_millis(100)),
    )
    .await;
    app.setup_owner().await;
    let receiver = WebhookReceiver::start().await;
    receiver.answer_sequence(vec![500, 503, 500]);
    let (destination, secret) = add_destination(&app, &receiver.url("/"), &[]).await;
    let id = NewPerson::new("retry-1").insert(&app);
    let deleted = app.post_form(&format!("{WS}/customers/{id}/delete"), &[]).await;
    assert_eq!(deleted.status(), StatusCode::SEE_OTHER);

    let requests = receiver.wait_for(4, WAIT).await;
    outbox_settles(&app).await;
    let ids: Vec<&str> = requests.iter().map(|r| r.header("webhook-id").unwrap()).collect();
    assert!(
        ids.iter().all(|i| *i == ids[0]),
        "every attempt carries the same webhook-id"
    );
    for request in &requests {
        verify(&secret, request).expect("every attempt is signed");
    }
    assert!(
        requests[3].arrived - requests[0].arrived >= Duration::from_millis(200),
        "retries wait longer each time"
    );
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(receiver.requests().len(), 4, "nothing is sent once acknowledged");
    assert_eq!(app.number("SELECT attempts AS v FROM outbox"), 4);
    assert_eq!(
        app.count("outbox WHERE state = 'delivered' AND last_status = 200"),
        1
    );
    assert_eq!(
        app.count(&format!(
            "destinations WHERE id = {destination} AND failing_since IS NULL"
        )),
        1,
        "a success ends the failing"
    );
}

async fn a_receiver_answering_gone_pauses_the_destination_until_it_is_resumed(backend: Backend) {
    let app = spawn_app(backend).await;
    app.setup_owner().await;
    let receiver = WebhookReceiver::start().await;
    receiver.answer_with(410);
    let (destination, _) = add_destination(&app, &receiver.url("/"), &[]).await;
    let first = NewPerson::new("gone-1").insert(&app);
    let second = NewPerson::new("gone-2").insert(&app);
    for id in [first, second] {
        app.post_form(&format!("{WS}/customers/{id}/delete"), &[]).await;
    }
    let mail = app.mail.wait_for(|m| m.subject().contains("was paused")).await;
    assert!(mail.body().contains("410 Gone"), "{}", mail.body());
    assert_eq!(mail.recipients, vec!["owner@example.com".to_owned()]);
    let page = app
        .get_html(&format!("{WS}/settings/destinations/{destination}"))
        .await;
    assert!(
        page.contains("Disabled: the receiver answered 410 Gone"),
        "{page}"
    );
    tokio::time::sleep(Duration::from_millis(800)).await;
    let asked = receiver.requests().len();
    assert_eq!(asked, 1, "nothing more is sent after a 410");
    assert_eq!(app.count("outbox WHERE state = 'pending'"), 2, "the events wait");

    receiver.answer_with(200);
    let resumed = app
        .post_form(&format!("{WS}/settings/destinations/{destination}/resume"), &[])
        .await;
    assert_eq!(resumed.status(), StatusCode::SEE_OTHER);
    outbox_settles(&app).await;
    assert_eq!(app.count("outbox WHERE state = 'delivered'"), 2);
    assert_eq!(app.audited("destination.paused"), 1);
    assert_eq!(app.audited("destination.resumed"), 1);
}

async fn a_destination_failing_for_the_whole_window_is_paused_and_the_owner_told(backend: Backend) {
    let app = spawn_app_with(
        backend,
        Box::new(|s| {
            s.delivery.retry_first = Duration::from_millis(100);
            s.delivery.retry_max = Duration::from_millis(300);
            s.delivery.retry_window = chrono::Duration::seconds(2);
        }),
    )
    .await;
    app.setup_owner().await;
    let receiver = WebhookReceiver::start().await;
    receiver.answer_with(500);
    let (destination, _) = add_destination(&app, &receiver.url("/"), &[]).await;
    let id = NewPerson::new("down-1").insert(&app);
    app.post_form(&format!("{WS}/customers/{id}/delete"), &[]).await;

    let mail = app.mail.wait_for(|m| m.subject().contains("was paused")).await;
    assert!(mail.body().contains("failed for 2 seconds"), "{}", mail.body());
    assert_eq!(
        app.count(&format!(
            "destinations WHERE id = {destination} AND paused_reason = 'failing'"
        )),
        1
    );
    assert_eq!(
        app.count("outbox WHERE state = 'failed' AND last_status = 500"),
        1,
        "given up after the window"
    );
    assert!(receiver.requests().len() >= 3, "retried meanwhile");
    let page = app
        .get_html(&format!("{WS}/settings/destinations/{destination}"))
        .await;
    assert!(page.contains("every delivery failed"), "{page}");
    assert!(page.contains(">Failed<"), "{page}");
}

async fn after_a_rotation_deliveries_are_signed_with_both_secrets(backend: Backend) {
    let app = spawn_app(backend).await;
    app.setup_owner().await;
    let receiver = WebhookReceiver::start().await;
    let (destination, old) = add_destination(&app, &receiver.url("/"), &[]).await;
    let rotated = app
        .post_form(&format!("{WS}/settings/destinations/{destination}/rotate"), &[])
        .await;
    assert_eq!(rotated.status(), StatusCode::OK);
    let html = rotated.text().await.unwrap();
    let new = shown_secret(&html);
    assert_ne!(new, old);
    assert!(html.contains("the previous secret signs too until"), "{html}");

    let id = NewPerson::new("rotated-1").insert(&app);
    app.post_form(&format!("{WS}/customers/{id}/delete"), &[]).await;
    let request = receiver.wait_for(1, WAIT).await.remove(0);
    verify(&old, &request).expect("the old secret still verifies");
    verify(&new, &request).expect("the new one does too");
    assert_eq!(request.header("webhook-signature").unwrap().split(' ').count(), 2);

    // A day later, only the new one signs.
    app.sql("UPDATE destinations SET previous_secret_until = '2000-01-01 00:00:00'");
    let later = NewPerson::new("rotated-2").insert(&app);
    app.post_form(&format!("{WS}/customers/{later}/delete"), &[])
        .await;
    let request = receiver.wait_for(2, WAIT).await.remove(1);
    verify(&new, &request).expect("the new secret verifies");
    assert!(verify(&old, &request).is_err(), "the old one no longer does");
    assert_eq!(app.audited("destination.secret_rotated"), 1);
}

async fn bad_destination_urls_are_refused_with_a_clear_error(backend: Backend) {
    let app = spawn_app(backend).await;
    app.setup_owner().await;
    for (url, says) in [
        ("http://crm.example.com/hook", "https://"),
        ("https://10.1.2.3/hook", "private network"),
        ("https://192.168.0.10/hook", "private network"),
        ("http://169.254.169.254/latest/meta-data", "metadata"),
        ("https://[fe80::1]/hook", ""),
        ("https://user:pass@crm.example.com/hook", ""),
        ("ftp://crm.example.com/", ""),
        ("not a url", ""),
    ] {
        let response = app
            .post_form(
                &format!("{WS}/settings/destinations"),
                &[("name", "Bad"), ("url", url), ("events", "customer.deleted")],
            )
            .await;
        assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY, "{url}");
        let html = response.text().await.unwrap();
        assert!(
            html.contains("id=\"url-error\""),
            "{url}: the error is at the field"
        );
        assert!(html.contains(says), "{url}: {says:?} in the message");
        assert!(
            html.contains(&format!("value=\"{}\"", url.replace('&', "&amp;"))) || url.contains('&'),
            "{url}: kept"
        );
    }
    let none = app
        .post_form(
            &format!("{WS}/settings/destinations"),
            &[("name", "No events"), ("url", "https://crm.example.com/")],
        )
        .await;
    assert_eq!(none.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(none.text().await.unwrap().contains("Choose at least one event"));
    assert_eq!(app.count("destinations"), 0, "nothing was added");
}

async fn a_redirect_to_another_host_is_not_followed(backend: Backend) {
    let app = spawn_app(backend).await;
    app.setup_owner().await;
    let elsewhere = WebhookReceiver::start().await;
    let redirecting = WebhookReceiver::start().await;
    redirecting.redirect_to(&elsewhere.url("/stolen").replace("127.0.0.1", "localhost"));
    let (destination, _) = add_destination(&app, &redirecting.url("/"), &[]).await;
    let tested = app
        .post_form(&format!("{WS}/settings/destinations/{destination}/test"), &[])
        .await;
    let html = tested.text().await.unwrap();
    assert!(html.contains("Nothing was delivered"), "{html}");
    assert!(html.contains("another host"), "{html}");
    let id = NewPerson::new("redirected-1").insert(&app);
    app.post_form(&format!("{WS}/customers/{id}/delete"), &[]).await;
    redirecting.wait_for(2, WAIT).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(elsewhere.requests().is_empty(), "the other host heard nothing");
    let error = app.texts("SELECT last_error AS t FROM outbox");
    assert!(error[0].contains("another host"), "{error:?}");
}

async fn the_destination_page_lists_deliveries_and_resends_one_with_the_same_id(backend: Backend) {
    let app = spawn_app(backend).await;
    app.setup_owner().await;
    let receiver = WebhookReceiver::start().await;
    let (destination, secret) = add_destination(&app, &receiver.url("/"), &[]).await;
    let id = NewPerson::new("listed-1").insert(&app);
    app.post_form(&format!("{WS}/customers/{id}/delete"), &[]).await;
    let first = receiver.wait_for(1, WAIT).await.remove(0);
    outbox_settles(&app).await;
    let page = app
        .get_html(&format!("{WS}/settings/destinations/{destination}"))
        .await;
    let message_id = first.header("webhook-id").unwrap();
    assert!(
        page.contains(&format!("data-delivery=\"{message_id}\"")),
        "{page}"
    );
    assert!(page.contains(">Delivered<"), "{page}");
    assert!(page.contains("<td>200</td>"), "the status code is listed");
    assert!(!page.contains(&first.body_text()), "no body is shown");

    let event = app.number("SELECT id AS v FROM outbox");
    let resent = app
        .post_form(
            &format!("{WS}/settings/destinations/{destination}/deliveries/{event}/resend"),
            &[],
        )
        .await;
    assert_eq!(resent.status(), StatusCode::SEE_OTHER);
    let again = receiver.wait_for(2, WAIT).await.remove(1);
    assert_eq!(
        again.header("webhook-id"),
        Some(message_id),
        "the receiver can deduplicate it"
    );
    assert_eq!(again.body, first.body);
    verify(&secret, &again).unwrap();
    assert_eq!(app.audited("delivery.resent"), 1);
}

async fn only_a_manager_of_settings_reaches_destinations_and_changes_are_audited(backend: Backend) {
    let app = spawn_app(backend).await;
    app.setup_owner().await;
    let receiver = WebhookReceiver::start().await;
    let (destination, _) = add_destination(&app, &receiver.url("/hooks?token=s3cret"), &[]).await;
    let edited = app
        .post_form(
            &format!("{WS}/settings/destinations/{destination}"),
            &[
                ("name", "Warehouse EU"),
                ("url", &receiver.url("/hooks?token=s3cret")),
                ("events", "customer.deleted"),
                ("include_identifiers", "on"),
            ],
        )
        .await;
    assert_eq!(edited.status(), StatusCode::SEE_OTHER);
    let paused = app
        .post_form(&format!("{WS}/settings/destinations/{destination}/pause"), &[])
        .await;
    assert_eq!(paused.status(), StatusCode::SEE_OTHER);
    let removed = app
        .post_form(&format!("{WS}/settings/destinations/{destination}/remove"), &[])
        .await;
    assert_eq!(removed.status(), StatusCode::SEE_OTHER);
    assert!(!app
        .get_html(&format!("{WS}/settings/destinations"))
        .await
        .contains("Warehouse EU"));
    let details =
        app.texts("SELECT details AS t FROM audit_log WHERE action LIKE 'destination.%' ORDER BY id");
    assert_eq!(details.len(), 4, "{details:?}");
    assert!(
        details[1].contains("now included"),
        "ticking identifiers is recorded: {details:?}"
    );
    for detail in &details {
        assert!(!detail.contains("s3cret"), "the URL's query stays out of the log");
    }
    let id = NewPerson::new("after-removal").insert(&app);
    app.post_form(&format!("{WS}/customers/{id}/delete"), &[]).await;
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert!(
        receiver.requests().is_empty(),
        "a removed destination hears nothing"
    );
}
