//! The Track API v2 (`POST /api/v2/entity`, `POST /api/v2/batch`): every person action
//! Customer.io's clients send works as its v1 twin does; a batch answers 200 when all
//! of it was applied and 207 naming each refused operation otherwise; suppression is
//! checked per operation; hostile bodies are refused whole with nothing written; and
//! calls Erasure has no place for answer a clear 4xx.

use reqwest::{Method, Response, StatusCode};
use serde_json::{json, Value};

use crate::helpers::api::*;
use crate::helpers::arrange::NewPerson;
use crate::helpers::*;
use crate::on_both_backends;

on_both_backends!(
    every_person_action_works_through_the_entity_call,
    a_batch_is_applied_in_order_and_answers_200,
    a_suppressed_id_or_email_in_a_batch_is_refused_for_that_operation_alone,
    refusals_are_reported_per_operation_with_the_rest_applied,
    hostile_batches_are_refused_whole_with_nothing_written,
    an_operation_refused_by_its_bounds_leaves_nothing_behind,
    a_key_given_twice_is_refused_on_every_api_call,
    what_erasure_has_no_place_for_answers_a_clear_4xx,
    a_batch_erasure_is_audited_and_leaves_a_receipt_like_its_v1_twin,
);

fn person(action: &str, identifiers: Value) -> Value {
    json!({ "type": "person", "action": action, "identifiers": identifiers })
}

fn with(mut operation: Value, extra: Value) -> Value {
    for (key, value) in extra.as_object().unwrap() {
        operation[key] = value.clone();
    }
    operation
}

async fn answer(response: Response) -> (StatusCode, Value) {
    let status = response.status();
    let text = response.text().await.unwrap();
    let body = serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON ({status}): {text}"));
    (status, body)
}

async fn assert_ok(response: Response) {
    assert_eq!(answer(response).await, (StatusCode::OK, json!({})));
}

async fn assert_refused(response: Response, status: StatusCode, code: &str) -> String {
    let (actual, body) = answer(response).await;
    assert_eq!(actual, status, "{body}");
    assert_eq!(body["code"], code, "{body}");
    body["message"].as_str().expect("a message").to_owned()
}

