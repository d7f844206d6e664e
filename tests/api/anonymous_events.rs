//! Anonymous events (`POST /api/v1/events`): kept under a keyed digest of the device's
//! anonymous id, claimed by the identify that carries it, purged when never claimed.

use reqwest::{Method, Response, StatusCode};
use serde_json::{json, Value};

use crate::helpers::api::*;
use crate::helpers::*;
use crate::on_both_backends;

on_both_backends!(
    an_anonymous_event_is_kept_under_a_digest_until_an_identify_claims_it,
    an_event_without_customer_or_anonymous_id_is_refused_and_bounded_like_any,
    only_the_workspace_and_device_of_the_identify_are_claimed,
    unclaimed_anonymous_events_are_purged_after_30_days,
);

async fn send(app: &TestApp, auth: &Credentials, body: Value) -> Response {
    call(app, auth, Method::POST, "/events", Some(body)).await
}

async fn answer(response: Response) -> (StatusCode, Value) {
    let status = response.status();
    let text = response.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

fn number(app: &TestApp, sql: &str) -> i64 {
    use diesel::sql_types::BigInt;
    use diesel::RunQueryDsl;
    #[derive(diesel::QueryableByName)]
    struct One {
        #[diesel(sql_type = BigInt)]
        v: i64,
    }
    let mut conn = app.db();
    diesel::sql_query(format!("SELECT CAST(v AS BIGINT) AS v FROM ({sql}) AS q"))
        .get_result::<One>(&mut **conn)
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
        .v
}

fn text(app: &TestApp, sql: &str) -> String {
    use diesel::sql_types::Text;
    use diesel::RunQueryDsl;
    #[derive(diesel::QueryableByName)]
    struct One {
        #[diesel(sql_type = Text)]
        t: String,
    }
    let mut conn = app.db();
    diesel::sql_query(sql)
        .get_result::<One>(&mut **conn)
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
        .t
}

async fn an_anonymous_event_is_kept_under_a_digest_until_an_identify_claims_it(backend: Backend) {
    let (app, auth) = api_app(backend).await;
    let later = chrono::Utc::now().timestamp() + 3_600;
    let sent = send(
        &app,
        &auth,
        json!({ "name": "viewed", "anonymous_id": "zq-device-77", "data": { "page": "/pricing" }, "timestamp": later }),
    )
    .await;
    assert_eq!(answer(sent).await, (StatusCode::OK, json!({})));
    assert_eq!(app.count("anonymous_events"), 1);
    assert_eq!(app.count("customers"), 0, "nobody is created");
    let stored = text(&app, "SELECT anonymous_digest AS t FROM anonymous_events");
    assert!(!stored.contains("zq-device-77"), "only a digest is kept");
    assert_eq!(stored.len(), 64);

    let identified = call(
        &app,
        &auth,
        Method::PUT,
        "/customers/ada",
        Some(json!({ "anonymous_id": "zq-device-77", "plan": "pro" })),
    )
    .await;

    assert_eq!(answer(identified).await, (StatusCode::OK, json!({})));
    assert_eq!(app.count("anonymous_events"), 0, "claimed");
    let id = number(&app, "SELECT id AS v FROM customers WHERE external_id = 'ada'");
    assert_eq!(
        app.count(&format!(
            "events WHERE customer_id = {id} AND name = 'viewed' AND properties = '{{\"page\":\"/pricing\"}}'"
        )),
        1,
        "the event is the customer's now, as sent"
    );
    assert_eq!(
        text(&app, "SELECT attributes AS t FROM customers"),
        r#"{"plan":"pro"}"#,
        "the anonymous id is not kept as an attribute"
    );
    assert_eq!(
        app.count(&format!(
            "customers WHERE id = {id} AND last_seen_at >= (SELECT MAX(occurred_at) FROM events)"
        )),
        1,
        "last seen moves forward to the claimed event"
    );
    // Claimed once: a second identify with the same id finds nothing more.
    let again = call(
        &app,
        &auth,
        Method::PUT,
        "/customers/ada",
        Some(json!({ "anonymous_id": "zq-device-77" })),
    )
    .await;
    assert_eq!(again.status(), StatusCode::OK);
    assert_eq!(app.count("events"), 1);
}

async fn an_event_without_customer_or_anonymous_id_is_refused_and_bounded_like_any(backend: Backend) {
    let (app, auth) = api_app(backend).await;
    let cases = [
        (json!({ "name": "viewed" }), "missing_anonymous_id"),
        (
            json!({ "name": "viewed", "anonymous_id": "" }),
            "missing_anonymous_id",
        ),
        (
            json!({ "name": "viewed", "anonymous_id": "x".repeat(151) }),
            "invalid_anonymous_id",
        ),
        (
            json!({ "name": "viewed", "anonymous_id": { "a": 1 } }),
            "invalid_anonymous_id",
        ),
        (json!({ "anonymous_id": "d" }), "invalid_event_name"),
        (
            json!({ "name": "a", "anonymous_id": "d", "data": { "blob": "x".repeat(65 * 1024) } }),
            "invalid_event_data",
        ),
        (
            json!({ "name": "a", "anonymous_id": "d", "timestamp": 5 }),
            "invalid_timestamp",
        ),
        (json!(["a"]), "invalid_body"),
    ];
    for (body, code) in cases {
        let (status, answer) = answer(send(&app, &auth, body.clone()).await).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
        assert_eq!(answer["code"], code, "{body}: {answer}");
        assert!(answer["message"].as_str().is_some_and(|m| !m.is_empty()));
    }
    let (status, answer) = answer(
        call(
            &app,
            &auth,
            Method::PUT,
            "/customers/ada",
            Some(json!({ "anonymous_id": ["x"] })),
        )
        .await,
    )
    .await;
    assert_eq!(
        (status, answer["code"].clone()),
        (StatusCode::BAD_REQUEST, json!("invalid_anonymous_id"))
    );
    assert_eq!(app.count("anonymous_events"), 0);
    assert_eq!(app.count("customers"), 0);
}

async fn only_the_workspace_and_device_of_the_identify_are_claimed(backend: Backend) {
    let (app, auth) = api_app(backend).await;
    for device in ["phone-1", "phone-1", "tablet-2"] {
        let sent = send(&app, &auth, json!({ "name": "opened", "anonymous_id": device })).await;
        assert_eq!(sent.status(), StatusCode::OK);
    }
    // Another workspace's event under the same device id stays where it is.
    app.sql(
        "INSERT INTO workspaces (name, slug, site_id, identifier_mode, pii_keys, created_at) \
         VALUES ('Other', 'other', 'other-site', 'id', '[]', '2026-01-01 00:00:00')",
    );
    app.sql(
        "INSERT INTO anonymous_events (workspace_id, anonymous_digest, name, properties, occurred_at, received_at) \
         SELECT w.id, a.anonymous_digest, 'foreign', '{}', a.occurred_at, a.received_at \
         FROM anonymous_events a, workspaces w WHERE w.slug = 'other' AND a.id = (SELECT MIN(id) FROM anonymous_events)",
    );

    let identified = call(
        &app,
        &auth,
        Method::PUT,
        "/customers/bob",
        Some(json!({ "anonymous_id": "phone-1" })),
    )
    .await;

    assert_eq!(identified.status(), StatusCode::OK);
    assert_eq!(app.count("events WHERE name = 'opened'"), 2);
    assert_eq!(
        app.count("anonymous_events"),
        2,
        "the tablet's and the other workspace's"
    );
    assert_eq!(app.count("anonymous_events WHERE name = 'foreign'"), 1);
}

async fn unclaimed_anonymous_events_are_purged_after_30_days(backend: Backend) {
    let (app, auth) = api_app(backend).await;
    for device in ["old-device", "new-device"] {
        let sent = send(&app, &auth, json!({ "name": "opened", "anonymous_id": device })).await;
        assert_eq!(sent.status(), StatusCode::OK);
    }
    let oldest = number(&app, "SELECT MIN(id) AS v FROM anonymous_events");
    let cutoff = erasure::store::now() - chrono::Duration::days(30);
    let just_older = (cutoff - chrono::Duration::minutes(1)).format("%Y-%m-%d %H:%M:%S");
    let just_younger = (cutoff + chrono::Duration::minutes(5)).format("%Y-%m-%d %H:%M:%S");
    app.sql(&format!(
        "UPDATE anonymous_events SET received_at = '{just_older}' WHERE id = {oldest}"
    ));
    app.sql(&format!(
        "UPDATE anonymous_events SET received_at = '{just_younger}' WHERE id <> {oldest}"
    ));

    let purged = {
        let mut conn = app.db();
        erasure::erasure::anonymous::purge_unclaimed_anonymous_events(&mut conn).unwrap()
    };

    assert_eq!(purged, 1);
    assert_eq!(app.count(&format!("anonymous_events WHERE id = {oldest}")), 0);
    // The one left is still claimed by its device.
    let identified = call(
        &app,
        &auth,
        Method::PUT,
        "/customers/carol",
        Some(json!({ "anonymous_id": "new-device" })),
    )
    .await;
    assert_eq!(identified.status(), StatusCode::OK);
    assert_eq!(app.count("anonymous_events"), 0);
    assert_eq!(app.count("events"), 1);
    let identified_old = call(
        &app,
        &auth,
        Method::PUT,
        "/customers/dave",
        Some(json!({ "anonymous_id": "old-device" })),
    )
    .await;
    assert_eq!(identified_old.status(), StatusCode::OK);
    assert_eq!(app.count("events"), 1, "a purged event is claimed by nobody");
}