/// The `errors` of a 207, as (batch index, reason, field).
async fn partial(response: Response) -> Vec<(u64, String, String)> {
    let (status, body) = answer(response).await;
    assert_eq!(status, StatusCode::MULTI_STATUS, "{body}");
    body["errors"]
        .as_array()
        .expect("an errors array")
        .iter()
        .map(|e| {
            assert!(e["message"].as_str().is_some_and(|m| !m.is_empty()), "{e}");
            (
                e["batch_index"].as_u64().unwrap(),
                e["reason"].as_str().unwrap().to_owned(),
                e["field"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

async fn v2_app(backend: Backend) -> (TestApp, Credentials) {
    let (app, auth) = api_app(backend).await;
    app.sql("UPDATE workspaces SET identifier_mode = 'id_or_email'");
    (app, auth)
}

fn attributes_of(app: &TestApp, external_id: &str) -> Value {
    let stored = app.texts(&format!(
        "SELECT attributes AS t FROM customers WHERE external_id = '{external_id}'"
    ));
    serde_json::from_str(stored.first().expect("the customer")).unwrap()
}

async fn every_person_action_works_through_the_entity_call(backend: Backend) {
    let (app, auth) = v2_app(backend).await;
    let identify = with(
        person("identify", json!({ "id": 42 })),
        json!({ "attributes": { "email": "Ada@Example.com", "plan": { "tier": "pro", "seats": [1, 2] } } }),
    );
    assert_ok(call_v2(&app, &auth, "/entity", &identify).await).await;
    assert_eq!(
        app.count("customers WHERE external_id = '42' AND email = 'ada@example.com'"),
        1
    );
    assert_eq!(
        attributes_of(&app, "42")["plan"],
        json!({ "tier": "pro", "seats": [1, 2] })
    );

    for (action, name) in [
        ("event", "purchase"),
        ("page", "https://shop.example/pricing"),
        ("screen", "Settings"),
    ] {
        let operation = with(
            person(action, json!({ "email": "ada@example.com" })),
            json!({ "name": name, "timestamp": 1_700_000_000, "attributes": { "n": 1 } }),
        );
        assert_ok(call_v2(&app, &auth, "/entity", &operation).await).await;
    }
    assert_eq!(app.count("events"), 3, "an event, a page and a screen");

    let device = with(
        person("add_device", json!({ "id": "42" })),
        json!({ "device": { "token": "tok-v2", "platform": "android", "last_used": 1_700_000_000 } }),
    );
    assert_ok(call_v2(&app, &auth, "/entity", &device).await).await;
    assert_eq!(app.count("devices WHERE token = 'tok-v2'"), 1);
    let gone = with(
        person("delete_device", json!({ "id": "42" })),
        json!({ "device": { "token": "tok-v2" } }),
    );
    assert_ok(call_v2(&app, &auth, "/entity", &gone).await).await;
    assert_eq!(app.count("devices"), 0);

    let secondary = NewPerson::new("dup-7")
        .email("dup@example.com")
        .event("old", json!({}))
        .insert(&app);
    let merge = json!({
        "type": "person", "action": "merge",
        "primary": { "id": "42" }, "secondary": { "email": "dup@example.com" },
    });
    assert_ok(call_v2(&app, &auth, "/entity", &merge).await).await;
    assert_eq!(
        app.count(&format!("customers WHERE id = {secondary}")),
        0,
        "the secondary is gone"
    );
    assert_eq!(app.count("events"), 4, "its event moved to the primary");
    assert_eq!(app.audited("customers.merged"), 1);

    assert_ok(call_v2(&app, &auth, "/entity", &person("suppress", json!({ "id": "42" }))).await).await;
    assert_eq!(app.count("customers"), 0, "suppressing deletes the customer");
    assert_eq!(app.count("events"), 0);
    let again = with(
        person("identify", json!({ "id": "42" })),
        json!({ "attributes": {} }),
    );
    assert_refused(
        call_v2(&app, &auth, "/entity", &again).await,
        StatusCode::FORBIDDEN,
        "suppressed",
    )
    .await;
    assert_ok(
        call_v2(
            &app,
            &auth,
            "/entity",
            &person("unsuppress", json!({ "id": "42" })),
        )
        .await,
    )
    .await;
    assert_ok(call_v2(&app, &auth, "/entity", &again).await).await;
    assert_eq!(
        app.count("customers WHERE external_id = '42'"),
        1,
        "free again: a new customer"
    );

    assert_ok(call_v2(&app, &auth, "/entity", &person("delete", json!({ "id": "42" }))).await).await;
    assert_eq!(app.count("customers"), 0);
    // Deleting someone who is not there is done already.
    assert_ok(call_v2(&app, &auth, "/entity", &person("delete", json!({ "id": "42" }))).await).await;
}

async fn a_batch_is_applied_in_order_and_answers_200(backend: Backend) {
    let (app, auth) = v2_app(backend).await;
    let batch = json!({ "batch": [
        with(person("identify", json!({ "id": "a" })), json!({ "attributes": { "email": "a@example.com", "plan": "free" } })),
        with(person("identify", json!({ "id": "b" })), json!({ "attributes": { "plan": "free" } })),
        with(person("event", json!({ "id": "a" })), json!({ "name": "signup" })),
        with(person("add_device", json!({ "id": "a" })), json!({ "device": { "token": "tok-a", "platform": "ios" } })),
        // The same person again, later in the batch: applied after the first, as two calls would be.
        with(person("identify", json!({ "id": "a" })), json!({ "attributes": { "plan": "pro" } })),
        with(person("identify", json!({ "id": "a" })), json!({ "attributes": { "seats": 3 } })),
        { "type": "person", "action": "merge", "primary": { "id": "a" }, "secondary": { "id": "b" } },
        with(person("identify", json!({ "id": "c" })), json!({ "attributes": {} })),
        person("delete", json!({ "id": "c" })),
        with(person("identify", json!({ "id": "c" })), json!({ "attributes": { "back": true } })),
    ]});
    assert_ok(call_v2(&app, &auth, "/batch", &batch).await).await;
    let a = attributes_of(&app, "a");
    assert_eq!(
        (a["plan"].clone(), a["seats"].clone()),
        (json!("pro"), json!(3)),
        "{a}"
    );
    assert_eq!(
        app.count("customers WHERE external_id = 'b'"),
        0,
        "b was merged into a"
    );
    assert_eq!(app.count("events"), 1);
    assert_eq!(app.count("devices"), 1);
    assert_eq!(
        attributes_of(&app, "c"),
        json!({ "back": true }),
        "c was deleted, then identified anew"
    );
    assert_eq!(app.count("customers"), 2);

    // A batch of only identifies, many of them new, some repeated.
    let many: Vec<Value> = (0..300)
        .map(|n| {
            with(
                person("identify", json!({ "id": format!("p{}", n % 250) })),
                json!({ "attributes": { "n": n } }),
            )
        })
        .collect();
    assert_ok(call_v2(&app, &auth, "/batch", &json!({ "batch": many })).await).await;
    assert_eq!(app.count("customers WHERE external_id LIKE 'p%'"), 250);
    assert_eq!(
        attributes_of(&app, "p10")["n"],
        json!(260),
        "the later write wins"
    );
    assert_eq!(attributes_of(&app, "p249")["n"], json!(249));

    // The same customers again, all existing now: updated in one statement, each with
    // its own columns, the attributes merged and what was not sent kept.
    let again: Vec<Value> = (0..250)
        .map(|n| {
            let mut attributes = json!({ "m": n, "created_at": 1_700_000_000 + n });
            if n % 2 == 0 {
                attributes["email"] = json!(format!("p{n}@example.com"));
                attributes["name"] = json!(format!("Person {n}"));
            }
            with(
                person("identify", json!({ "id": format!("p{n}") })),
                json!({ "attributes": attributes }),
            )
        })
        .collect();
    assert_ok(call_v2(&app, &auth, "/batch", &json!({ "batch": again })).await).await;
    assert_eq!(app.count("customers WHERE external_id LIKE 'p%'"), 250);
    assert_eq!(
        attributes_of(&app, "p10"),
        json!({ "n": 260, "m": 10 }),
        "merged, not replaced"
    );
    assert_eq!(
        app.count("customers WHERE email = 'p10@example.com' AND name = 'Person 10'"),
        1
    );
    assert_eq!(
        app.count("customers WHERE external_id LIKE 'p%' AND email IS NOT NULL"),
        125,
        "only the even ones were given an address"
    );
    assert_eq!(
        app.count("customers WHERE external_id = 'p11' AND email IS NULL AND name IS NULL"),
        1
    );
    let created = app.count(&format!(
        "customers WHERE external_id = 'p11' AND created_at = '{}'",
        "2023-11-14 22:13:31"
    ));
    assert_eq!(
        created, 1,
        "created_at set from the attribute, stored as every other timestamp"
    );
}

async fn a_suppressed_id_or_email_in_a_batch_is_refused_for_that_operation_alone(backend: Backend) {
    let (app, auth) = v2_app(backend).await;
    NewPerson::new("banned-id")
        .email("banned@example.com")
        .insert(&app);
    let suppressed = call(&app, &auth, Method::POST, "/customers/banned-id/suppress", None).await;
    assert_eq!(suppressed.status(), StatusCode::OK);
    assert_eq!(app.count("customers"), 0);

    let batch = json!({ "batch": [
        with(person("identify", json!({ "id": "fine-1" })), json!({ "attributes": { "plan": "pro" } })),
        with(person("identify", json!({ "id": "banned-id" })), json!({ "attributes": { "plan": "pro" } })),
        with(person("identify", json!({ "id": "fine-2" })), json!({ "attributes": { "email": "Banned@Example.com" } })),
        with(person("identify", json!({ "email": "banned@example.com" })), json!({ "attributes": {} })),
        with(person("event", json!({ "id": "banned-id" })), json!({ "name": "comeback" })),
        with(person("add_device", json!({ "email": "banned@example.com" })), json!({ "device": { "token": "t", "platform": "ios" } })),
        { "type": "person", "action": "merge", "primary": { "id": "fine-1" }, "secondary": { "id": "banned-id" } },
        with(person("identify", json!({ "id": "fine-3" })), json!({ "attributes": {} })),
    ]});
    let refused = partial(call_v2(&app, &auth, "/batch", &batch).await).await;
    let indexes: Vec<u64> = refused.iter().map(|(i, _, _)| *i).collect();
    assert_eq!(indexes, [1, 2, 3, 4, 5, 6], "{refused:?}");
    for (index, reason, _) in &refused {
        assert_eq!(reason, "suppressed", "operation {index}");
    }
    let kept = app.texts("SELECT external_id AS t FROM customers ORDER BY external_id");
    assert_eq!(kept, ["fine-1", "fine-3"]);
    assert_eq!(
        app.count("events") + app.count("devices"),
        0,
        "nothing of the suppressed person"
    );
}

async fn refusals_are_reported_per_operation_with_the_rest_applied(backend: Backend) {
    let (app, auth) = v2_app(backend).await;
    NewPerson::new("held").insert(&app);
    app.sql("UPDATE customers SET legal_hold_reason = 'litigation' WHERE external_id = 'held'");
    let batch = json!({ "batch": [
        with(person("identify", json!({ "id": "ok-1" })), json!({ "attributes": {} })),
        { "type": "person", "action": "identify", "identifiers": { "id": "x", "email": "x@example.com" } },
        with(person("identify", json!({ "id": "ok-2" })), json!({ "attributes": "not an object" })),
        with(person("event", json!({ "id": "ok-1" })), json!({ "timestamp": 1_700_000_000 })),
        person("delete", json!({ "id": "held" })),
        { "type": "person", "action": "merge", "primary": { "id": "ok-1" }, "secondary": { "id": "nobody" } },
        person("fly", json!({ "id": "ok-1" })),
        "not an operation",
        with(person("add_device", json!({ "id": "ok-1" })), json!({ "device": { "token": "t1", "platform": "windows" } })),
        with(person("identify", json!({ "id": "ok-3" })), json!({ "attributes": {} })),
    ]});
    let refused = partial(call_v2(&app, &auth, "/batch", &batch).await).await;
    let expected = [
        (1, "invalid_identifier", "identifiers"),
        (2, "invalid_body", "attributes"),
        (3, "invalid_event_name", "name"),
        (4, "legal_hold", "identifiers"),
        (5, "not_found", "identifiers"),
        (6, "not_supported", "action"),
        (7, "invalid_operation", ""),
        (8, "invalid_device", "device"),
    ];
    let got: Vec<(u64, &str, &str)> = refused
        .iter()
        .map(|(i, r, f)| (*i, r.as_str(), f.as_str()))
        .collect();
    assert_eq!(got, expected);
    let kept = app.texts("SELECT external_id AS t FROM customers ORDER BY external_id");
    assert_eq!(kept, ["held", "ok-1", "ok-3"]);
    assert_eq!(app.count("events") + app.count("devices"), 0);
}

async fn hostile_batches_are_refused_whole_with_nothing_written(backend: Backend) {
    let (app, auth) = v2_app(backend).await;
    let identify = |n: usize| {
        with(
            person("identify", json!({ "id": format!("h{n}") })),
            json!({ "attributes": {} }),
        )
    };

    // Ten thousand real operations are over 500 KB; ten thousand small ones fit, and are
    // over the 1,000 allowed. Either way the whole batch is refused.
    let compact = |n: usize| json!({ "type": "person", "action": "identify", "identifiers": { "id": n } });
    let many: Vec<Value> = (0..10_000).map(compact).collect();
    let response = call_v2(&app, &auth, "/batch", &json!({ "batch": many })).await;
    assert_refused(response, StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large").await;
    let tiny: Vec<Value> = (0..10_000).map(|_| json!({ "type": "person" })).collect();
    let message = assert_refused(
        call_v2(&app, &auth, "/batch", &json!({ "batch": tiny })).await,
        StatusCode::BAD_REQUEST,
        "too_many_operations",
    )
    .await;
    assert!(
        message.contains("1,000") && message.contains("10,000"),
        "{message}"
    );
    let over: Vec<Value> = (0..1_001).map(identify).collect();
    assert_refused(
        call_v2(&app, &auth, "/batch", &json!({ "batch": over })).await,
        StatusCode::BAD_REQUEST,
        "too_many_operations",
    )
    .await;

    // Over 500 KB.
    let big: Vec<Value> = (0..900)
        .map(|n| with(identify(n), json!({ "attributes": { "bio": "x".repeat(600) } })))
        .collect();
    let response = call_v2(&app, &auth, "/batch", &json!({ "batch": big })).await;
    assert_refused(response, StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large").await;

    // Nesting deeper than any parser should follow.
    let deep = format!(
        r#"{{"batch": [{{"type": "person", "action": "identify", "identifiers": {{"id": "d"}}, "attributes": {{"a": {}1{}}}}}]}}"#,
        "[".repeat(5_000),
        "]".repeat(5_000)
    );
    let response = call_raw(&app, &auth, "/api/v2/batch", deep.into_bytes()).await;
    assert_refused(response, StatusCode::BAD_REQUEST, "invalid_body").await;

    // Not a batch at all.
    for body in [
        json!([identify(1)]),
        json!({ "batch": identify(1) }),
        json!({ "batch": [] }),
    ] {
        let (status, answer) = answer(call_v2(&app, &auth, "/batch", &body).await).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}: {answer}");
    }
    let truncated =
        br#"{"batch": [{"type": "person", "action": "identify", "identifiers": {"id": "t"}}"#.to_vec();
    assert_refused(
        call_raw(&app, &auth, "/api/v2/batch", truncated).await,
        StatusCode::BAD_REQUEST,
        "invalid_body",
    )
    .await;
    let plain = app
        .client
        .post(app.url("/api/v2/batch"))
        .basic_auth(&auth.site_id, Some(&auth.key))
        .header("content-type", "text/plain")
        .body(r#"{"batch": []}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(plain.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);

    assert_eq!(app.count("customers"), 0, "nothing was written by any of them");
}

async fn an_operation_refused_by_its_bounds_leaves_nothing_behind(backend: Backend) {
    let (app, auth) = v2_app(backend).await;
    let mut nine_deep = json!("bottom");
    for _ in 0..9 {
        nine_deep = json!({ "level": nine_deep });
    }
    let huge_array: Vec<u64> = (0..40_000).collect();
    let batch = json!({ "batch": [
        with(person("identify", json!({ "id": "deep" })), json!({ "attributes": { "tree": nine_deep } })),
        with(person("identify", json!({ "id": "wide" })), json!({ "attributes": { "list": huge_array } })),
        with(person("event", json!({ "id": "deep" })), json!({ "name": "e", "attributes": { "tree": nine_deep } })),
        with(person("identify", json!({ "id": "fine" })), json!({ "attributes": { "ok": true } })),
    ]});
    let refused = partial(call_v2(&app, &auth, "/batch", &batch).await).await;
    let indexes: Vec<u64> = refused.iter().map(|(i, _, _)| *i).collect();
    assert_eq!(indexes, [0, 1, 2], "{refused:?}");
    assert_eq!(app.texts("SELECT external_id AS t FROM customers"), ["fine"]);
    assert_eq!(app.count("events"), 0);

    let entity = with(
        person("identify", json!({ "id": "deep" })),
        json!({ "attributes": { "tree": nine_deep } }),
    );
    let (status, body) = answer(call_v2(&app, &auth, "/entity", &entity).await).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(app.count("customers"), 1);
}

async fn a_key_given_twice_is_refused_on_every_api_call(backend: Backend) {
    let (app, auth) = v2_app(backend).await;
    NewPerson::new("banned").insert(&app);
    let suppressed = call(&app, &auth, Method::POST, "/customers/banned/suppress", None).await;
    assert_eq!(suppressed.status(), StatusCode::OK);
    // A reader keeping the first "id" would see someone allowed; one keeping the last, the
    // suppressed one. Neither reading is taken.
    let smuggled = [
        (
            "/api/v2/entity",
            r#"{"type":"person","action":"identify","identifiers":{"id":"ok","id":"banned"}}"#,
        ),
        (
            "/api/v2/batch",
            r#"{"batch":[{"type":"person","action":"identify","identifiers":{"id":"ok"},"identifiers":{"id":"banned"}}]}"#,
        ),
        (
            "/api/v1/merge_customers",
            r#"{"primary":{"id":"ok"},"secondary":{"id":"x"},"secondary":{"id":"banned"}}"#,
        ),
    ];
    for (path, body) in smuggled {
        let response = call_raw(&app, &auth, path, body.as_bytes().to_vec()).await;
        let message = assert_refused(response, StatusCode::BAD_REQUEST, "duplicate_key").await;
        assert!(message.contains("appears twice"), "{path}: {message}");
    }
    let put = app
        .client
        .put(app.url("/api/v1/customers/ok"))
        .basic_auth(&auth.site_id, Some(&auth.key))
        .header("content-type", "application/json")
        .body(r#"{"email":"ok@example.com","email":"banned@example.com"}"#)
        .send()
        .await
        .unwrap();
    assert_refused(put, StatusCode::BAD_REQUEST, "duplicate_key").await;
    assert_eq!(app.count("customers"), 0);
}

async fn what_erasure_has_no_place_for_answers_a_clear_4xx(backend: Backend) {
    let (app, auth) = v2_app(backend).await;
    let object = json!({
        "type": "object", "action": "identify",
        "identifiers": { "object_type_id": "1", "object_id": "acme" }, "attributes": { "name": "Acme" },
    });
    assert_refused(
        call_v2(&app, &auth, "/entity", &object).await,
        StatusCode::BAD_REQUEST,
        "not_supported",
    )
    .await;
    let delivery =
        json!({ "type": "delivery", "action": "event", "identifiers": { "id": "d1" }, "name": "opened" });
    let relationships = with(
        person("identify", json!({ "id": "r" })),
        json!({ "cio_relationships": [{ "identifiers": { "object_type_id": "1", "object_id": "acme" } }] }),
    );
    let batch = json!({ "batch": [object, delivery, relationships, person("add_relationships", json!({ "id": "r" }))] });
    let refused = partial(call_v2(&app, &auth, "/batch", &batch).await).await;
    assert!(
        refused.iter().all(|(_, reason, _)| reason == "not_supported"),
        "{refused:?}"
    );
    assert_eq!(refused.len(), 4);

    let calls = [
        (
            Method::POST,
            "/api/v1/segments/7/add_customers",
            Some(json!({ "ids": ["a"] })),
        ),
        (
            Method::POST,
            "/api/v1/segments/7/remove_customers",
            Some(json!({ "ids": ["a"] })),
        ),
        (
            Method::POST,
            "/api/v1/forms/signup/submit",
            Some(json!({ "data": { "email": "a@example.com" } })),
        ),
        (
            Method::POST,
            "/api/v1/push/events",
            Some(json!({ "delivery_id": "d", "event": "opened" })),
        ),
        (
            Method::POST,
            "/api/v1/metrics",
            Some(json!({ "delivery_id": "d", "metric": "opened" })),
        ),
        (Method::GET, "/api/v1/accounts/region", None),
        // Customer.io's App API and legacy push metrics, reached by a client pointed here.
        (
            Method::POST,
            "/v1/send/email",
            Some(json!({ "transactional_message_id": 1, "to": "a@example.com" })),
        ),
        (
            Method::POST,
            "/push/events",
            Some(json!({ "delivery_id": "d", "event": "opened" })),
        ),
    ];
    for (method, path, body) in calls {
        let mut request = app
            .client
            .request(method, app.url(path))
            .basic_auth(&auth.site_id, Some(&auth.key));
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap();
        let message = assert_refused(response, StatusCode::NOT_FOUND, "not_supported").await;
        assert!(message.contains("Erasure"), "{path}: {message}");
    }
    assert_eq!(app.count("customers"), 0);
    // No credentials: the Track API's challenge, never a form-token refusal page.
    let anonymous = app
        .client
        .post(app.url("/api/v2/batch"))
        .json(&json!({ "batch": [] }))
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
}

async fn a_batch_erasure_is_audited_and_leaves_a_receipt_like_its_v1_twin(backend: Backend) {
    let (app, auth) = v2_app(backend).await;
    NewPerson::new("gone-1").event("e", json!({})).insert(&app);
    NewPerson::new("gone-2").insert(&app);
    let batch = json!({ "batch": [
        person("delete", json!({ "id": "gone-1" })),
        person("suppress", json!({ "id": "gone-2" })),
    ]});
    assert_ok(call_v2(&app, &auth, "/batch", &batch).await).await;
    assert_eq!(app.count("customers") + app.count("events"), 0);
    assert_eq!(app.audited("customer.deleted"), 2, "one per customer erased");
    assert_eq!(
        app.count("jobs WHERE receipt_id IS NOT NULL"),
        2,
        "each with its receipt"
    );
    assert_eq!(app.count("suppressions"), 1);
    // The API key is the actor, as for v1 calls.
    let actors =
        app.texts("SELECT DISTINCT actor_kind AS t FROM audit_log WHERE action = 'customer.deleted'");
    assert_eq!(actors, ["api_key"]);
}
